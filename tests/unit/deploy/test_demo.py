"""The demo data posted by `make up` (deploy/local/demo.py)."""
from __future__ import annotations

from datetime import date, datetime, time, timezone

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
    from datetime import timedelta

    from contracts.events import partner_event_adapter
    from services.intake.domain.admission import future_dates

    anchor = datetime.now(timezone.utc).date()
    posted_at = datetime.combine(anchor, time(0), timezone.utc)   # the earliest hour make up runs
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
