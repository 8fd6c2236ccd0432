"""The books of a fault scenario: what was sent, what intake acknowledged, what came out.

Pure: :func:`books` takes sets and counts read from the platform and returns a :class:`Ledger`;
reading them is :mod:`tests.faults.downstream`'s job.

* ``acknowledged``: events some attempt got a 2xx for (accepted, or a duplicate of an accepted one).
* ``rejected``: events refused with a 4xx (the load refuses a few on purpose).
* ``unacknowledged``: events the sender gave up on without a 2xx (a bounded retry budget ran out).
* ``found_downstream``: acknowledged events found in the reporting ledger and in the alerts
  worker's applied-event ledger.
* ``missing``: acknowledged events absent from either, plus any shortfall of the rollups beyond
  them, alert states the reporting read model never received, notifications never delivered.
* ``duplicated``: events counted more than once: the rollups' excess over the acknowledged events
  of each (area, day), events held twice in alert windows or counted twice in an unmet-need
  alert's evidence, notifications delivered twice.
* ``unexpected``: events that were never acknowledged but show up downstream as if accepted.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

Cell = tuple[str, str]  # (area, ISO day)


@dataclass
class Ledger:
    scenario: str
    sent: int
    acknowledged: int
    rejected: int
    unacknowledged: int
    found_downstream: int
    missing: int
    duplicated: int
    unexpected: int
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def table(self) -> str:
        head = (
            "sent",
            "acknowledged",
            "rejected",
            "unacknowledged",
            "found downstream",
            "missing",
            "duplicated",
            "unexpected",
        )
        values = (
            self.sent,
            self.acknowledged,
            self.rejected,
            self.unacknowledged,
            self.found_downstream,
            self.missing,
            self.duplicated,
            self.unexpected,
        )
        widths = [max(len(h), len(str(v))) for h, v in zip(head, values)]
        line = lambda cells: "  ".join(str(c).rjust(w) for c, w in zip(cells, widths))  # noqa: E731
        return f"ledger: {self.scenario}\n{line(head)}\n{line(values)}"

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.scenario}.json"
        path.write_text(json.dumps(self.as_dict(), indent=2, sort_keys=True, default=str) + "\n")
        return path


def rollup_differences(
    expected: Mapping[Cell, int], before: Mapping[Cell, int], after: Mapping[Cell, int]
) -> tuple[int, int]:
    """(shortfall, excess) of the rollups' growth in each cell against the events expected there."""
    shortfall = excess = 0
    for cell in set(expected) | set(after) | set(before):
        grown = after.get(cell, 0) - before.get(cell, 0)
        want = expected.get(cell, 0)
        shortfall += max(0, want - grown)
        excess += max(0, grown - want)
    return shortfall, excess


def books(
    scenario: str,
    *,
    sent: Iterable[str],
    acknowledged: Iterable[str],
    rejected: Iterable[str],
    gave_up: Iterable[str],
    in_reporting: Iterable[str],
    in_alerts: Iterable[str],
    rollup_expected: Mapping[Cell, int],
    rollup_before: Mapping[str, Mapping[Cell, int]],
    rollup_after: Mapping[str, Mapping[Cell, int]],
    window_expected: Iterable[str] = (),
    window_seen: Counter | None = None,
    alert_evidence: tuple[int, int] = (0, 0),
    stale_alerts: int = 0,
    seen_refused: Iterable[str] = (),
    notifications_extra: int = 0,
    notifications_missing: int = 0,
    details: dict[str, Any] | None = None,
) -> Ledger:
    """Compare what intake acknowledged with what reporting and alerts hold.

    ``rollup_before``/``rollup_after``: per rollup table, events per (area, day) before and after
    the load. ``window_expected``: acknowledged events the alert windows must hold once each;
    ``window_seen``: how many times each event id is held in the alert windows.
    ``alert_evidence``: (shortfall, excess) of the findings the unmet-need alerts count against
    the acknowledged findings of their area and community.
    ``stale_alerts``: alert states the reporting read model never received (a lost alerts.v1 record).
    ``seen_refused``: never-acknowledged event ids found anywhere downstream.
    ``notifications_*``: notifications never delivered, and deliveries beyond the first.
    """
    sent, acked = set(sent), set(acknowledged)
    refused, gave_up = set(rejected) - acked, set(gave_up) - acked
    reporting, alerts = set(in_reporting) & acked, set(in_alerts) & acked
    found = reporting & alerts
    lost_ids = acked - found
    rollups: dict[str, dict[str, int]] = {}
    rollup_shortfall = rollup_excess = 0
    for table in rollup_after:
        short, extra = rollup_differences(rollup_expected, rollup_before.get(table, {}), rollup_after[table])
        rollups[table] = {"shortfall": short, "excess": extra}
        rollup_shortfall, rollup_excess = max(rollup_shortfall, short), max(rollup_excess, extra)
    # A shortfall the missing reporting rows already explain is not counted twice.
    unexplained_shortfall = max(0, rollup_shortfall - len(acked - reporting))
    window_seen = window_seen or Counter()
    window_expected = set(window_expected)
    window_missing = {e for e in window_expected if window_seen.get(e, 0) == 0}
    window_excess = sum(n - 1 for e, n in window_seen.items() if n > 1)
    window_strangers = {e for e in window_seen if e not in window_expected and e not in acked}
    unexpected = set(seen_refused) | window_strangers
    out = {
        "gave_up": len(gave_up),
        "in_reporting": len(reporting),
        "in_alert_ledger": len(alerts),
        "missing_from_reporting": len(acked - reporting),
        "missing_from_alerts": len(acked - alerts),
        "missing_examples": sorted(lost_ids)[:10],
        "rollups": rollups,
        "alert_windows": {
            "expected": len(window_expected),
            "missing": len(window_missing),
            "held_twice_or_more": window_excess,
            "alert_evidence_shortfall": alert_evidence[0],
            "alert_evidence_excess": alert_evidence[1],
        },
        "notifications": {"missing": notifications_missing, "delivered_more_than_once": notifications_extra},
        "alert_states_missing_from_reporting": stale_alerts,
        "unexpected_examples": sorted(unexpected)[:10],
        **(details or {}),
    }
    return Ledger(
        scenario=scenario,
        sent=len(sent),
        acknowledged=len(acked),
        rejected=len(refused),
        unacknowledged=len(sent - acked - refused),
        found_downstream=len(found),
        missing=(
            len(lost_ids | window_missing)
            + unexplained_shortfall
            + notifications_missing
            + max(0, alert_evidence[0] - len(window_missing))
            + stale_alerts
        ),
        duplicated=rollup_excess + window_excess + alert_evidence[1] + notifications_extra,
        unexpected=len(unexpected),
        details=out,
    )
