"""The in-memory stores of tests/unit/alerts/fakes.py keep the PostgreSQL adapters' shape, so a
use-case test cannot pass against a store the service no longer calls the way it is written:
every function the service calls (services/alerts/ports.py, which mypy holds the adapter modules
to) is on the fake, with the same parameter names, kinds and defaults as the adapter's."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from types import ModuleType

import pytest

from services.alerts import ports, service
from services.alerts.adapters import peer_reviews, recommendations, store

from .fakes import FakeAlertStore, FakePeerReviewStore, FakeRecommendationStore

PAIRS = [
    (ports.AlertStore, store, FakeAlertStore, "store"),
    (ports.RecommendationStore, recommendations, FakeRecommendationStore, "recommendations"),
    (ports.PeerReviewStore, peer_reviews, FakePeerReviewStore, "peer_reviews"),
]


def shape(fn) -> list[tuple[str, object, object]]:
    """Parameter names, kinds and defaults; annotations differ (a fake connection is not asyncpg's)."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values() if p.name != "self"]


def public(cls: type) -> set[str]:
    return {n for n, v in vars(cls).items() if not n.startswith("_") and inspect.isfunction(v)}


@pytest.mark.parametrize(("port", "real", "fake", "_"), PAIRS, ids=[p[3] for p in PAIRS])
def test_the_fake_has_each_function_of_the_port_as_the_adapter_writes_it(port, real: ModuleType, fake, _):
    assert public(port) <= public(fake), "the fake lacks what the service calls"
    for name in public(fake):
        adapter_fn, fake_fn = getattr(real, name, None), getattr(fake, name)
        assert adapter_fn is not None, f"{real.__name__} has no {name}"
        assert shape(fake_fn) == shape(adapter_fn), name
        assert inspect.iscoroutinefunction(fake_fn) and inspect.iscoroutinefunction(adapter_fn), name
    for name in public(port):
        assert shape(getattr(port, name)) == shape(getattr(real, name)), name


def test_the_service_calls_its_stores_only_through_the_ports():
    """``self.store.x`` in the service is a function of the port (mypy checks the types); a call
    straight to an adapter module would bypass the fake and reach for PostgreSQL."""
    tree = ast.parse(Path(inspect.getfile(service)).read_text(encoding="utf-8"))
    called: dict[str, set[str]] = {attr: set() for *_, attr in PAIRS}
    direct = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if (
                isinstance(owner, ast.Attribute)
                and isinstance(owner.value, ast.Name)
                and owner.value.id == "self"
                and owner.attr in called
            ):
                called[owner.attr].add(node.func.attr)
            elif isinstance(owner, ast.Name) and owner.id in called:
                direct.append(f"{owner.id}.{node.func.attr}")
    assert direct == []
    for port, _, _, attr in PAIRS:
        assert called[attr] and called[attr] <= public(port), attr


def test_the_shape_check_tells_a_renamed_parameter():
    async def lock_area(conn, areas):  # the adapter's second parameter is "area"
        return None

    assert shape(lock_area) != shape(store.lock_area)
