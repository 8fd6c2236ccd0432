"""The mapping as documents: the taxonomy with the rules in force, and one event explained."""

from __future__ import annotations

import copy
from datetime import datetime, timezone

from contracts.citations import SeedRef, misquoted, parse_citations
from contracts.events import CommunityEngagementFinding, ProviderPerformanceEvent
from contracts.vocabulary import Indicator, Theme
from contracts.examples import FINDING, PERFORMANCE
from services.mapping.domain.describe import explanation_document, mapping_document
from services.mapping.domain.ruleset import load

RULES = load()
NOW = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)


def test_the_document_reproduces_the_cdw_table():
    doc = mapping_document(RULES)
    roles = {r["id"]: (r["competencies"], r["stages"]) for r in doc["cdw_roles"]}
    assert roles == {
        "access_facilitator": ([4, 7], [2, 3, 4, 7]),
        "change_agent": ([1, 2, 3, 5, 6, 7, 8, 9, 10], [1, 2, 3, 4, 5, 7]),
        "service_developer": ([1, 2, 4, 6, 8, 10, 11], [1, 2, 4, 5, 6, 7]),
        "capacity_builder": ([1, 2, 3, 5, 6, 7, 9, 10, 11], [1, 6, 7, 8]),
    }
    assert doc["rules_version"] == RULES.version
    assert {t["id"] for t in doc["themes"]} == {t.value for t in Theme}
    assert all(t["rule"] and t["rule"]["cites"] for t in doc["themes"])


def test_indicators_say_unit_polarity_and_where_the_target_comes_from():
    doc = {i["id"]: i for i in mapping_document(RULES)["indicators"]}
    assert set(doc) == {i.value for i in Indicator}
    wait = doc["four_week_wait"]
    assert wait["unit"] == "percent" and wait["polarity"] == "higher_is_better" and wait["default_target"] == 95.0
    assert wait["target_source"]["source"] == "local default"
    assert doc["payment_overdue"]["polarity"] == "lower_is_better"
    assert doc["iapt_access"]["target_source"] is None and doc["iapt_access"]["default_target"] is None


def test_every_quote_in_the_document_is_on_its_lines():
    def cites(value):
        if isinstance(value, dict):
            if "quote" in value and "seed" in value:
                yield value
            for v in value.values():
                yield from cites(v)
        elif isinstance(value, list):
            for v in value:
                yield from cites(v)

    found = list(cites(mapping_document(RULES)))
    assert len(found) > 100
    for ref in parse_citations(found):
        assert misquoted(ref) is None


def test_a_finding_is_explained_with_every_rule_and_its_quotes():
    event = CommunityEngagementFinding.model_validate(FINDING)
    doc = explanation_document(event, RULES, NOW)
    assert doc["placed"] and doc["event_id"] == FINDING["event_id"]
    assert doc["stages"] and doc["competencies"] and doc["rules"]
    assert {r["rule_id"] for r in doc["rules"]} == set(doc["rule_ids"])
    for rule in doc["rules"]:
        refs = [c for c in parse_citations(rule["cites"]) if isinstance(c, SeedRef)]
        assert refs and all(misquoted(c) is None for c in refs)


def test_a_performance_event_is_explained_with_its_indicator_rule():
    event = ProviderPerformanceEvent.model_validate(PERFORMANCE)
    doc = explanation_document(event, RULES, NOW)
    assert f"indicator.{PERFORMANCE['data']['indicator']}" in doc["rule_ids"]


def test_an_event_no_rule_places_says_why():
    rules = RULES.model_copy(update={"themes": tuple(r for r in RULES.themes if r.theme is not Theme.STIGMA)})
    body = copy.deepcopy(FINDING)
    body["data"]["theme"] = "stigma"
    doc = explanation_document(CommunityEngagementFinding.model_validate(body), rules, NOW)
    assert doc["placed"] is False and "stigma" in doc["reason"] and doc["rules"] == []
