"""Thresholds: defaults with their sources, and refusal of thresholds that make no sense."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from contracts.citations import LocalDefault
from contracts.vocabulary import INDICATORS, Indicator, ProviderSector
from services.alerts.domain.thresholds import (
    DEFAULT_THRESHOLDS,
    PERFORMANCE_INDICATORS,
    AreaThresholds,
    FundingFlowThresholds,
    FundingThresholds,
    PerformanceThresholds,
    RaceEqualityThresholds,
    RecommendationThresholds,
    SilenceThresholds,
    UnmetNeedThresholds,
    threshold_citations,
    threshold_sources,
)

from .factories import SEED_REF, check_seed_refs


def test_defaults_the_issue_and_contracts_name():
    t = DEFAULT_THRESHOLDS
    assert t.unmet_need.window_days == 30
    assert t.funding.contract_ending_days == 90
    assert t.funding.sectors == frozenset({ProviderSector.VOLUNTARY})
    assert t.race_equality.z == 1.96
    assert t.race_equality.completeness_below == INDICATORS[Indicator.ETHNICITY_RECORDING_COMPLETENESS].default_target
    assert t.race_equality.under_use_ratio == 1.0
    assert t.retention_days == 60


def test_every_threshold_states_its_source():
    sources = threshold_sources()
    fields = sum(
        len(m.model_fields)
        for m in (
            UnmetNeedThresholds,
            FundingThresholds,
            PerformanceThresholds,
            RaceEqualityThresholds,
            SilenceThresholds,
            RecommendationThresholds,
            FundingFlowThresholds,
        )
    )
    assert len(sources) == fields
    for name, source in sources.items():
        assert SEED_REF.search(source) or "local default" in source, (
            f"{name} has no seed line and is not called a default"
        )


def test_seed_references_point_at_real_lines():
    assert sum(check_seed_refs(source) for source in threshold_sources().values()) >= 5


@pytest.mark.parametrize(
    "name",
    [
        "unmet_need.window_days",
        "performance.consecutive_periods",
        "silence.silent_after_days",
        "performance.targets",
        "race_equality.completeness_below",
        "race_equality.under_use_ratio",
    ],
)
def test_figures_the_seeds_do_not_give_are_local_defaults_citing_no_seed(name):
    # The monthly cadence once cited 001:940, which finds monthly reports "too onerous"; the
    # targets cited 004:623 and 001:685, which give the measure and no figure.
    cites = threshold_citations()[name]
    assert cites and all(isinstance(c, LocalDefault) for c in cites), cites


@pytest.mark.parametrize(
    "model, values, field",
    [
        (UnmetNeedThresholds, {"window_days": 0}, "window_days"),
        (UnmetNeedThresholds, {"window_days": -7}, "window_days"),
        (UnmetNeedThresholds, {"amber_score": -1}, "amber_score"),
        (UnmetNeedThresholds, {"amber_score": 50, "red_score": 40}, "red_score"),
        (UnmetNeedThresholds, {"rise_alpha": 0.0}, "rise_alpha"),
        (FundingThresholds, {"shortfall_tolerance": 1.0}, "shortfall_tolerance"),
        (FundingThresholds, {"shortfall_tolerance": 1.5}, "shortfall_tolerance"),
        (FundingThresholds, {"shortfall_tolerance": -0.1}, "shortfall_tolerance"),
        (FundingThresholds, {"shortfall_tolerance": 0.3, "red_shortfall": 0.2}, "red_shortfall"),
        (FundingThresholds, {"contract_ending_days": -90}, "contract_ending_days"),
        (FundingThresholds, {"contract_ending_days": 20}, "red_contract_ending_days"),
        (FundingThresholds, {"payment_overdue_days": 40}, "red_payment_overdue_days"),
        (FundingThresholds, {"sectors": []}, "sectors"),
        (PerformanceThresholds, {"consecutive_periods": 0}, "consecutive_periods"),
        (PerformanceThresholds, {"resolve_periods": 0}, "resolve_periods"),
        (PerformanceThresholds, {"consecutive_periods": 8}, "red_periods"),
        (PerformanceThresholds, {"targets": {"funding": 1.0}}, "funding"),
        (PerformanceThresholds, {"targets": {"four_week_wait": 120}}, "four_week_wait"),
        (PerformanceThresholds, {"targets": {"eip_new_cases": -5}}, "eip_new_cases"),
        (PerformanceThresholds, {"targets": {"no_such_indicator": 5}}, "targets"),
        (RaceEqualityThresholds, {"completeness_below": 101}, "completeness_below"),
        (RaceEqualityThresholds, {"completeness_below": 70}, "red_completeness_below"),
        (RaceEqualityThresholds, {"under_use_ratio": 1.2}, "under_use_ratio"),
        (RaceEqualityThresholds, {"under_use_ratio": 0.4}, "red_under_use_ratio"),
        (RaceEqualityThresholds, {"z": 0}, "z"),
        (SilenceThresholds, {"silent_after_days": 0}, "silent_after_days"),
        (SilenceThresholds, {"min_reports": 1}, "min_reports"),
        (SilenceThresholds, {"red_factor": 1.0}, "red_factor"),
    ],
)
def test_nonsense_thresholds_are_refused_naming_the_field(model, values, field):
    with pytest.raises(ValidationError) as caught:
        model.model_validate(values)
    assert field in str(caught.value)


def test_unknown_threshold_names_are_refused():
    with pytest.raises(ValidationError, match="window_dayz"):
        UnmetNeedThresholds.model_validate({"window_dayz": 14})
    with pytest.raises(ValidationError, match="unmet_needs"):
        AreaThresholds.model_validate({"unmet_needs": {}})


def test_partial_area_thresholds_keep_the_other_defaults():
    t = AreaThresholds.model_validate(
        {"unmet_need": {"window_days": 14}, "performance": {"targets": {"four_week_wait": 90}}}
    )
    assert t.unmet_need.window_days == 14
    assert t.unmet_need.amber_score == DEFAULT_THRESHOLDS.unmet_need.amber_score
    assert t.funding == DEFAULT_THRESHOLDS.funding
    assert t.performance.targets == {Indicator.FOUR_WEEK_WAIT: 90}
    assert AreaThresholds.model_validate_json(t.model_dump_json()) == t


def test_equal_amber_and_red_is_allowed():
    assert UnmetNeedThresholds(amber_score=20, red_score=20).red_score == 20


def test_performance_indicators_exclude_funding_and_race_equality():
    assert Indicator.FOUR_WEEK_WAIT in PERFORMANCE_INDICATORS
    assert Indicator.SEVEN_DAY_FOLLOW_UP in PERFORMANCE_INDICATORS
    assert not PERFORMANCE_INDICATORS & {
        Indicator.FUNDING,
        Indicator.CONTRACT_END,
        Indicator.PAYMENT_OVERDUE,
        Indicator.ETHNICITY_RECORDING_COMPLETENESS,
        Indicator.UTILISATION_BY_ETHNIC_GROUP,
    }


@pytest.mark.parametrize(
    "overrides",
    [
        {"unmet_need": {"amber_score": 1, "red_score": float("inf")}},
        {"unmet_need": {"amber_score": float("nan")}},
        {"unmet_need": {"rise_alpha": float("nan")}},
        {"performance": {"targets": {"four_week_wait": float("nan")}}},
        {"performance": {"targets": {"four_week_wait": float("-inf")}}},
    ],
)
def test_non_finite_numbers_are_not_thresholds(overrides):
    with pytest.raises(ValidationError, match="finite"):
        AreaThresholds.model_validate(overrides)


def test_a_stored_row_that_does_not_read_back_leaves_the_defaults():
    from services.alerts.adapters.store import stored_thresholds

    assert stored_thresholds("NHAM", '{"unmet_need": {"red_score": null}}') == (DEFAULT_THRESHOLDS, False)
    raised = stored_thresholds("NHAM", '{"unmet_need": {"red_score": 50}}')
    assert raised[1] and raised[0].unmet_need.red_score == 50
