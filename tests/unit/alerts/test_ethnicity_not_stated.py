"""Ethnicity recording completeness counts "not stated" as not known (contract 1.1.0).

The seed's own example: an inpatient data set with 98.8% valid ethnicity codes, which "could be
misleading as some of the codes may be under the category 'not stated'" (001:685). With the
valid, not stated and missing counts the platform judges the share of records whose ethnicity
is known; an event with only a percentage is judged on it as before.
"""

from __future__ import annotations

import copy

import pytest
from pydantic import ValidationError

from contracts.citations import misquoted, seed
from contracts.events import AlertSeverity, ProviderPerformanceEvent
from contracts.vocabulary import Indicator
from services.alerts.domain.rules.race_equality import ethnicity_recording_gap
from services.alerts.domain.state import AreaState, apply, evaluate
from services.alerts.domain.thresholds import RaceEqualityThresholds
from contracts.examples import PERFORMANCE

from .factories import AREA, NOW, figure, prec

T = RaceEqualityThresholds()
SEED_EXAMPLE = seed(
    "001",
    685,
    "98.8% valid ethnicity codes recorded against the patient records. "
    "This could be misleading as some of the codes may be under the "
    "category \u2018not stated\u2019",
)
#: 1,000 inpatient records: 988 valid codes (98.8%), 150 of them "not stated", 12 missing.
COUNTS = {"valid": 988, "not_stated": 150, "missing": 12}


def recording(value: float, counts: dict | None):
    event = figure(Indicator.ETHNICITY_RECORDING_COMPLETENESS, value)
    if counts is None:
        return event
    body = event.model_dump(mode="json")
    body["data"]["ethnicity"] = counts
    return ProviderPerformanceEvent.model_validate(body)


def test_the_seed_says_so():
    assert misquoted(SEED_EXAMPLE) is None


def test_the_seed_example_with_much_not_stated_raises_the_alert():
    event = recording(98.8, COUNTS)
    assert event.data.ethnicity.valid_percent == pytest.approx(98.8)
    assert event.data.measured == pytest.approx(83.8)
    outcome = ethnicity_recording_gap(prec(event), T)
    assert outcome is not None and outcome.severity is AlertSeverity.AMBER
    assert outcome.evidence["completeness_percent"] == pytest.approx(83.8)
    assert outcome.evidence["reported_value"] == 98.8
    assert (outcome.evidence["not_stated"], outcome.evidence["numerator"], outcome.evidence["denominator"]) == (
        150,
        838,
        1000,
    )
    assert "83.8% of records have a known ethnic category" in outcome.detail
    assert "98.8% have a valid code" in outcome.detail and "not stated" in outcome.detail


def test_the_same_percentage_alone_is_judged_as_before():
    assert ethnicity_recording_gap(prec(recording(98.8, None)), T) is None
    outcome = ethnicity_recording_gap(prec(recording(80.0, None)), T)
    assert outcome.evidence["completeness_percent"] == 80.0
    assert "80% of records have a valid ethnic category" in outcome.detail


def test_little_not_stated_is_complete_and_most_not_stated_is_red():
    assert ethnicity_recording_gap(prec(recording(98.8, {**COUNTS, "not_stated": 20})), T) is None
    red = ethnicity_recording_gap(prec(recording(98.8, {**COUNTS, "not_stated": 400})), T)
    assert red.severity is AlertSeverity.RED  # 58.8% known, below 75


def test_the_area_state_raises_it_too():
    state = apply(AreaState(area=AREA), recording(98.8, COUNTS))
    rules = {c.rule.value for c in evaluate(state, NOW)}
    assert "ethnicity_data_gap" in rules


def _perf(ethnicity) -> dict:
    body = copy.deepcopy(PERFORMANCE)
    body["data"].update(
        indicator="ethnicity_recording_completeness",
        value=98.8,
        target=None,
        numerator=None,
        denominator=None,
        unit=None,
        ethnicity=ethnicity,
    )
    return body


def test_an_event_without_counts_is_still_accepted():
    body = _perf(None)
    del body["data"]["ethnicity"]
    data = ProviderPerformanceEvent.model_validate(body).data
    assert data.ethnicity is None and data.measured == 98.8


@pytest.mark.parametrize(
    "counts, reason",
    [
        ({"valid": 10, "not_stated": 11, "missing": 0}, "not_stated is counted within valid"),
        ({"valid": 0, "not_stated": 0, "missing": 0}, "count no records"),
        ({"valid": 10, "not_stated": 1}, "Field required"),
        ({"valid": -1, "not_stated": 0, "missing": 1}, "greater than or equal to 0"),
        ({"valid": 10, "not_stated": 1, "missing": 0, "unknown": 1}, "Extra inputs"),
    ],
)
def test_incoherent_counts_are_refused_naming_the_field(counts, reason):
    with pytest.raises(ValidationError) as info:
        ProviderPerformanceEvent.model_validate(_perf(counts))
    errors = info.value.errors()
    assert any(".".join(map(str, e["loc"])).startswith("data.ethnicity") and reason in e["msg"] for e in errors), errors


def test_counts_go_with_the_ethnicity_indicator_only():
    body = _perf(COUNTS)
    body["data"]["indicator"] = "four_week_wait"
    with pytest.raises(ValidationError, match="ethnicity counts go with"):
        ProviderPerformanceEvent.model_validate(body)
