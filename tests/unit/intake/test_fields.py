"""fields.leaves: an event's values with their paths, from the model or from its dump alike;
fields.checked: those of them the checks read."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.events import CommunityEngagementFinding, ProviderPerformanceEvent
from contracts.vocabulary import MAX_COUNT
from services.common.admission import privacy
from services.common.admission.fields import CHECKED_TYPES, checked, leaves
from services.common.admission.storable import unstorable_fields
from contracts.examples import FINDING, PERFORMANCE


def test_a_model_gives_the_same_fields_as_its_dump_in_the_same_order():
    for model, example in ((CommunityEngagementFinding, FINDING), (ProviderPerformanceEvent, PERFORMANCE)):
        event = model.model_validate(example)
        assert leaves(event) == leaves(event.model_dump())
        paths = [path for path, _ in leaves(event)]
        assert "data.summary" in paths or "data.indicator" in paths
        assert not any(path == "data" for path in paths)  # nested models are walked into


def test_lists_and_nested_dicts_are_walked_with_their_paths():
    assert leaves({"a": [1, {"b": "x"}], "c": None}) == [("a[0]", 1), ("a[1].b", "x"), ("c", None)]


# What fields.checked keeps is what every check reads: the same findings as the whole walk.
_text = st.one_of(
    st.none(),
    st.text(max_size=60),
    st.sampled_from(
        [
            "call 07700 900123",
            "NHS 943 476 5919",
            "a\x00b",
            "B11 4BW",
            "jo@example.org",
            "born 3 May 1990",
            "ward 6, 2024",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    summary=_text,
    recommendation=_text,
    service=_text,
    people=st.one_of(st.none(), st.integers(min_value=0, max_value=MAX_COUNT)),
    offset=st.integers(min_value=-23, max_value=23),
)
def test_checked_fields_are_the_whole_walk_less_what_no_check_reads(summary, recommendation, service, people, offset):
    body = copy.deepcopy(FINDING)
    body["occurred_at"] = f"2026-11-02T18:30:00{offset:+03d}:00"
    body["data"].update(summary=summary or "x", recommendation=recommendation, service=service, people_affected=people)
    _same_findings(CommunityEngagementFinding.model_validate(body))


@settings(max_examples=200, deadline=None)
@given(
    name=st.text(min_size=1, max_size=60),
    notes=_text,
    value=st.floats(allow_nan=True, allow_infinity=True),
    target=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    year=st.sampled_from([1, 2026, 9999]),
)
def test_the_same_holds_for_performance_events(name, notes, value, target, year):
    body = copy.deepcopy(PERFORMANCE)
    body["occurred_at"] = f"{year:04d}-01-01T00:30:00+01:00" if year == 1 else f"{year:04d}-12-31T23:30:00-01:00"
    body["data"].update(provider_name=name, notes=notes, value=value, target=target)
    try:
        event = ProviderPerformanceEvent.model_validate(body)
    except ValidationError:
        return  # not a valid event: nothing to check
    _same_findings(event)


def _same_findings(event) -> None:
    whole = leaves(event)
    kept = checked(event)
    assert kept == [(path, v) for path, v in whole if type(v) in CHECKED_TYPES]
    assert unstorable_fields(kept) == unstorable_fields(whole)
    assert privacy.scan_fields(kept) == privacy.scan_fields(whole)
