"""Run one fault scenario: a paced load through intake, a fault injected while it flows, the books.

A scenario owns a few days of the calendar (its events' ``occurred_at``) and two communities
for its unmet-need findings, so its rollup cells and alert windows are its own and can be
compared with what intake acknowledged, whatever else the session has posted.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import asyncpg

from contracts.vocabulary import Community
from tests.conftest import TEST_ENV, TEST_HOME, url
from tests.stackenv import REPO, run_script

from . import downstream
from .ledger import Ledger, books
from .load import Outcomes, Partner, Planned, Sender, plan

#: The areas the load posts to. Other tests post to some of them too (the fuzzing to Kent, the
#: ethnicity test to Northamptonshire), so a scenario counts only its own days and communities.
AREAS_UNDER_LOAD = ("ELON", "BEH", "NHAM", "CAMP", "HAMP", "KENT")
ARTIFACTS = REPO / "artifacts" / "faults"
EVENTS = 20_000
#: Every ledger of this session, for the terminal summary (tests/faults/conftest.py).
LEDGERS: list[Ledger] = []


@dataclass(frozen=True)
class Scenario:
    name: str
    days_ago: tuple[int, ...]  # this scenario's own days, within 30 days
    communities: tuple[Community, Community]  # this scenario's own unmet-need communities
    total: int = EVENTS
    rate: float = 1000.0  # events per second offered to intake
    # Share of unmet-need findings: enough to fire alerts in every (area, community) of the
    # scenario; few, because the alerts worker reads an area's whole state for every event.
    unmet_share: float = 0.0025
    unmet_first: bool = False  # unmet-need findings lead the load
    settle_timeout: float = 900.0
    settle_stall: float = 120.0


@dataclass
class Run:
    scenario: Scenario
    events: list[Planned]
    outcomes: Outcomes
    settled: dict
    rollups_before: dict
    rollups_after: dict = field(default_factory=dict)
    log_start: dict = field(default_factory=dict)
    cpu_seconds: dict = field(default_factory=dict)
    fault: dict = field(default_factory=dict)
    wall_seconds: float = 0.0
    seed: int = 0


class Timeline:
    """What the fault did and when, in seconds from the start of the load."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.steps: list[tuple[float, str]] = []

    def mark(self, what: str) -> None:
        at = round(time.monotonic() - self.start, 1)
        self.steps.append((at, what))
        print(f"  fault {at:6.1f}s: {what}", flush=True)


async def script(name: str, *args: str, env: dict[str, str] | None = None, timeout: int = 300) -> str:
    """One of deploy/local's scripts, in a thread so that the load keeps flowing meanwhile."""
    return await asyncio.to_thread(run_script, env or TEST_ENV, name, *args, timeout=timeout)


def scenario_days(s: Scenario) -> list[date]:
    today = datetime.now(timezone.utc).date()
    return [today - timedelta(days=d) for d in s.days_ago]


async def run(s: Scenario, partners: list[Partner], fault: Callable[[Sender, Timeline], Awaitable[dict | None]]) -> Run:
    """Offer the load, run ``fault`` alongside it, wait for the platform to settle."""
    started = time.monotonic()
    days = scenario_days(s)
    seed = random.SystemRandom().getrandbits(32)  # in the ledger: the same load can be planned again
    events = plan(
        partners,
        list(AREAS_UNDER_LOAD),
        days,
        s.total,
        seed=seed,
        unmet_share=s.unmet_share,
        communities=list(s.communities),
        unmet_first=s.unmet_first,
    )
    pg = await asyncpg.create_pool(TEST_ENV["CSP_PG_DSN"], min_size=1, max_size=2)
    try:
        before = await downstream.rollups(pg, AREAS_UNDER_LOAD, days)
        log_start = await asyncio.to_thread(downstream.log_ends, TEST_ENV["CSP_KAFKA_BOOTSTRAP"])
        sender = Sender(url("intake", ""), events, rate=s.rate)
        timeline = Timeline()
        cpu_before = downstream.service_cpu(TEST_HOME)
        print(f"\nscenario {s.name}: {len(events)} events at {s.rate:.0f}/s", flush=True)
        load = asyncio.create_task(sender.run())
        injected = asyncio.create_task(fault(sender, timeline))
        try:
            outcomes = await load
        except BaseException:
            injected.cancel()
            raise
        timeline.mark(
            f"load finished: {len(outcomes.acknowledged)} acknowledged, "
            f"{len(outcomes.refused)} refused, {len(outcomes.gave_up)} given up, "
            f"requests {dict(outcomes.statuses)}"
        )
        fault_info = (await injected) or {}
        settled = await downstream.settle(
            pg,
            set(outcomes.acknowledged),
            TEST_ENV["CSP_KAFKA_BOOTSTRAP"],
            timeout=s.settle_timeout,
            stall=s.settle_stall,
        )
        timeline.mark(f"settled={settled['settled']} after {settled['seconds']}s")
        after = await downstream.rollups(pg, AREAS_UNDER_LOAD, days)
        cpu = downstream.cpu_used(cpu_before, downstream.service_cpu(TEST_HOME))
    finally:
        await pg.close()
    return Run(
        s,
        events,
        outcomes,
        settled,
        before,
        after,
        log_start,
        cpu,
        {"timeline": timeline.steps, **fault_info},
        time.monotonic() - started,
        seed,
    )


async def account(
    r: Run, *, notifications_extra: int = 0, notifications_missing: int = 0, details: dict | None = None
) -> Ledger:
    """Build the ledger from the platform's tables, print it and write artifacts/faults/<name>.json."""
    o = r.outcomes
    acked = set(o.acknowledged)
    sent = {e.event_id for e in r.events}
    expected_cells = Counter((e.area, e.day.isoformat()) for e in r.events if e.event_id in acked)
    unmet = {e.event_id for e in r.events if e.unmet_need and e.event_id in acked}
    pg = await asyncpg.create_pool(TEST_ENV["CSP_PG_DSN"], min_size=1, max_size=2)
    try:
        in_reporting = await downstream.present(pg, "reporting_events", acked)
        in_alerts = await downstream.present(pg, "alert_events_seen", acked)
        # Refused events must be nowhere: not in intake's ledger, not downstream. (An event the
        # sender gave up on may legitimately be there: its record can reach the broker late.)
        refused = set(o.refused)
        stray = (
            await downstream.present(pg, "reporting_events", refused)
            | await downstream.present(pg, "alert_events_seen", refused)
            | await downstream.present(pg, "intake_events", refused)
        )
        held = await downstream.window_holdings(pg, AREAS_UNDER_LOAD, sent)
        evidence = await downstream.unmet_alert_findings(
            pg, AREAS_UNDER_LOAD, [c.value for c in r.scenario.communities]
        )
        # The reporting read model of alerts catches up with the alert store through the outbox
        # and alerts.v1; the timer may still change an alert meanwhile, so allow it a minute.
        deadline = time.monotonic() + 60
        while True:
            read_model = await downstream.alert_read_model_gaps(pg, AREAS_UNDER_LOAD)
            if not read_model["stale"] and not read_model["unpublished"] or time.monotonic() > deadline:
                break
            await asyncio.sleep(2)
    finally:
        await pg.close()
    copies = await asyncio.to_thread(downstream.log_copies, TEST_ENV["CSP_KAFKA_BOOTSTRAP"], r.log_start, acked)
    want = Counter((e.area, e.community) for e in r.events if e.event_id in unmet)
    evidence_gaps = {
        f"{a}/{c}": {"expected": want[(a, c)], "in_alert": n}
        for (a, c), n in sorted(evidence.items())
        if n != want[(a, c)]
    }
    evidence_excess = sum(max(0, v["in_alert"] - v["expected"]) for v in evidence_gaps.values())
    evidence_short = sum(max(0, v["expected"] - v["in_alert"]) for v in evidence_gaps.values())
    ledger = books(
        r.scenario.name,
        sent=sent,
        acknowledged=acked,
        rejected=o.refused,
        gave_up=o.gave_up,
        in_reporting=in_reporting,
        in_alerts=in_alerts,
        rollup_expected=expected_cells,
        rollup_before=r.rollups_before,
        rollup_after=r.rollups_after,
        window_expected=unmet,
        window_seen=held,
        seen_refused=stray,
        alert_evidence=(evidence_short, evidence_excess),
        stale_alerts=len(read_model["stale"]),
        notifications_extra=notifications_extra,
        notifications_missing=notifications_missing,
        details={
            "seed": r.seed,
            "requests": o.requests,
            "retried_requests": o.retries,
            # Valid events intake refused, and events built to be refused that it accepted.
            "refused_valid": sorted(e.event_id for e in r.events if e.valid and e.event_id in refused)[:10],
            "accepted_invalid": sorted(e.event_id for e in r.events if not e.valid and e.event_id in acked)[:10],
            "http": {str(k): v for k, v in sorted(o.statuses.items(), key=str)},
            "refused_by_status": dict(Counter(str(v) for v in o.refused.values())),
            "load_seconds": round(o.finished - o.started, 1),
            "wall_seconds": round(r.wall_seconds, 1),
            "settle": r.settled,
            "unmet_need_alerts": {"checked": len(evidence), "differing": evidence_gaps},
            "alert_read_model": {"unpublished": read_model["unpublished"], "stale_examples": read_model["stale"][:5]},
            # Copies on the log beyond one per event: at least once on the wire, counted once.
            "extra_copies_on_log": copies,
            # CPU seconds each platform process used from the start of the load to settling.
            "service_cpu_seconds": r.cpu_seconds,
            "fault": r.fault,
            **(details or {}),
        },
    )
    print(ledger.table(), flush=True)
    print(f"  written to {ledger.write(ARTIFACTS)}", flush=True)
    LEDGERS.append(ledger)
    return ledger


def assert_books_balance(ledger: Ledger) -> None:
    """Zero missing, zero duplicated, nothing refused reported as accepted, and every event
    answered as it should be (valid ones acknowledged, the ones built to be refused refused)."""
    d = ledger.details
    assert ledger.missing == 0, (ledger.table(), d)
    assert ledger.duplicated == 0, (ledger.table(), d)
    assert ledger.unexpected == 0, (ledger.table(), d)
    assert ledger.unacknowledged == 0, ledger.table()
    assert not d["refused_valid"] and not d["accepted_invalid"], d
    assert ledger.found_downstream == ledger.acknowledged > 0, ledger.table()
    assert d["settle"]["settled"], d["settle"]
