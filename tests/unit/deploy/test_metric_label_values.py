"""deploy/validate.py reads the label values the code sets the way the code naturally writes them
(literals, loops over literals, loops over a module's constants or enums), so no production code
is unrolled or spelled out for the checker."""

from __future__ import annotations

import ast
from pathlib import Path

from contracts.events import AlertRule, AlertStatus
from deploy import validate

REPO = Path(__file__).resolve().parents[3]


def test_label_values_set_in_loops_are_closed_sets() -> None:
    metrics = validate.code_metrics(REPO)
    assert metrics["csp_alerts"].values == {
        "rule": {r.value for r in AlertRule},
        "state": {s.value for s in AlertStatus},
    }
    # The deliverer counts a subscription's own channel (one the database allows): an open set.
    assert metrics["csp_alert_notifications_total"].values == {"outcome": {"delivered", "retried", "failed"}}
    assert "unavailable" in metrics["csp_intake_events_total"].values["outcome"]


def test_loop_variables_resolve_literals_module_constants_and_dict_values() -> None:
    tree = ast.parse(
        "for a in ('x', 'y'):\n    for b in STATES:\n        for c in KINDS.values():\n"
        "            M.labels(a, b.value, c, d)\n"
    )
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "labels")
    loops = validate._loop_variables(tree)[call]
    assert validate._literal_values(call.args[0], loops) == {"x", "y"}
    assert validate._literal_values(call.args[3], loops) is None  # not bound by a loop: open
    assert validate._literal_values(call.args[1], loops, "contracts.events") is None  # no such constant


def test_no_production_code_is_written_for_the_checker() -> None:
    said = [
        f"{py.relative_to(REPO)}:{n}"
        for py in (REPO / "services").rglob("*.py")
        for n, line in enumerate(py.read_text().splitlines(), 1)
        if "validate.py" in line
    ]
    assert not said, "production code shaped for deploy/validate.py: " + ", ".join(said)
