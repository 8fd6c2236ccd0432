"""The ledger's arithmetic, with plain values (no broker, no database)."""

from __future__ import annotations

import json
from collections import Counter

from tests.faults.ledger import books, rollup_differences

IDS = [f"e{i}" for i in range(10)]
CELL_A, CELL_B = ("ELON", "2026-11-20"), ("KENT", "2026-11-21")


def balanced(**changes):
    """Ten events sent, eight acknowledged (e0..e7) in two cells, two refused, all found once."""
    kwargs = dict(
        sent=IDS,
        acknowledged=IDS[:8],
        rejected=IDS[8:],
        gave_up=(),
        in_reporting=IDS[:8],
        in_alerts=IDS[:8],
        rollup_expected={CELL_A: 5, CELL_B: 3},
        rollup_before={"rollup_area_daily": {CELL_A: 100}},
        rollup_after={"rollup_area_daily": {CELL_A: 105, CELL_B: 3}},
        window_expected=IDS[:2],
        window_seen=Counter({"e0": 1, "e1": 1}),
    )
    kwargs.update(changes)
    return books("test", **kwargs)


def test_balanced_books_show_nothing_missing_or_doubled():
    ledger = balanced()
    assert (ledger.sent, ledger.acknowledged, ledger.rejected, ledger.unacknowledged) == (10, 8, 2, 0)
    assert (ledger.found_downstream, ledger.missing, ledger.duplicated, ledger.unexpected) == (8, 0, 0, 0)


def test_an_event_missing_from_reporting_or_alerts_is_missing_once():
    ledger = balanced(
        in_reporting=IDS[:7], in_alerts=IDS[1:8], rollup_after={"rollup_area_daily": {CELL_A: 104, CELL_B: 3}}
    )
    # e7 is not in reporting (and short in the rollups), e0 is not in the alerts ledger.
    assert (ledger.found_downstream, ledger.missing, ledger.duplicated) == (6, 2, 0)


def test_a_rollup_counted_twice_is_duplicated_even_when_every_id_is_present():
    ledger = balanced(
        rollup_after={"rollup_area_daily": {CELL_A: 106, CELL_B: 3}, "rollup_detail_daily": {CELL_A: 5, CELL_B: 3}}
    )
    assert (ledger.missing, ledger.duplicated) == (0, 1)
    assert ledger.details["rollups"]["rollup_area_daily"] == {"shortfall": 0, "excess": 1}


def test_a_rollup_short_of_its_events_is_missing_though_the_rows_exist():
    assert balanced(rollup_after={"rollup_area_daily": {CELL_A: 105, CELL_B: 2}}).missing == 1


def test_alert_windows_must_hold_each_finding_once():
    assert balanced(window_seen=Counter({"e0": 2, "e1": 1})).duplicated == 1
    assert balanced(window_seen=Counter({"e0": 1})).missing == 1
    assert balanced(alert_evidence=(0, 3)).duplicated == 3


def test_a_refused_event_found_downstream_is_unexpected():
    ledger = balanced(seen_refused=["e9"])
    assert ledger.unexpected == 1 and ledger.details["unexpected_examples"] == ["e9"]


def test_events_given_up_on_are_unacknowledged_not_missing():
    ledger = balanced(
        acknowledged=IDS[:7],
        gave_up=["e7"],
        in_reporting=IDS[:7],
        in_alerts=IDS[:7],
        rollup_expected={CELL_A: 5, CELL_B: 2},
        rollup_after={"rollup_area_daily": {CELL_A: 105, CELL_B: 2}},
    )
    assert (ledger.unacknowledged, ledger.missing) == (1, 0)


def test_notifications_and_lost_alert_states_count():
    assert balanced(notifications_extra=2).duplicated == 2
    assert balanced(notifications_missing=1, stale_alerts=1).missing == 2


def test_rollup_differences_compare_growth_with_expectation():
    assert rollup_differences({CELL_A: 2}, {CELL_A: 10}, {CELL_A: 12}) == (0, 0)
    assert rollup_differences({CELL_A: 2}, {}, {CELL_A: 1, CELL_B: 1}) == (1, 1)


def test_the_ledger_prints_and_writes_itself(tmp_path):
    ledger = balanced()
    table = ledger.table()
    for column in ("sent", "acknowledged", "rejected", "found downstream", "missing", "duplicated"):
        assert column in table
    written = json.loads(ledger.write(tmp_path).read_text())
    assert written["scenario"] == "test" and written["missing"] == 0 and written["acknowledged"] == 8
