"""Rule 1: unmet need per community in a rolling window on the findings' own time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.events import AlertSeverity
from contracts.vocabulary import SEVERITY_WEIGHTS, Community, Severity, Theme
from services.alerts.domain.rules.unmet_need import finding_weight, people_factor, unmet_need
from services.alerts.domain.thresholds import UnmetNeedThresholds

from .factories import NOW, finding, frec

T = UnmetNeedThresholds()  # window 30 days, amber 15, red 40, alpha 0.05
SOMALI = Community.SOMALI


def decide(*events, t=T, now=NOW, community=SOMALI):
    return unmet_need(community, [frec(e) for e in events], now, t)


@pytest.mark.parametrize("people, factor", [(None, 1.0), (0, 1.0), (1, 1.0), (10, 2.0), (100, 3.0), (10_000, 5.0)])
def test_people_factor(people, factor):
    assert people_factor(people) == pytest.approx(factor)


def test_weight_uses_the_contract_severity_weights():
    for severity, weight in SEVERITY_WEIGHTS.items():
        assert finding_weight(severity, None) == weight
    assert finding_weight(Severity.CRITICAL, 1000) == pytest.approx(16.0)


def test_nothing_in_the_window_is_no_alert():
    assert decide() is None
    assert decide(finding(days_ago=45)) is None


def test_exactly_at_amber_threshold_fires():
    # high (3) x (1 + log10 10,000) = 3 x 5 = 15.0, the amber score exactly.
    outcome = decide(finding(severity=Severity.HIGH, people=10_000))
    assert outcome is not None
    assert outcome.severity is AlertSeverity.AMBER
    assert outcome.evidence["score"] == 15.0
    assert outcome.evidence["triggers"] == ["score"]


def test_just_below_amber_threshold_is_quiet():
    assert decide(finding(severity=Severity.HIGH, people=9_999)) is None


def test_exactly_at_red_threshold_is_red():
    # Two critical findings about 10,000 people: 2 x 4 x 5 = 40. Two against none is no rise.
    outcome = decide(
        finding(severity=Severity.CRITICAL, people=10_000, days_ago=2),
        finding(severity=Severity.CRITICAL, people=10_000, days_ago=3),
    )
    assert outcome.severity is AlertSeverity.RED
    assert outcome.evidence["significant_rise"] is False


def test_window_is_open_at_its_start_and_closed_at_now():
    at_start = finding(at=NOW - timedelta(days=30), severity=Severity.HIGH, people=10_000)
    just_inside = finding(at=NOW - timedelta(days=30) + timedelta(seconds=1), severity=Severity.HIGH, people=10_000)
    at_now = finding(at=NOW, severity=Severity.HIGH, people=10_000)
    future = finding(at=NOW + timedelta(minutes=1), severity=Severity.HIGH, people=10_000)
    assert decide(at_start) is None
    assert decide(just_inside) is not None
    assert decide(at_now) is not None
    assert decide(future) is None


def test_late_event_inside_the_window_counts():
    """A finding that arrives late but occurred 29 days ago is in the window all the same."""
    punctual = finding(days_ago=1, severity=Severity.HIGH, people=100)  # 9
    late = finding(days_ago=29, severity=Severity.HIGH, people=100)  # 9
    assert decide(punctual) is None
    outcome = decide(punctual, late)
    assert outcome.severity is AlertSeverity.AMBER
    assert outcome.evidence["findings"] == 2
    assert str(late.event_id) in {c["event_id"] for c in outcome.evidence["contributions"]}
    assert late.event_id in outcome.event_ids


def test_only_unmet_need_themes_and_the_community_count():
    noise = [
        finding(theme=Theme.STIGMA, severity=Severity.CRITICAL, people=10_000),
        finding(community=Community.IRISH, severity=Severity.CRITICAL, people=10_000),
    ]
    assert decide(*noise) is None
    gap = finding(theme=Theme.SERVICE_GAP, severity=Severity.HIGH, people=10_000)
    assert decide(*noise, gap).evidence["by_theme"] == {"service_gap": 1}


def test_significant_rise_fires_amber_below_the_score_threshold():
    five = [finding(days_ago=d, severity=Severity.LOW) for d in (1, 2, 3, 4, 5)]
    outcome = decide(*five)
    assert outcome.evidence["score"] == 5.0
    assert outcome.severity is AlertSeverity.AMBER
    assert outcome.evidence["triggers"] == ["rise"]
    assert outcome.evidence["rise_p_value"] == pytest.approx(1 / 32, abs=1e-6)
    assert "rise unlikely to be chance" in outcome.detail


def test_four_against_none_is_not_a_significant_rise():
    assert decide(*[finding(days_ago=d, severity=Severity.LOW) for d in (1, 2, 3, 4)]) is None


def test_a_steady_level_is_not_a_rise():
    current = [finding(days_ago=d, severity=Severity.LOW) for d in (1, 2, 3, 4, 5)]
    previous = [finding(days_ago=d, severity=Severity.LOW) for d in (31, 32, 33, 40, 50)]
    outcome = decide(*current, *previous)
    assert outcome is None


def test_previous_window_figures_are_in_the_evidence():
    current = [finding(days_ago=d, severity=Severity.MODERATE) for d in range(1, 11)]
    previous = [finding(days_ago=d, severity=Severity.MODERATE) for d in (35, 45)]
    outcome = decide(*current, *previous)
    assert outcome.severity is AlertSeverity.AMBER
    assert set(outcome.evidence["triggers"]) == {"score", "rise"}
    assert outcome.evidence["previous_findings"] == 2
    assert outcome.evidence["previous_score"] == 4.0
    assert outcome.evidence["rise_p_value"] == pytest.approx(79 / 4096, abs=1e-6)
    assert len(outcome.event_ids) == 10
    assert outcome.subject == "community:somali"


def test_window_length_is_configurable():
    event = finding(days_ago=10, severity=Severity.HIGH, people=10_000)
    assert decide(event, t=UnmetNeedThresholds(window_days=7)) is None
    assert decide(event, t=UnmetNeedThresholds(window_days=14)) is not None


RANK = {None: 0, AlertSeverity.AMBER: 1, AlertSeverity.RED: 2}
findings_strategy = st.lists(
    st.tuples(st.floats(0, 59.9), st.sampled_from(list(Severity)), st.one_of(st.none(), st.integers(0, 20_000))),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(
    existing=findings_strategy,
    extra=st.tuples(st.floats(0, 29.9), st.sampled_from(list(Severity)), st.one_of(st.none(), st.integers(0, 20_000))),
)
def test_one_more_finding_in_the_window_never_lowers_the_alert(existing, extra):
    events = [finding(days_ago=d, severity=s, people=p) for d, s, p in existing]
    before = decide(*events)
    after = decide(*events, finding(days_ago=extra[0], severity=extra[1], people=extra[2]))
    assert RANK[after.severity if after else None] >= RANK[before.severity if before else None]
