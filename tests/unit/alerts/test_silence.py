"""Rule 5: provider silence, and its inhibition of that provider's other alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.events import AlertRule, AlertSeverity
from contracts.vocabulary import Indicator
from services.alerts.domain.lifecycle import step
from services.alerts.domain.rules.silence import provider_silence, reporting_days, usual_interval_days
from services.alerts.domain.state import apply_all, evaluate, new_state
from services.alerts.domain.thresholds import SilenceThresholds

from .factories import AREA, NOW, figure, prec

T = SilenceThresholds()  # 45 days, 3 reports, 1.5 x usual interval, red at 2 x threshold


def reports(*days_ago, provider_id="pattigift", indicator=Indicator.FOUR_WEEK_WAIT, value=97):
    return [
        figure(indicator, value, period=i, occurred_at=NOW - timedelta(days=d), provider_id=provider_id)
        for i, d in enumerate(sorted(days_ago, reverse=True))
    ]


def decide(events, now=NOW, t=T):
    return provider_silence([prec(e) for e in events], now, t)


def test_monthly_reporter_quiet_for_exactly_n_days_is_silent():
    assert decide(reports(104, 74, 44.5)) is None
    outcome = decide(reports(105, 75, 45))
    assert outcome.severity is AlertSeverity.AMBER
    assert outcome.evidence["threshold_days"] == 45
    assert outcome.subject == "provider:pattigift"


def test_red_at_twice_the_threshold():
    assert decide(reports(150, 120, 89)).severity is AlertSeverity.AMBER
    assert decide(reports(150, 120, 90)).severity is AlertSeverity.RED


def test_a_provider_that_has_not_normally_reported_is_not_silent():
    assert decide(reports(300, 200)) is None
    assert decide([]) is None


def test_quarterly_reporter_is_judged_by_its_own_cadence():
    quarterly = reports(373, 282, 191, 100)
    assert usual_interval_days(reporting_days([prec(e) for e in quarterly])) == 91
    assert decide(quarterly) is None  # 100 days < 1.5 x 91
    assert decide(reports(409, 318, 227, 136)) is None  # 136 < 136.5
    assert decide(reports(410, 319, 228, 137)) is not None  # 137 > 136.5


def test_many_events_on_one_day_are_one_report():
    same_day = [e for d in (60, 60, 60, 50, 50) for e in reports(d)]
    assert len(reporting_days([prec(e) for e in same_day])) == 2
    assert decide(same_day) is None


def test_one_provider_at_a_time():
    with pytest.raises(ValueError):
        decide(reports(100, 70, 46) + reports(100, provider_id="other"))


# --- inhibition -----------------------------------------------------------------------------


def silent_provider_with_funding_gap():
    history = reports(120, 90, 60)
    gap = figure(
        Indicator.FUNDING, 10_000, period=3, committed=10_000, required=50_000, occurred_at=NOW - timedelta(days=60)
    )
    return history + [gap]


def test_silence_inhibits_the_providers_other_conditions():
    state = apply_all(new_state(AREA), silent_provider_with_funding_gap())
    conditions = {c.rule: c for c in evaluate(state, NOW)}
    silence = conditions[AlertRule.PROVIDER_SILENCE]
    assert silence.inhibited_by is None
    assert conditions[AlertRule.FUNDING_GAP].inhibited_by == silence.fingerprint


def test_other_providers_are_not_inhibited():
    events = silent_provider_with_funding_gap() + [
        figure(
            Indicator.FUNDING,
            1,
            period=13,
            committed=1,
            required=100,
            provider_id="support-4-progress",
            occurred_at=NOW - timedelta(days=2),
        )
    ]
    conditions = evaluate(apply_all(new_state(AREA), events), NOW)
    gaps = [c for c in conditions if c.rule is AlertRule.FUNDING_GAP]
    assert {c.provider_id: c.inhibited_by is None for c in gaps} == {"pattigift": False, "support-4-progress": True}


def test_no_alert_is_opened_on_missing_data():
    state = apply_all(new_state(AREA), silent_provider_with_funding_gap())
    result = step({}, evaluate(state, NOW), area=AREA, now=NOW)
    assert {r.rule for r in result.records.values()} == {AlertRule.PROVIDER_SILENCE}
    assert [a.rule for n in result.notifications for a in n.alerts] == [AlertRule.PROVIDER_SILENCE]


def test_silence_holds_an_open_alert_without_resolving_or_notifying_it():
    early = NOW - timedelta(days=50)
    events = silent_provider_with_funding_gap()
    state = apply_all(new_state(AREA), events)
    opened = step({}, evaluate(state, early), area=AREA, now=early)
    gap_fp = next(fp for fp, r in opened.records.items() if r.rule is AlertRule.FUNDING_GAP)
    later = step(opened.records, evaluate(state, NOW), area=AREA, now=NOW, groups=opened.groups)
    held = later.records[gap_fp]
    assert held.status.value == "firing"
    assert held.inhibited_by is not None
    assert all(a.fingerprint != gap_fp for n in later.notifications for a in n.alerts)
    # The provider reports again: the silence resolves and the gap is heard again.
    back = apply_all(state, [figure(Indicator.FOUR_WEEK_WAIT, 97, period=13, occurred_at=NOW - timedelta(hours=1))])
    after = step(
        later.records,
        evaluate(back, NOW + timedelta(days=1)),
        area=AREA,
        now=NOW + timedelta(days=1),
        groups=later.groups,
    )
    assert after.records[gap_fp].inhibited_by is None
    silence_fp = held.inhibited_by
    assert after.records[silence_fp].status.value == "resolved"
