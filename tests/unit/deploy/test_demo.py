"""The demo data posted by `make up` (deploy/local/demo.py)."""

from __future__ import annotations

import functools

from datetime import date, datetime, time, timedelta, timezone

import pytest

from deploy.local.demo import build_events


@pytest.mark.parametrize("anchor", [datetime.now(timezone.utc).date(), date(2026, 12, 1), date(2027, 3, 1)])
def test_no_demo_event_is_dated_later_than_the_start_of_its_anchor_day(anchor):
    """`make up` anchors the demo on today's date and posts at any hour: an event later today
    would be in the future before that hour and intake would refuse it (422), failing `make up`.
    (Findings dated today, and performance events reported on the 1st at 09:00, did.)"""
    start_of_day = datetime.combine(anchor, time(0), timezone.utc)
    events = [e for items in build_events(anchor).values() for e in items]
    assert len(events) > 400
    late = [e["occurred_at"] for e in events if datetime.fromisoformat(e["occurred_at"]) > start_of_day]
    assert late == []


def test_every_demo_event_meets_the_contract_and_the_clock():
    """`make up` must load the demo with no refusal: each event is valid (values in their
    indicator's range, dates in the platform's range) and dated no later than intake allows."""

    from contracts.events import partner_event_adapter
    from services.common.admission.admission import future_dates

    anchor = datetime.now(timezone.utc).date()
    posted_at = datetime.combine(anchor, time(0), timezone.utc)  # the earliest hour make up runs
    for items in build_events(anchor).values():
        for body in items:
            event = partner_event_adapter.validate_python(body)
            assert future_dates(event, posted_at, timedelta(seconds=300)) == [], body


def test_every_demo_event_is_one_its_organisation_may_report():
    """`make up` must load the demo with no refusal: every event it posts is allowed by what the
    demo registers (deploy/local/demo.py registrations()) under intake's own rule."""
    from deploy.local.demo import registrations
    from services.common.organisations import may_report

    registry = registrations()
    posted = 0
    for pid, items in build_events(datetime.now(timezone.utc).date()).items():
        for body in items:
            assert body["source"] == pid
            assert may_report(registry[pid], body["area"], body["data"].get("provider_id")) is None, body
            posted += 1
    assert posted > 400


def test_the_demo_registers_no_more_than_each_partner_posts():
    """Registered truthfully: an organisation serves only the areas its demo events are in, and
    reports for no provider but itself."""
    from deploy.local.demo import registrations

    for pid, items in build_events(datetime.now(timezone.utc).date()).items():
        entry = registrations()[pid]
        assert entry.areas == {body["area"] for body in items}
        assert entry.reports_for == {pid}


# --- A demo a commissioner would recognise (domain issue #20, item 7) --------------------------

ANCHORS = [
    datetime.now(timezone.utc).date(),
    date(2026, 12, 1),
    date(2027, 1, 31),
    date(2027, 2, 28),
    date(2027, 3, 15),
    date(2028, 2, 29),
    date(2027, 7, 1),
]


@functools.cache
def _all(anchor):
    return [e for items in build_events(anchor).values() for e in items]


@pytest.mark.parametrize("anchor", ANCHORS)
def test_every_alert_rule_fires_on_the_demo_where_the_demo_says(anchor):
    """Every alert kind the platform has fires on the demo's data, evaluated by the alerts
    domain as the worker evaluates it, the day after the demo is loaded."""
    from contracts.events import AlertRule, partner_event_adapter
    from deploy.local.demo import expected_alerts
    from services.alerts.domain.state import apply_all, evaluate, new_state

    events = [partner_event_adapter.validate_python(e) for e in _all(anchor)]
    now = datetime.combine(anchor, time(12), timezone.utc)
    found = set()
    for area in {e.area for e in events}:
        state = apply_all(new_state(area), [e for e in events if e.area == area])
        found |= {(c.rule, c.area, c.subject) for c in evaluate(state, now) if c.inhibited_by is None}
    expected = expected_alerts()
    # The recommendation follow-up rules read commissioners' answers, not partners' events; the
    # integration test (tests/integration/test_demo.py) sees them fire on the running stack. The
    # funding flow rules read the flows of deploy/local/demo_funding.py (its own test), CQUIN aside.
    from services.alerts.domain.funding_flows import FUNDING_FLOW_RULES

    flows = FUNDING_FLOW_RULES - {AlertRule.CQUIN_AT_RISK}
    assert {r for r in AlertRule if not r.value.startswith("recommendation_") and r not in flows} <= set(expected)
    assert {(rule, *where) for rule, where in expected.items()} <= found


@pytest.mark.parametrize("anchor", ANCHORS)
def test_every_provider_series_has_a_year_of_points_or_more(anchor):
    """The performance page charts each provider series (area, provider, indicator, community)
    with SPC limits: a year of points at least, two years for a provider that kept reporting."""
    from services.alerts.domain.thresholds import FUNDING_INDICATORS

    series: dict[tuple, set] = {}
    for e in _all(anchor):
        d = e["data"]
        if "indicator" in d and d["indicator"] not in {i.value for i in FUNDING_INDICATORS}:
            key = (e["area"], d["provider_id"], d["indicator"], d.get("community"))
            series.setdefault(key, set()).add(d["period_start"])
    assert len(series) >= 20
    assert min(len(points) for points in series.values()) >= 12, series
    assert max(len(points) for points in series.values()) == 24


@pytest.mark.parametrize("anchor", [date(2026, 12, 4) + timedelta(days=n) for n in range(0, 366, 11)])
def test_the_overview_has_a_previous_window_to_compare_with(anchor):
    """The overview's default 30-day window and the 30 days before it both hold events, and not
    the same number: the report shows a change."""

    def count(first, last):
        return sum(first <= datetime.fromisoformat(e["occurred_at"]).date() <= last for e in _all(anchor))

    current = count(anchor - timedelta(days=29), anchor)
    previous = count(anchor - timedelta(days=59), anchor - timedelta(days=30))
    assert previous > 0 and current > 0 and current != previous, (current, previous)


def test_the_demo_exercises_every_theme_and_indicator_and_every_finding_says_what_to_do():
    """Every mapping rule (theme and indicator) is exercised; findings carry a recommendation,
    and those gathered by community development workers the CDW role they were gathered under."""
    from contracts.vocabulary import Indicator, Theme
    from deploy.local.demo import PARTNERS

    events = _all(datetime.now(timezone.utc).date())
    findings = [e for e in events if e["type"].endswith("finding.v1")]
    assert {e["data"]["theme"] for e in findings} == {t.value for t in Theme}
    assert {e["data"]["indicator"] for e in events if "indicator" in e["data"]} == {i.value for i in Indicator}
    assert all(e["data"]["recommendation"] for e in findings)
    cdw = {p.id for p in PARTNERS if p.kind == "community_development_workers"}
    assert all(e["data"].get("cdw_role") for e in findings if e["source"] in cdw)
    assert len({e["event_id"] for e in events}) == len(events)
    assert _all(date(2027, 5, 5)) == _all(date(2027, 5, 5))


def test_the_demo_reads_like_the_seeds():
    """Funding at the seeds' scale (Value Added Grants of £500 to £10,000 beside larger
    contracts, 001:739), indicators from the providers that would report them (physical health
    checks from primary care, 004:553; 7-day follow-up from the inpatient providers), ethnicity
    codes 98.7-98.8% valid with "not stated" hidden in them (001:685-686), and Pattigift the
    registered hospital it is (001:234), not a VCSE provider."""
    from deploy.local.demo import PARTNERS

    kinds = {p.id: p.kind for p in PARTNERS}
    events = [e for e in _all(datetime.now(timezone.utc).date()) if "indicator" in e["data"]]
    required = {e["data"]["funding_required_gbp"] for e in events if e["data"]["indicator"] == "funding"}
    assert any(500 <= gbp <= 10_000 for gbp in required) and any(gbp > 10_000 for gbp in required)
    checks = {e["source"] for e in events if e["data"]["indicator"] == "smi_physical_health_check"}
    assert checks == {"greater-peterborough-gp-federation"}
    follow_up = {e["source"] for e in events if e["data"]["indicator"] == "seven_day_follow_up"}
    assert {kinds[s] for s in follow_up} <= {"nhs_trust", "independent_hospital"}
    pattigift = [e for e in events if e["source"] == "pattigift"]
    assert kinds["pattigift"] == "independent_hospital"
    assert {e["data"]["provider_sector"] for e in pattigift} == {"independent"}
    codes = [
        e["data"]["ethnicity"]
        for e in events
        if e["source"] == "bsol-mental-health-trust" and e["data"]["indicator"] == "ethnicity_recording_completeness"
    ]
    assert len(codes) == 24
    for c in codes:
        records = c["valid"] + c["missing"]
        assert 98.6 <= 100 * c["valid"] / records <= 98.9
        assert 100 * (c["valid"] - c["not_stated"]) / records < 90


def test_the_commissioners_answer_older_recommendations_and_leave_one_action_overdue():
    """Recommendations made in the last weeks wait for an answer; older ones are answered (not
    accepted with the reason, partly or fully accepted with an action, owner and due date) and
    their actions completed once due, except one accepted action past its due date."""
    from deploy.local.demo import ANSWER_AFTER_DAYS, answers

    anchor = datetime.now(timezone.utc).date()
    planned = answers(build_events(anchor), anchor)
    assert planned == answers(build_events(anchor), anchor)
    made = {f["event_id"]: datetime.fromisoformat(f["occurred_at"]).date() for f, _ in planned}
    assert all((anchor - day).days > ANSWER_AFTER_DAYS for day in made.values())
    outcomes = {bodies[0]["outcome"] for _, bodies in planned}
    assert outcomes == {"accepted", "partly_accepted", "not_accepted"}
    for _, bodies in planned:
        first = bodies[0]
        if first["outcome"] == "not_accepted":
            assert first["reason"] and len(bodies) == 1 and "due_date" not in first
        else:
            assert first["action"] and first["owner"] and first["due_date"]
    overdue = [
        (f, b)
        for f, b in planned
        if b[0].get("due_date") and len(b) == 1 and date.fromisoformat(b[0]["due_date"]) < anchor
    ]
    assert len(overdue) == 1 and overdue[0][0]["area"] == "BSOL"
    ids = [b["response_id"] for _, bodies in planned for b in bodies]
    assert len(ids) == len(set(ids))


def test_the_partners_seed_quotes_are_on_the_lines_they_cite():
    """Each partner's seed pointer ("001:234 registered acute psychiatric hospital") quotes the
    line it cites, so a wrong line number fails here."""
    from pathlib import Path

    from deploy.local.demo import PARTNERS

    seeds = Path(__file__).resolve().parents[3] / "docs" / "seeds"
    lines = {f.name[:3]: f.read_text(encoding="utf-8").splitlines() for f in seeds.glob("[0-9][0-9][0-9]_*.txt")}
    cited = 0
    for p in PARTNERS:
        for pointer in filter(None, p.seeds.split("; ")):
            ref, quote = pointer.split(" ", 1)
            seed, line = ref.split(":")
            for part in quote.split(" ... "):
                assert part in lines[seed][int(line) - 1], (p.id, ref, part)
            cited += 1
    assert cited >= 12
