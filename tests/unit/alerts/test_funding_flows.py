"""Funding flow rules (services/alerts/domain/funding_flows.py): pure, with injected time and thresholds.

Each test names the seed lines its rule rests on and checks the quote is on them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from uuid import uuid4

import pytest

from contracts.citations import misquoted, seed
from contracts.events import AlertRule, AlertSeverity
from contracts.funding import FundingFlowEvent
from contracts.places import AREAS
from contracts.vocabulary import Indicator, ProviderSector
from services.alerts.domain.conditions import CONCERNS
from services.alerts.domain.funding_flows import (
    FlowRecord,
    cquin_at_risk,
    flow_conditions,
    grants_not_paid,
    grants_unspent,
    stuck_payments,
    unpaid_members,
)
from services.alerts.domain.state import apply, apply_all, evaluate, new_state, prune
from services.alerts.domain.thresholds import FundingFlowThresholds, PerformanceThresholds

from .factories import figure, prec

AREA = "SOM"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
T = FundingFlowThresholds()  # onward 14/30 days, members 30/60, grants 0/30 days, unspent 60 days / 25%
Q3 = (date(2026, 10, 1), date(2026, 12, 31))
ICB = {"organisation_id": "somerset-icb", "role": "commissioner", "name": "Somerset ICB"}
TRUST = {"organisation_id": "somerset-nhs-ft", "role": "trust", "name": "Somerset NHS Foundation Trust"}
LEAD = {"organisation_id": "rethink-somerset", "role": "lead_body", "name": "Rethink Mental Illness"}
SHARES = {"rethink-somerset": {"somerset-rec": 0.3, "mind-west-somerset": 0.2}}


def cited(number, lines, quote):
    ref = seed(number, lines, quote)
    assert misquoted(ref) is None
    return ref


def flow_event(
    kind, payer, payee, amount, *, days_ago, reference="SOM-CMH-Q3", period=Q3, alliance="rethink-somerset", grant=None
) -> FundingFlowEvent:
    return FundingFlowEvent(
        event_id=uuid4(),
        source=payee["organisation_id"],
        occurred_at=NOW - timedelta(days=days_ago),
        area=AREA,
        region=AREAS[AREA].region,
        data={
            "kind": kind,
            "reference": reference,
            "payer": payer,
            "payee": payee,
            "amount_gbp": amount,
            "period_start": period[0],
            "period_end": period[1],
            "alliance_id": alliance,
            "grant": grant,
        },
    )


def flow(*args, **kw) -> FlowRecord:
    return FlowRecord.of(flow_event(*args, **kw))


def member(org):
    return {"organisation_id": org, "role": "member"}


# --- payment stuck in the chain ----------------------------------------------------------------


def test_a_trust_paid_for_the_alliance_that_passes_nothing_on_is_stuck_after_the_threshold():
    """ "funding flowed from the CCG, to the Trust and then to Rethink Mental Illness as the
    accountable organisation for the VCSE alliance" (004:282): a step that does not happen."""
    cited("004", 282, "funding flowed from the CCG, to the Trust and then to Rethink Mental Illness")
    paid = flow("payment", ICB, TRUST, 45_000, days_ago=15)
    [stuck] = stuck_payments([paid], NOW, T)
    assert stuck.severity is AlertSeverity.AMBER
    assert stuck.subject == "payment:SOM-CMH-Q3:somerset-nhs-ft:2026-10-01"
    assert stuck.evidence["days_waiting"] == 15 and stuck.evidence["expected_onward_to"] == "the alliance's lead body"
    assert "£45,000" in stuck.detail and "Somerset NHS Foundation Trust" in stuck.detail
    assert stuck_payments([flow("payment", ICB, TRUST, 45_000, days_ago=14)], NOW, T) == []
    assert stuck_payments([flow("payment", ICB, TRUST, 45_000, days_ago=31)], NOW, T)[0].severity is AlertSeverity.RED


def test_the_onward_payment_under_the_same_reference_ends_it():
    paid = flow("payment", ICB, TRUST, 45_000, days_ago=40)
    onward = flow("payment", TRUST, LEAD, 45_000, days_ago=1)
    assert stuck_payments([paid, onward], NOW, T) == []
    other_reference = flow("payment", TRUST, LEAD, 45_000, days_ago=1, reference="SOM-OTHER")
    assert len(stuck_payments([paid, other_reference], NOW, T)) == 1
    later_period = flow("payment", TRUST, LEAD, 45_000, days_ago=1, period=(date(2027, 1, 1), date(2027, 3, 31)))
    assert len(stuck_payments([paid, later_period], NOW, T)) == 1


def test_a_lead_body_that_pays_no_member_is_stuck_and_money_not_for_an_alliance_is_not():
    lead_paid = flow("payment", TRUST, LEAD, 45_000, days_ago=20)
    [stuck] = stuck_payments([lead_paid], NOW, T)
    assert stuck.evidence["expected_onward_to"] == "the alliance's members"
    assert stuck_payments([lead_paid, flow("payment", LEAD, member("somerset-rec"), 13_500, days_ago=2)], NOW, T) == []
    assert stuck_payments([flow("payment", ICB, TRUST, 45_000, days_ago=40, alliance=None)], NOW, T) == []
    assert stuck_payments([flow("payment", TRUST, member("somerset-rec"), 5_000, days_ago=40)], NOW, T) == []


def test_the_threshold_is_the_areas_own():
    paid = flow("payment", ICB, TRUST, 45_000, days_ago=10)
    assert stuck_payments([paid], NOW, FundingFlowThresholds(onward_payment_days=7))
    with pytest.raises(ValueError, match="red_onward_payment_days"):
        FundingFlowThresholds(onward_payment_days=40)


# --- alliance member unpaid --------------------------------------------------------------------


def test_a_member_due_a_share_that_received_nothing_while_the_alliance_was_paid():
    """ "This was then shared out depending on which partner is leading on delivering which part
    of the co-produced model" (004:282): a member left out of the sharing."""
    cited("004", 282, "This was then shared out depending on which partner is leading")
    lead_paid = flow("payment", TRUST, LEAD, 45_000, days_ago=31)
    to_rec = flow("payment", LEAD, member("somerset-rec"), 13_500, days_ago=5)
    [unpaid] = unpaid_members([lead_paid, to_rec], SHARES, NOW, T)
    assert unpaid.subject == "member:rethink-somerset:mind-west-somerset:2026-10-01"
    assert unpaid.evidence["share_due_gbp"] == 9_000 and unpaid.evidence["share"] == 0.2
    assert unpaid.severity is AlertSeverity.AMBER and "£9,000" in unpaid.detail
    assert unpaid_members([lead_paid, to_rec], SHARES, NOW + timedelta(days=30), T)[0].severity is AlertSeverity.RED


def test_no_member_alert_before_the_grace_or_without_a_payment_to_the_alliance():
    assert unpaid_members([flow("payment", TRUST, LEAD, 45_000, days_ago=30)], SHARES, NOW, T) == []
    assert unpaid_members([flow("payment", ICB, TRUST, 45_000, days_ago=90)], SHARES, NOW, T) == []
    assert unpaid_members([flow("payment", TRUST, LEAD, 45_000, days_ago=90)], {}, NOW, T) == []
    zero = {"rethink-somerset": {"somerset-rec": 0.0}}
    assert unpaid_members([flow("payment", TRUST, LEAD, 45_000, days_ago=90)], zero, NOW, T) == []


# --- grants: not paid by the start date, unspent near the spend-by date --------------------------

SCHEME = {"organisation_id": "som-small-grants", "role": "grant_scheme", "name": "Somerset small grants"}
GROUP = {"organisation_id": "chard-bme-forum", "role": "grant_recipient", "name": "Chard BME forum"}


def award(amount=2_500, start=date(2026, 11, 1), spend_by=date(2027, 1, 15), days_ago=40):
    return flow(
        "grant_award",
        SCHEME,
        GROUP,
        amount,
        days_ago=days_ago,
        reference="SG-07",
        alliance=None,
        grant={
            "scheme": "som-small-grants",
            "conditions": ["venues and stationery"],
            "start_date": start,
            "spend_by": spend_by,
        },
    )


def grant_paid(amount, days_ago=25):
    return flow("payment", SCHEME, GROUP, amount, days_ago=days_ago, reference="SG-07", alliance=None)


def test_a_small_grant_not_paid_by_its_start_date():
    """ "others spread grants ranging from £500 to 10,000 across 10 or more projects" (001:739):
    small sums, which matter only if they arrive."""
    cited("001", 739, "others spread grants ranging from \u00a3500 to 10,000 across 10 or more projects")
    [late] = grants_not_paid([award()], NOW.date(), T)
    assert late.subject == "grant:som-small-grants:SG-07:chard-bme-forum"
    assert late.evidence["days_after_start"] == 19 and late.evidence["paid_gbp"] == 0
    assert late.severity is AlertSeverity.AMBER
    [partly] = grants_not_paid([award(), grant_paid(1_000)], NOW.date(), T)
    assert partly.evidence["paid_gbp"] == 1_000
    assert grants_not_paid([award(), grant_paid(2_500)], NOW.date(), T) == []
    assert grants_not_paid([award(start=date(2026, 11, 20))], NOW.date(), T) == []
    assert grants_not_paid([award(start=date(2026, 10, 1))], NOW.date(), T)[0].severity is AlertSeverity.RED


def test_a_paid_grant_unspent_near_its_spend_by_date():
    """ "A large proportion had not completed the work by the December 2006 as expected" (001:737)."""
    cited("001", 737, "A large proportion had not completed the work by the December 2006 as expected")

    def spent(amount):
        return flow(
            "spend_report",
            SCHEME,
            GROUP,
            amount,
            days_ago=3,
            reference="SG-07",
            alliance=None,
        )

    [unspent] = grants_unspent([award(), grant_paid(2_500), spent(1_000)], NOW.date(), T)
    assert unspent.evidence["unspent_gbp"] == 1_500 and unspent.evidence["days_to_spend_by"] == 56
    assert unspent.severity is AlertSeverity.AMBER
    assert grants_unspent([award(), grant_paid(2_500), spent(2_000)], NOW.date(), T) == []
    assert grants_unspent([award(spend_by=date(2027, 6, 1)), grant_paid(2_500)], NOW.date(), T) == []
    assert grants_unspent([award()], NOW.date(), T) == []  # never paid: grant_not_paid speaks
    past = grants_unspent([award(spend_by=date(2026, 11, 10)), grant_paid(2_500)], NOW.date(), T)
    assert past[0].severity is AlertSeverity.RED and "none sent" in past[0].detail


# --- CQUIN at risk -----------------------------------------------------------------------------


def test_cquin_at_risk_when_a_providers_cquin_indicators_are_below_target():
    """ "a CQUIN scheme with specific quality goals linked to a proportion of contract value"
    (002:765). The seeds name no CQUIN indicator: the list is a labelled local configuration."""
    cited("002", 765, "a CQUIN scheme with specific quality goals linked to a proportion of contract value")
    assert any(
        "local default" in str(c)
        for c in FundingFlowThresholds.model_fields["cquin_indicators"].json_schema_extra["cites"]
    )  # type: ignore[index]
    trust = dict(
        provider_id="somerset-nhs-ft", provider_name="Somerset NHS Foundation Trust", sector=ProviderSector.STATUTORY
    )
    follow_up = prec(figure(Indicator.SEVEN_DAY_FOLLOW_UP, 91.0, **trust))
    wait = prec(figure(Indicator.FOUR_WEEK_WAIT, 96.0, **trust))
    at_risk = cquin_at_risk([follow_up, wait], T, PerformanceThresholds())
    assert at_risk is not None and at_risk.severity is AlertSeverity.RED  # 1 of 2: half
    assert [f["indicator"] for f in at_risk.evidence["below_target"]] == ["seven_day_follow_up"]
    assert (
        cquin_at_risk(
            [follow_up, wait, prec(figure(Indicator.SMI_PHYSICAL_HEALTH_CHECK, 80, target=60, **trust))],
            T,
            PerformanceThresholds(),
        ).severity
        is AlertSeverity.AMBER
    )  # 1 of 3
    assert cquin_at_risk([wait], T, PerformanceThresholds()) is None
    voluntary = prec(figure(Indicator.SEVEN_DAY_FOLLOW_UP, 50.0))
    assert cquin_at_risk([voluntary], T, PerformanceThresholds()) is None  # CQUIN pays NHS providers
    only_wait = FundingFlowThresholds(cquin_indicators=frozenset({Indicator.FOUR_WEEK_WAIT}))
    assert cquin_at_risk([follow_up, wait], only_wait, PerformanceThresholds()) is None
    with pytest.raises(ValueError, match="not performance indicators"):
        FundingFlowThresholds(cquin_indicators=frozenset({Indicator.FUNDING}))


# --- through the area state, as the worker runs them ---------------------------------------------


def test_every_funding_rule_fires_through_the_area_state_and_replays_change_nothing():
    events = [
        flow_event("payment", ICB, TRUST, 45_000, days_ago=45, reference="SOM-A"),
        flow_event("payment", TRUST, LEAD, 45_000, days_ago=40),
        flow_event("payment", LEAD, member("somerset-rec"), 13_500, days_ago=5),
        flow_event(
            "grant_award",
            SCHEME,
            GROUP,
            2_500,
            days_ago=40,
            reference="SG-07",
            alliance=None,
            grant={"scheme": "som-small-grants", "start_date": date(2026, 11, 1), "spend_by": date(2027, 1, 15)},
        ),
        flow_event(
            "grant_award",
            SCHEME,
            {**GROUP, "organisation_id": "frome-travellers"},
            800,
            days_ago=60,
            reference="SG-02",
            alliance=None,
            grant={"scheme": "som-small-grants", "start_date": date(2026, 9, 1), "spend_by": date(2026, 12, 31)},
        ),
        flow_event(
            "payment",
            SCHEME,
            {**GROUP, "organisation_id": "frome-travellers"},
            800,
            days_ago=70,
            reference="SG-02",
            alliance=None,
        ),
    ]
    state = apply_all(new_state(AREA), events)
    assert apply_all(state, events) is state  # replays fold to the same state
    conditions = evaluate(state, NOW, alliances=SHARES)
    assert {c.rule for c in conditions} == {
        AlertRule.PAYMENT_STUCK_IN_CHAIN,
        AlertRule.ALLIANCE_MEMBER_UNPAID,
        AlertRule.GRANT_NOT_PAID,
        AlertRule.GRANT_UNSPENT,
    }
    assert all(c.evidence for c in conditions) and all(CONCERNS[c.rule].cites for c in conditions)
    assert evaluate(state, NOW) == [c for c in conditions if c.rule is not AlertRule.ALLIANCE_MEMBER_UNPAID]
    assert {c.fingerprint for c in flow_conditions(AREA, list(state.flows.values()), SHARES, NOW, T)} == {
        c.fingerprint for c in conditions
    }
    assert type(state).from_json(state.to_json()) == state  # stored as JSON, read back equal
    assert prune(state, NOW + timedelta(days=1000)).flows == {}
    assert apply(state, events[0]) is state
