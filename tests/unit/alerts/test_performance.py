"""Rule 3: below target for N consecutive periods, with hysteresis and indicator direction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.events import AlertSeverity
from contracts.vocabulary import INDICATORS, Community, Indicator
from services.alerts.domain.rules.performance import breach_scan, by_period, performance_below_target, target_for
from services.alerts.domain.thresholds import PerformanceThresholds

from .factories import figure, prec

T = PerformanceThresholds()  # N = 3, M = 2, red after 6
WAIT = Indicator.FOUR_WEEK_WAIT  # a local default target of 95%, higher is better


def series(*values, indicator=WAIT, start=0, **kw):
    return [prec(figure(indicator, v, period=start + i, **kw)) for i, v in enumerate(values)]


def decide(history, t=T):
    return performance_below_target(history, t)


# --- the hysteresis scan on plain booleans --------------------------------------------------


@pytest.mark.parametrize(
    "met, breached",
    [
        ([], False),
        ([False, False], False),
        ([False, False, False], True),
        ([False, False, False, True], True),  # one good period does not clear
        ([False, False, False, True, True], False),  # M = 2 good periods do
        ([False, False, False, True, False, True], True),
        ([True, False, False, True, False, False], False),  # misses not in a row
    ],
)
def test_breach_scan(met, breached):
    assert breach_scan(met, fire_after=3, resolve_after=2).breached is breached


def test_breach_scan_reports_runs():
    state = breach_scan([False, False, False, True], 3, 2)
    assert (state.missed_run, state.met_run) == (0, 1)


@given(st.integers(2, 6), st.integers(2, 6), st.integers(1, 40))
def test_alternating_results_never_fire(fire_after, resolve_after, length):
    met = [i % 2 == 0 for i in range(length)]
    assert not breach_scan(met, fire_after, resolve_after).breached


@given(met=st.lists(st.booleans(), max_size=40), fire_after=st.integers(1, 5), resolve_after=st.integers(1, 5))
def test_state_changes_only_after_full_runs(met, fire_after, resolve_after):
    """No flapping: every change of state follows a complete run of the required length."""
    previous = False
    for i in range(1, len(met) + 1):
        now = breach_scan(met[:i], fire_after, resolve_after).breached
        if now and not previous:
            assert met[i - fire_after : i] == [False] * fire_after
        if previous and not now:
            assert met[i - resolve_after : i] == [True] * resolve_after
        previous = now


def test_breach_scan_refuses_zero_runs():
    with pytest.raises(ValueError):
        breach_scan([False], 0, 1)


# --- direction and targets -------------------------------------------------------------------


def test_at_target_meets_it_in_both_directions():
    higher, lower = INDICATORS[Indicator.FOUR_WEEK_WAIT], INDICATORS[Indicator.PAYMENT_OVERDUE]
    assert higher.higher_is_better and not lower.higher_is_better
    assert higher.meets(95, 95)
    assert not higher.meets(94.9, 95)
    assert lower.meets(0, 0)
    assert not lower.meets(1, 0)


def test_target_precedence_area_then_event_then_indicator_default():
    with_event_target = prec(figure(WAIT, 80, target=85))
    plain = prec(figure(WAIT, 80))
    area = PerformanceThresholds(targets={WAIT: 90})
    assert target_for(plain, T) == (INDICATORS[WAIT].default_target, "indicator default")
    assert target_for(with_event_target, T) == (85, "event")
    assert target_for(with_event_target, area) == (90, "area threshold")
    assert target_for(prec(figure(Indicator.IAPT_ACCESS, 40)), T) is None


# --- the rule ------------------------------------------------------------------------------


def test_n_consecutive_periods_below_target_fires_amber():
    assert decide(series(90, 90)) is None
    outcome = decide(series(90, 90, 90))
    assert outcome.severity is AlertSeverity.AMBER
    assert outcome.evidence["missed_run"] == 3
    assert outcome.evidence["target"] == 95.0
    assert outcome.subject == "provider:pattigift/indicator:four_week_wait"
    assert "below target for 3 periods in a row" in outcome.detail


def test_exactly_at_target_is_not_below():
    assert decide(series(95, 95, 95, 95)) is None
    assert decide(series(90, 90, 95)) is None


def test_hysteresis_holds_until_m_periods_back_at_target():
    history = series(90, 90, 90, 96)
    held = decide(history)
    assert held is not None and held.evidence["met_run"] == 1
    assert "back at target for 1 of the 2" in held.detail
    assert decide(series(90, 90, 90, 96, 97)) is None
    assert decide(series(90, 90, 90, 96, 90, 96)) is not None  # no flapping on a mixed run


def test_red_after_red_periods_in_a_row():
    assert decide(series(*[90] * 5)).severity is AlertSeverity.AMBER
    assert decide(series(*[90] * 6)).severity is AlertSeverity.RED


def test_red_when_the_latest_period_is_significantly_below_target():
    history = series(90, 90) + [prec(figure(WAIT, 50, period=2, numerator=50, denominator=100))]
    outcome = decide(history)
    assert outcome.evidence["latest_interval"]["upper"] < 95
    assert outcome.evidence["significantly_worse"] is True
    assert outcome.severity is AlertSeverity.RED


def test_small_numbers_below_target_stay_amber():
    history = series(90, 90) + [prec(figure(WAIT, 93, period=2, numerator=93, denominator=100))]
    outcome = decide(history)
    assert outcome.evidence["latest_interval"]["upper"] > 95
    assert outcome.severity is AlertSeverity.AMBER


def test_lower_is_better_indicator_uses_its_direction():
    # payment_overdue is the contract's "lower is better" indicator (days overdue, target 0).
    spec = INDICATORS[Indicator.PAYMENT_OVERDUE]
    assert spec.higher_is_better is False
    assert decide(series(0, 0, 0, indicator=Indicator.PAYMENT_OVERDUE)) is None
    outcome = decide(series(3, 5, 8, indicator=Indicator.PAYMENT_OVERDUE))
    assert outcome is not None
    assert "above target" in outcome.detail
    higher_ok = decide(series(3, 5, 8, indicator=Indicator.PAYMENT_OVERDUE, target=10))
    assert higher_ok is None


def test_a_restated_period_replaces_the_earlier_statement():
    history = series(90, 90, 90)
    corrected = prec(figure(WAIT, 96, period=2, occurred_at=history[-1].occurred_at + timedelta(days=3)))
    assert decide(history + [corrected]) is None
    assert len(by_period(history + [corrected])) == 3


def test_late_periods_are_placed_by_period_not_arrival():
    history = series(90, 90, 90, 96, 97)
    assert decide(list(reversed(history))) is None
    assert decide([history[i] for i in (4, 0, 2, 1, 3)]) is None
    assert decide(history[:3][::-1]) is not None


def test_area_target_override_changes_the_decision():
    assert decide(series(90, 90, 90), PerformanceThresholds(targets={WAIT: 85})) is None


def test_no_target_anywhere_means_no_judgement():
    assert decide(series(1, 1, 1, indicator=Indicator.IAPT_ACCESS)) is None


def test_per_community_series_has_its_own_subject():
    outcome = decide(series(90, 90, 90, community=Community.PAKISTANI))
    assert outcome.subject.endswith("/community:pakistani")


def test_one_series_at_a_time():
    mixed = series(90, 90, 90) + series(90, provider_id="other-provider")
    with pytest.raises(ValueError, match="one series"):
        decide(mixed)


def test_only_the_last_history_periods_are_judged():
    t = PerformanceThresholds(history_periods=6)
    old_breach = series(90, 90, 90, 90, 90, 90, 96, 90, 96, 90, 96, 90)
    assert decide(old_breach, PerformanceThresholds(history_periods=12)) is not None
    assert decide(old_breach, t) is None


def test_evidence_lists_periods_and_event_ids():
    history = series(90, 91, 92)
    outcome = decide(history)
    assert [p["value"] for p in outcome.evidence["periods"]] == [90, 91, 92]
    assert set(outcome.event_ids) == {r.event_id for r in history}
    assert outcome.evidence["target_source"] == "indicator default"
    assert outcome.evidence["periods"][0]["period_start"] == "2025-01-01"
