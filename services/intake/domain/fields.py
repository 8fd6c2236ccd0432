"""Walking a validated event's fields by their path ("data.people_affected", "tags[2]"). Pure."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel

#: (path, value) for each value of an event that is neither a dict nor a list.
Fields = list[tuple[str, Any]]


def leaves(value: Any, path: str = "") -> Fields:
    """Every value that is neither a dict nor a list, with its path, in document order. Intake
    walks each event once and hands the list to every check that reads fields. A pydantic model
    is read as its fields (what ``model_dump()`` would give, without building the dicts)."""
    out: Fields = []
    _walk(value, path, out)
    return out


def _walk(value: Any, path: str, out: Fields) -> None:
    if isinstance(value, BaseModel):
        value = value.__dict__
    if isinstance(value, dict):
        for k, v in value.items():
            here = f"{path}.{k}" if path else str(k)
            if isinstance(v, (dict, list, tuple, BaseModel)):
                _walk(v, here, out)
            else:
                out.append((here, v))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            here = f"{path}[{i}]"
            if isinstance(v, (dict, list, tuple, BaseModel)):
                _walk(v, here, out)
            else:
                out.append((here, v))
    else:
        out.append((path, value))
