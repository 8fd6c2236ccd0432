"""Values the stores downstream cannot keep are found before an event is admitted."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import pytest

from contracts.events import CommunityEngagementFinding, ProviderPerformanceEvent
from services.common.admission.storable import INT32_MAX, INT64_MAX, unstorable
from contracts.examples import FINDING, PERFORMANCE


# A valid event's values with some changed afterwards: the guard looks at every value, including
# ones the contract refuses itself (counts past contracts.vocabulary.MAX_COUNT, say).
def _finding(**data) -> dict:
    event = CommunityEngagementFinding.model_validate(copy.deepcopy(FINDING)).model_dump()
    event["data"].update(data)
    return event


def _performance(**data) -> dict:
    event = ProviderPerformanceEvent.model_validate(copy.deepcopy(PERFORMANCE)).model_dump()
    event["data"].update(data)
    return event


def test_the_examples_are_storable():
    assert unstorable(_finding()) == [] and unstorable(_performance()) == []


def test_nul_in_any_text_is_named():
    found = unstorable(_finding(summary="before\x00after", recommendation="fine"))
    assert [(f.field, f.error()["pointer"]) for f in found] == [("data.summary", "#/data/summary")]
    assert "NUL" in found[0].reason and "before" not in found[0].reason


def test_other_control_characters_are_kept():
    assert unstorable(_finding(summary="tab\tnew line\nbell\x07 escape\x1b")) == []


@pytest.mark.parametrize("people, ok", [(0, True), (INT32_MAX, True), (INT32_MAX + 1, False), (10**18, False)])
def test_people_affected_fits_the_reporting_column(people, ok):
    found = unstorable(_finding(people_affected=people))
    assert (found == []) is ok
    if not ok:
        assert found[0].field == "data.people_affected" and "2,147,483,647" in found[0].reason


def test_other_counts_fit_64_bits():
    assert unstorable(_performance(numerator=INT64_MAX, denominator=INT64_MAX)) == []
    found = unstorable(_performance(numerator=INT64_MAX + 1, denominator=INT64_MAX + 1))
    assert [f.field for f in found] == ["data.numerator", "data.denominator"]


def test_finite_extremes_are_kept():
    assert (
        unstorable(
            _performance(indicator="eip_new_cases", value=1.7e308, target=1.7e308, numerator=None, denominator=None)
        )
        == []
    )


@pytest.mark.parametrize(
    "when, ok",
    [
        ("0001-01-01T00:00:00+00:00", True),
        ("0001-01-01T00:00:00+23:59", False),  # 31 December of year 0 in UTC
        ("0001-01-02T00:00:00+23:59", True),
    ],
)
def test_a_time_must_exist_in_utc(when, ok):
    event = _finding()
    event["occurred_at"] = datetime.fromisoformat(when)
    found = unstorable(event)
    assert (found == []) is ok
    if not ok:
        assert found[0].field == "occurred_at" and "UTC" in found[0].reason


def test_the_far_end_of_the_calendar():
    event = _finding()
    event["occurred_at"] = datetime(9999, 12, 31, 23, 59, tzinfo=timezone(-timedelta(hours=23)))
    assert [f.field for f in unstorable(event)] == ["occurred_at"]


def test_nested_lists_are_named_by_index():
    found = unstorable({"data": {"notes": ["ok", "x\x00"]}})
    assert [(f.field, f.error()["pointer"]) for f in found] == [("data.notes[1]", "#/data/notes/1")]
