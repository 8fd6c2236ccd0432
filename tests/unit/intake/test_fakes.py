"""The in-memory adapters of tests/unit/intake/fakes.py keep the real ones' shape where the use
case calls them, so tests/unit/intake/test_service.py cannot pass against an adapter IntakeService
no longer calls the way it is written: each method the service calls on its ledger, publisher and
registry is on the fake, with the same parameter names, kinds and defaults as the adapter's."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from services.common.organisations import Registry
from services.intake import service
from services.intake.adapters.producer import Publisher
from services.intake.adapters.store import Ledger

from .fakes import FakeLedger, FakePublisher, FakeRegistry

PAIRS = [("ledger", Ledger, FakeLedger), ("publisher", Publisher, FakePublisher), ("registry", Registry, FakeRegistry)]


def shape(fn) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def called(attr: str) -> set[str]:
    """The methods the service calls on ``self.<attr>``."""
    tree = ast.parse(Path(inspect.getfile(service)).read_text(encoding="utf-8"))
    return {
        n.func.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and isinstance(n.func.value, ast.Attribute)
        and n.func.value.attr == attr
        and isinstance(n.func.value.value, ast.Name)
        and n.func.value.value.id == "self"
    }


@pytest.mark.parametrize(("attr", "real", "fake"), PAIRS, ids=[p[0] for p in PAIRS])
def test_what_the_service_calls_is_on_the_fake_as_the_adapter_writes_it(attr, real, fake):
    names = called(attr)
    assert names, attr
    for name in names:
        assert hasattr(real, name), f"{real.__name__} has no {name}"
        assert hasattr(fake, name), f"{fake.__name__} has no {name}"
        assert shape(getattr(fake, name)) == shape(getattr(real, name)), name
        assert inspect.iscoroutinefunction(getattr(fake, name)), name
