"""The demo's funding flows (deploy/local/demo_funding.py): valid, at the seeds' scale, and each
funding flow rule fires on them where the demo says, as the alerts worker evaluates them."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest

from contracts.events import AlertRule, partner_event_adapter
from contracts.funding import FlowKind, FundingFlowEvent
from deploy.local import demo_funding
from services.alerts.domain.funding_flows import FUNDING_FLOW_RULES
from services.alerts.domain.state import apply_all, evaluate, new_state

ANCHORS = [datetime.now(timezone.utc).date(), date(2026, 12, 1), date(2027, 1, 31), date(2028, 2, 29)]


@pytest.mark.parametrize("anchor", ANCHORS)
def test_each_funding_rule_fires_on_the_demo_where_it_says(anchor):
    events = [
        partner_event_adapter.validate_python(e) for items in demo_funding.build_events(anchor).values() for e in items
    ]
    assert all(isinstance(e, FundingFlowEvent) for e in events)
    state = apply_all(new_state(demo_funding.AREA), events)
    for days_later in (1, 5):  # the day after the demo is loaded, and some days on
        now = datetime.combine(anchor + timedelta(days=days_later), time(12), timezone.utc)
        found = {(c.rule, c.area, c.subject) for c in evaluate(state, now, alliances=demo_funding.shares())}
        expected = demo_funding.expected_alerts(anchor)
        assert set(expected) == FUNDING_FLOW_RULES - {AlertRule.CQUIN_AT_RISK}  # CQUIN: demo.py
        assert {(rule, *where) for rule, where in expected.items()} <= found


def test_the_demo_is_at_the_seeds_scale():
    anchor = date(2026, 12, 1)
    events = [e for items in demo_funding.build_events(anchor).values() for e in items]
    awards = [e for e in events if e["data"]["kind"] == FlowKind.GRANT_AWARD.value]
    assert len(awards) == 12  # a dozen grants
    assert all(500 <= e["data"]["amount_gbp"] <= 10_000 for e in awards)  # 001:739
    assert all(
        e["source"] in (e["data"]["payer"]["organisation_id"], e["data"]["payee"]["organisation_id"]) for e in events
    )  # posted by a party
    assert all(e["data"]["period_start"] <= anchor.isoformat() for e in events)  # none in the future
    assert len({e["event_id"] for e in events}) == len(events)
    assert sum(demo_funding.shares()[demo_funding.LEAD.id].values()) <= 1
