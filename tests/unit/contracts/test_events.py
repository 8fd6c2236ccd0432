"""Event models: strict, versioned, and coherent."""

from __future__ import annotations

import copy
import json

import pytest
from pydantic import ValidationError

from contracts.events import CommunityEngagementFinding, ProviderPerformanceEvent, partner_event_adapter
from contracts.export import asyncapi_document, drift, json_schemas
from contracts.topics import ALL_TOPICS, INTAKE_TOPIC_FOR_TYPE, cloudevent_headers
from contracts.vocabulary import MAX_COUNT, MAX_GBP, UNIT_RANGES, Unit, outside_range
from contracts.examples import FINDING, PERFORMANCE


def _headers(event) -> dict[str, bytes]:
    return dict(cloudevent_headers(str(event.event_id), event.source, event.type, event.occurred_at.isoformat()))


def _errors(model, body) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(body)
    return [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in info.value.errors()]


def test_examples_are_valid_and_discriminated_by_type():
    assert isinstance(partner_event_adapter.validate_python(FINDING), CommunityEngagementFinding)
    assert isinstance(partner_event_adapter.validate_python(PERFORMANCE), ProviderPerformanceEvent)


def test_unknown_fields_are_refused_not_dropped():
    body = copy.deepcopy(FINDING)
    body["data"]["sumary"] = "typo"
    assert any(loc == "data.sumary" for loc, _ in _errors(CommunityEngagementFinding, body))


@pytest.mark.parametrize(
    "field, value",
    [
        ("theme", "vibes"),
        ("community", "martians"),
        ("severity", "apocalyptic"),
        ("people_affected", -1),
        ("finding_source", "rumour"),
    ],
)
def test_bad_finding_fields_are_named(field, value):
    body = copy.deepcopy(FINDING)
    body["data"][field] = value
    assert any(loc == f"data.{field}" for loc, _ in _errors(CommunityEngagementFinding, body))


def test_naive_timestamps_are_refused():
    body = {**FINDING, "occurred_at": "2026-11-02T18:30:00"}
    assert any(loc == "occurred_at" for loc, _ in _errors(CommunityEngagementFinding, body))


def test_area_must_belong_to_region():
    body = {**FINDING, "area": "SOM"}  # Somerset is in the south west, not the west midlands
    assert any("south_west" in msg for _, msg in _errors(CommunityEngagementFinding, body))
    assert any("unknown area" in msg for _, msg in _errors(CommunityEngagementFinding, {**FINDING, "area": "ZZZ"}))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"period_end": "2026-09-01"}, "period_end is before period_start"),
        ({"numerator": 10, "denominator": None}, "go together"),
        ({"numerator": 300, "denominator": 200}, "larger than denominator"),
        ({"indicator": "funding", "unit": None, "target": None}, "needs funding_committed_gbp"),
        ({"indicator": "contract_end"}, "needs contract_end_date"),
        ({"unit": "gbp"}, "is measured in"),
    ],
)
def test_performance_coherence(change, message):
    body = copy.deepcopy(PERFORMANCE)
    body["data"].update(change)
    assert any(message in msg for _, msg in _errors(ProviderPerformanceEvent, body))


def test_models_are_frozen():
    event = CommunityEngagementFinding.model_validate(FINDING)
    with pytest.raises(ValidationError):
        event.area = "BLKC"


def test_every_partner_type_has_an_intake_topic_keyed_by_area():
    event = CommunityEngagementFinding.model_validate(FINDING)
    assert INTAKE_TOPIC_FOR_TYPE[event.type].name in {t.name for t in ALL_TOPICS}
    assert event.partition_key == b"BSOL"
    headers = _headers(event)
    assert headers["ce_id"] == str(event.event_id).encode()
    assert headers["ce_type"] == event.type.encode()
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_source"] == b"pattigift" and headers["ce_time"] == event.occurred_at.isoformat().encode()
    # Each event's own source and id, whatever was built for the one before.
    other = CommunityEngagementFinding.model_validate(
        {**FINDING, "source": "black-country-cdw", "event_id": "0c9f3c52-57a4-4a59-a0c1-5a3ed1f0e2a1"}
    )
    again = _headers(other)
    assert again["ce_source"] == b"black-country-cdw" and again["ce_id"] == b"0c9f3c52-57a4-4a59-a0c1-5a3ed1f0e2a1"
    assert _headers(event)["ce_source"] == b"pattigift"


def test_generated_schemas_and_asyncapi_match_the_models():
    assert drift() == [], "run `make schemas` and commit contracts/schemas and contracts/asyncapi.json"


def test_json_schema_refuses_unknown_fields_like_the_model():
    schemas = json_schemas()
    finding = next(s for name, s in schemas.items() if "CommunityEngagementFinding" in name)
    assert finding.get("additionalProperties") is False


def test_asyncapi_names_every_topic_with_its_key():
    doc = asyncapi_document()
    assert doc["asyncapi"].startswith("3.")
    addresses = {c["address"] for c in doc["channels"].values()}
    assert addresses == {t.name for t in ALL_TOPICS}
    json.dumps(doc)  # serialisable


# --- values and dates no measure can have (security issue, item 3) ---------------------------


def _performance_errors(**data) -> list[tuple[str, str]]:
    body = copy.deepcopy(PERFORMANCE)
    body["data"].update(data)
    return _errors(ProviderPerformanceEvent, body)


@pytest.mark.parametrize(
    "data,field",
    [
        ({"value": -5.0}, "data.value"),  # a percentage of -5
        ({"value": 100.5}, "data.value"),
        ({"target": 101.0}, "data.target"),
        (
            {"indicator": "eip_new_cases", "unit": None, "numerator": None, "denominator": None, "value": -1.0},
            "data.value",
        ),  # a negative count
        ({"value": float("nan")}, "data.value"),
        ({"value": float("inf")}, "data.value"),
        ({"value": "81.5"}, "data.value"),  # text is not a number
        ({"numerator": "163"}, "data.numerator"),
        ({"period_start": "0001-01-01"}, "data.period_start"),
        ({"period_end": "9999-12-31"}, "data.period_end"),
        (
            {
                "indicator": "contract_end",
                "unit": None,
                "numerator": None,
                "denominator": None,
                "value": 30.0,
                "contract_end_date": "2101-01-01",
            },
            "data.contract_end_date",
        ),
        ({"renewal_recorded": "yes"}, "data.renewal_recorded"),
    ],
)
def test_values_and_dates_no_measure_can_have_are_refused_naming_the_field(data, field):
    assert field in [loc for loc, _ in _performance_errors(**data)]


def test_a_finding_counts_people_in_a_json_number():
    body = copy.deepcopy(FINDING)
    body["data"]["people_affected"] = "12"
    assert "data.people_affected" in [loc for loc, _ in _errors(CommunityEngagementFinding, body)]


def test_nothing_happened_before_2000():
    body = copy.deepcopy(FINDING)
    body["occurred_at"] = "0001-01-01T00:00:00Z"
    assert "occurred_at" in [loc for loc, _ in _errors(CommunityEngagementFinding, body)]
    body["occurred_at"] = "2000-01-01T00:00:00Z"
    assert CommunityEngagementFinding.model_validate(body).occurred_at.year == 2000


def test_the_edges_of_each_range_are_measures():
    body = copy.deepcopy(PERFORMANCE)
    body["data"].update(value=0.0, target=100.0, period_start="2000-01-01", period_end="2000-01-31")
    assert ProviderPerformanceEvent.model_validate(body).data.value == 0.0
    body["data"].update(value=100, target=0)  # a whole number is a number
    assert ProviderPerformanceEvent.model_validate(body).data.value == 100.0


@pytest.mark.parametrize(
    "data,field",
    [
        ({"numerator": MAX_COUNT + 1, "denominator": MAX_COUNT + 1}, "data.numerator"),
        (
            {
                "indicator": "eip_new_cases",
                "unit": None,
                "numerator": None,
                "denominator": None,
                "value": MAX_COUNT + 1.0,
            },
            "data.value",
        ),
        (
            {
                "indicator": "funding",
                "unit": None,
                "numerator": None,
                "denominator": None,
                "target": None,
                "value": 1.0,
                "funding_committed_gbp": 1.7e308,
                "funding_required_gbp": 1.7e308,
            },
            "data.funding_committed_gbp",
        ),  # totals of these were infinite
        (
            {
                "indicator": "utilisation_by_ethnic_group",
                "unit": None,
                "value": 2e6,
                "target": 1.0,
                "community": "somali",
                "population_share": 0.05,
            },
            "data.value",
        ),
    ],
)
def test_counts_and_money_stay_below_the_bounds_every_total_can_carry(data, field):
    assert field in [loc for loc, _ in _performance_errors(**data)]


def test_the_upper_edges_of_counts_and_money_are_measures():
    body = copy.deepcopy(PERFORMANCE)
    body["data"].update(
        indicator="funding",
        value=MAX_GBP,
        target=None,
        numerator=MAX_COUNT,
        denominator=MAX_COUNT,
        funding_committed_gbp=MAX_GBP,
        funding_required_gbp=MAX_GBP,
    )
    assert ProviderPerformanceEvent.model_validate(body).data.funding_required_gbp == MAX_GBP


@pytest.mark.parametrize(
    "field,value",
    [
        ("occurred_at", 1_793_437_200),  # seconds since 1970 were read as a time
        ("occurred_at", "1793437200"),
        ("data.period_start", 1_790_812_800),  # midnight on 2026-10-01, in seconds
        ("data.period_start", "20261001"),
        ("data.period_end", "2026-10-31T00:00:00Z"),  # a time is not a date
    ],
)
def test_dates_and_times_are_written_as_text(field, value):
    body = copy.deepcopy(PERFORMANCE)
    *parents, name = field.split(".")
    target = body
    for parent in parents:
        target = target[parent]
    target[name] = value
    assert field in [loc for loc, _ in _errors(ProviderPerformanceEvent, body)]
    # Read from JSON text as intake reads a body, too.
    with pytest.raises(ValidationError) as refused:
        ProviderPerformanceEvent.model_validate_json(json.dumps(body))
    assert field in [".".join(map(str, e["loc"])) for e in refused.value.errors()]


def test_outside_range_names_each_units_bounds():
    assert outside_range(Unit.PERCENT, -5.0) == "a value in percent is at least 0"
    assert outside_range(Unit.GBP, MAX_GBP * 2) == "a value in gbp is at most 1,000,000,000,000"
    assert outside_range(Unit.DAYS, -30.0) is None  # a contract that ended 30 days ago
    assert all(
        outside_range(unit, low) is None and outside_range(unit, high) is None
        for unit, (low, high) in UNIT_RANGES.items()
    )
