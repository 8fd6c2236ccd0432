"""The in-memory reporting store (tests/unit/reporting/fakes.py) keeps ReportingStore's shape, so
a test cannot pass against a store the worker and the reports no longer call the way it is
written: each method of the fake is the store's, with the same parameter names, kinds and
defaults, and every store method the worker and the views the unit tests cover call is on it."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from services.reporting import views, worker
from services.reporting.adapters.store import ReportingStore

from .fakes import FakeReportingStore

#: The views tests/unit/reporting/test_store_worker.py reads through the fake.
COVERED_VIEWS = {"summary", "overview", "heatmap", "unmet_needs", "alerts"}


def shape(fn) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def public(cls: type) -> set[str]:
    return {n for n, v in vars(cls).items() if not n.startswith("_") and inspect.isfunction(v)}


def store_calls(module, functions: set[str] | None, name: str) -> set[str]:
    """The attributes taken of the variable ``name`` (the store) in ``module``, within
    ``functions`` (top-level functions by name) or anywhere."""
    tree = ast.parse(Path(inspect.getfile(module)).read_text(encoding="utf-8"))
    scopes: list[ast.AST] = (
        [tree]
        if functions is None
        else [n for n in tree.body if isinstance(n, ast.AsyncFunctionDef | ast.FunctionDef) and n.name in functions]
    )
    return {
        n.attr
        for scope in scopes
        for n in ast.walk(scope)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == name
    }


def test_each_method_of_the_fake_is_the_stores_with_the_same_parameters():
    assert public(FakeReportingStore)
    for name in public(FakeReportingStore):
        real = getattr(ReportingStore, name, None)
        assert real is not None, f"ReportingStore has no {name}"
        fake = getattr(FakeReportingStore, name)
        assert shape(fake) == shape(real), name
        assert inspect.iscoroutinefunction(fake) and inspect.iscoroutinefunction(real), name


def test_what_the_worker_and_the_covered_views_call_is_on_the_fake():
    assert COVERED_VIEWS <= {n for n, v in vars(views).items() if inspect.iscoroutinefunction(v)}
    called = store_calls(views, COVERED_VIEWS, "s") | (store_calls(worker, None, "s") & public(ReportingStore))
    assert {"ingest_new", "upsert_alert", "area_totals", "data_as_of"} <= called
    assert called <= public(FakeReportingStore), called - public(FakeReportingStore)
