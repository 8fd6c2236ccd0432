"""Event models: strict, versioned, and coherent."""
from __future__ import annotations

import copy
import json

import pytest
from pydantic import ValidationError

from contracts.events import (CommunityEngagementFinding, ProviderPerformanceEvent,
                              partner_event_adapter)
from contracts.export import asyncapi_document, drift, json_schemas
from contracts.topics import ALL_TOPICS, INTAKE_TOPIC_FOR_TYPE, cloudevent_headers
from services.intake.examples import FINDING, PERFORMANCE


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


@pytest.mark.parametrize("field, value", [
    ("theme", "vibes"), ("community", "martians"), ("severity", "apocalyptic"),
    ("people_affected", -1), ("finding_source", "rumour"),
])
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
    assert any("unknown area" in msg for _, msg in _errors(CommunityEngagementFinding,
                                                            {**FINDING, "area": "ZZZ"}))


@pytest.mark.parametrize("change, message", [
    ({"period_end": "2026-09-01"}, "period_end is before period_start"),
    ({"numerator": 10, "denominator": None}, "go together"),
    ({"numerator": 300, "denominator": 200}, "larger than denominator"),
    ({"indicator": "funding", "unit": None, "target": None}, "needs funding_committed_gbp"),
    ({"indicator": "contract_end"}, "needs contract_end_date"),
    ({"unit": "gbp"}, "is measured in"),
])
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
    other = CommunityEngagementFinding.model_validate({**FINDING, "source": "black-country-cdw",
                                                       "event_id": "0c9f3c52-57a4-4a59-a0c1-5a3ed1f0e2a1"})
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
