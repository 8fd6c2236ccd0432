"""Walking a validated event's fields by their path ("data.people_affected", "tags[2]"). Pure."""
from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel

#: (path, value) for each value of an event that is neither a dict nor a list.
Fields = list[tuple[str, Any]]

_VALUE, _MAPPING, _SEQUENCE = 0, 1, 2


def leaves(value: Any, path: str = "") -> Fields:
    """Every value that is neither a dict nor a list, with its path, in document order. Intake
    walks each event once and hands the list to every check that reads fields. A pydantic model
    is read as its fields (what ``model_dump()`` would give, without building the dicts)."""
    out: Fields = []
    _walk(value, path, out)
    return out


@functools.lru_cache(maxsize=256)      # the types an event's values come in: a few dozen
def _shape(kind: type) -> int:
    """How a value of this type is walked. By type, once: ``isinstance(v, BaseModel)`` goes
    through ABCMeta for every value that is not a model, which was a third of the walk's time."""
    if issubclass(kind, (BaseModel, dict)):
        return _MAPPING
    if issubclass(kind, (list, tuple)):
        return _SEQUENCE
    return _VALUE


@functools.lru_cache(maxsize=4096)     # events have a few dozen paths, lists aside
def _child(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _walk(value: Any, path: str, out: Fields) -> None:
    shape = _shape(type(value))
    if shape == _MAPPING:
        items = value.__dict__.items() if isinstance(value, BaseModel) else value.items()
        for k, v in items:
            if _shape(type(v)) == _VALUE:
                out.append((_child(path, k), v))
            else:
                _walk(v, _child(path, k), out)
    elif shape == _SEQUENCE:
        for i, v in enumerate(value):
            here = f"{path}[{i}]"
            if _shape(type(v)) == _VALUE:
                out.append((here, v))
            else:
                _walk(v, here, out)
    else:
        out.append((path, value))
