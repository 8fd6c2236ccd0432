"""The mapping, inspectable over HTTP against the running stack: GET /v1/taxonomy reproduces the
CDW guide's table (000:195-264) and POST /v1/mapping/explain answers an example finding with the
rules that fired and their quotes, publishing nothing. Any valid key reads both."""

from __future__ import annotations

import copy
import time
import uuid

import pytest

from contracts.citations import SeedRef, misquoted, parse_citations
from contracts.topics import FINDINGS, MAPPED
from contracts.examples import FINDING, PERFORMANCE
from tests.conftest import bearer, http_json, url
from tests.integration.kafka_probe import records

pytestmark = pytest.mark.integration

#: The seed's table, read off 000:202, 217, 236, 256-258 (step 2's stages as DOMAIN.md decides).
CDW_TABLE = {
    "access_facilitator": (1, [4, 7], [2, 3, 4, 7]),
    "change_agent": (2, [1, 2, 3, 5, 6, 7, 8, 9, 10], [1, 2, 3, 4, 5, 7]),
    "service_developer": (3, [1, 2, 4, 6, 8, 10, 11], [1, 2, 4, 5, 6, 7]),
    "capacity_builder": (4, [1, 2, 3, 5, 6, 7, 9, 10, 11], [1, 6, 7, 8]),
}


def _quotes_hold(cites: list[dict]) -> bool:
    refs = [c for c in parse_citations(cites) if isinstance(c, SeedRef)]
    return bool(refs) and all(misquoted(r) is None for r in refs)


@pytest.mark.parametrize("who", ["pattigift", "bsol-commissioner", "operator"])
def test_taxonomy_reproduces_the_cdw_table_for_any_key(keys, who):
    status, headers, doc = http_json("GET", url("reporting", "/v1/taxonomy"), headers=bearer(keys[who]))
    assert status == 200, doc
    roles = {r["id"]: (r["step"], r["competencies"], r["stages"]) for r in doc["cdw_roles"]}
    assert roles == CDW_TABLE
    assert all(_quotes_hold(r["cites"]) for r in doc["cdw_roles"])
    change_agent = next(r for r in doc["cdw_roles"] if r["id"] == "change_agent")
    assert "1, 2, 3, 4, 5 and 7" in change_agent["reading"]

    assert [s["number"] for s in doc["stages"]] == list(range(1, 9))
    eleven = next(c for c in doc["competencies"] if c["number"] == 11)
    assert eleven["title"] == "Efficiency and effectiveness of spend"
    assert eleven["other_names"] == ["Make sound financial investments"]
    assert {p["id"] for p in doc["plans"]} == {
        "strategic_commissioning_plan",
        "operating_plan",
        "organisational_development_plan",
    }
    assert {d["id"] for d in doc["destinations"]} >= {
        "lit",
        "jsna",
        "lsp_laa",
        "pct_decision_making",
        "provider_workforce_monitoring",
    }
    assert all(_quotes_hold(d["cites"]) for d in doc["destinations"])
    themes = {t["id"]: t for t in doc["themes"]}
    assert themes["community_leadership"]["rule"]["destinations"] == ["lit", "pct_decision_making"]
    assert themes["community_leadership"]["rule"]["plans"] == []
    indicators = {i["id"]: i for i in doc["indicators"]}
    assert indicators["four_week_wait"]["unit"] == "percent"
    assert indicators["four_week_wait"]["polarity"] == "higher_is_better"
    assert indicators["four_week_wait"]["target_source"]["source"] == "local default"
    assert doc["rules_version"]


def test_explain_answers_the_example_finding_with_quotes_and_publishes_nothing(keys):
    event = copy.deepcopy(FINDING)
    event["event_id"] = str(uuid.uuid4())
    status, _, doc = http_json("POST", url("reporting", "/v1/mapping/explain"), event, bearer(keys["pattigift"]))
    assert status == 200, doc
    assert doc["placed"] and doc["event_id"] == event["event_id"]
    assert doc["stages"] and doc["competencies"] and doc["cdw_roles"]
    assert f"theme.{FINDING['data']['theme']}" in doc["rule_ids"]
    assert doc["rules"] and all(_quotes_hold(r["cites"]) for r in doc["rules"])
    assert all(r["why"] for r in doc["rules"])

    time.sleep(2)
    for topic in (FINDINGS.name, MAPPED.name):
        assert event["event_id"].encode() not in b"".join(r.value or b"" for r in records(topic, timeout=30))


def test_explain_a_performance_event(keys):
    status, _, doc = http_json("POST", url("reporting", "/v1/mapping/explain"), PERFORMANCE, bearer(keys["operator"]))
    assert status == 200, doc
    assert f"indicator.{PERFORMANCE['data']['indicator']}" in doc["rule_ids"]


def test_without_a_key_401(keys):
    status, headers, problem = http_json("GET", url("reporting", "/v1/taxonomy"))
    assert status == 401 and headers["content-type"].startswith("application/problem+json")
    status, _, problem = http_json("POST", url("reporting", "/v1/mapping/explain"), FINDING)
    assert status == 401, problem


def test_a_bad_event_is_a_422_naming_the_field(keys):
    bad = copy.deepcopy(FINDING)
    bad["data"]["theme"] = "vibes"
    status, headers, problem = http_json(
        "POST", url("reporting", "/v1/mapping/explain"), bad, bearer(keys["pattigift"])
    )
    assert status == 422 and headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in problem["errors"]] == ["data.theme"]


def test_the_openapi_document_describes_both(stack):
    status, _, doc = http_json("GET", url("reporting", "/openapi.json"))
    assert status == 200
    assert "get" in doc["paths"]["/v1/taxonomy"] and "post" in doc["paths"]["/v1/mapping/explain"]
    assert "422" in doc["paths"]["/v1/mapping/explain"]["post"]["responses"]
