"""Rule 4: ethnicity recording completeness and under-use against population share."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.events import AlertSeverity
from contracts.vocabulary import Community, Indicator
from services.alerts.domain.rules.race_equality import ethnicity_recording_gap, under_use
from services.alerts.domain.stats import wilson_interval
from services.alerts.domain.thresholds import RaceEqualityThresholds

from .factories import figure, prec

T = RaceEqualityThresholds()  # completeness 90 / red 75; under-use below 1.0 / red below 0.5


def completeness(value):
    return prec(figure(Indicator.ETHNICITY_RECORDING_COMPLETENESS, value))


def use(group_users, all_users, share, community=Community.PAKISTANI):
    ratio = (group_users / all_users) / share if all_users and share else 0.0
    return prec(
        figure(
            Indicator.UTILISATION_BY_ETHNIC_GROUP,
            ratio,
            numerator=group_users,
            denominator=all_users,
            community=community,
            population_share=share,
        )
    )


def test_completeness_exactly_at_threshold_is_not_below():
    assert ethnicity_recording_gap(completeness(90.0), T) is None


def test_completeness_below_threshold_fires():
    outcome = ethnicity_recording_gap(completeness(89.9), T)
    assert outcome.severity is AlertSeverity.AMBER
    assert outcome.subject == "provider:pattigift"
    assert ethnicity_recording_gap(completeness(75.0), T).severity is AlertSeverity.AMBER
    assert ethnicity_recording_gap(completeness(74.9), T).severity is AlertSeverity.RED


def test_completeness_threshold_is_configurable():
    strict = RaceEqualityThresholds(completeness_below=99.0, red_completeness_below=95.0)
    assert ethnicity_recording_gap(completeness(98.8), strict) is not None  # 001:685


def test_under_use_fires_when_the_interval_excludes_parity():
    # 81/263 users (Newcombe's 0.2553-0.3662) against half the population: 0.51-0.73 of parity.
    outcome = under_use(use(81, 263, 0.5), T)
    assert outcome.severity is AlertSeverity.AMBER
    assert outcome.evidence["ratio_lower"] == pytest.approx(0.2553 / 0.5, abs=1e-3)
    assert outcome.evidence["ratio_upper"] == pytest.approx(0.3662 / 0.5, abs=1e-3)
    assert outcome.subject == "provider:pattigift/community:pakistani"
    assert "95% interval" in outcome.detail


def test_a_shortfall_chance_could_explain_is_not_flagged():
    # 5 of 10 users against 60% of the population: a ratio of 0.83, but the interval reaches 1.27.
    record = use(5, 10, 0.6)
    assert record.data.value < 1.0
    assert under_use(record, T) is None


def test_upper_bound_exactly_at_parity_does_not_exclude_it():
    upper = wilson_interval(81, 263).upper
    assert under_use(use(81, 263, upper), T) is None  # upper / share == 1.0
    assert under_use(use(81, 263, upper * 1.001), T) is not None


def test_severe_under_use_is_red():
    outcome = under_use(use(5, 263, 0.5), T)
    assert outcome.evidence["ratio_upper"] < 0.5
    assert outcome.severity is AlertSeverity.RED


def test_no_counts_no_judgement():
    bare = prec(figure(Indicator.UTILISATION_BY_ETHNIC_GROUP, 0.2, community=Community.CHINESE, population_share=0.1))
    assert under_use(bare, T) is None
    assert under_use(use(0, 0, 0.5), T) is None


def test_rules_read_only_their_own_indicator():
    assert under_use(completeness(10), T) is None
    assert ethnicity_recording_gap(use(1, 100, 0.5), T) is None


@given(n=st.integers(1, 2000), data=st.data(), share=st.floats(0.01, 1.0))
def test_fires_exactly_when_upper_bound_below_parity(n, data, share):
    x = data.draw(st.integers(0, n))
    outcome = under_use(use(x, n, share), T)
    assert (outcome is not None) == (wilson_interval(x, n).upper / share < 1.0)
