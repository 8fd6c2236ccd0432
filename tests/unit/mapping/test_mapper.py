"""The mapping is a pure function of the event and the rule set; every answer is explainable."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

import yaml
from hypothesis import given, settings, strategies as st

from contracts.events import CommunityEngagementFinding, DeadLetter, MappedEvent, ProviderPerformanceEvent
from contracts.citations import LocalDefault, SeedRef, misquoted
from contracts.taxonomy import CDW_ROLES, CDWRole, Competency, Destination, Plan, Stage
from contracts.topics import DEADLETTER, MAPPED
from contracts.vocabulary import Community, Indicator, ProviderSector, Severity, Theme
from contracts.examples import FINDING, PERFORMANCE
from services.mapping.domain.mapper import Unplaceable, explain, map_event
from services.mapping.domain.records import handle
from services.mapping.domain.ruleset import DEFAULT_RULES, load, parse

NOW = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)
RULES = load()


def finding(**data) -> CommunityEngagementFinding:
    body = copy.deepcopy(FINDING)
    body["data"].update({k: (v.value if hasattr(v, "value") else v) for k, v in data.items()})
    return CommunityEngagementFinding.model_validate(body)


def performance(**data) -> ProviderPerformanceEvent:
    body = copy.deepcopy(PERFORMANCE)
    body["data"].update({k: (v.value if hasattr(v, "value") else v) for k, v in data.items()})
    return ProviderPerformanceEvent.model_validate(body)


def test_shipped_rule_set_covers_every_theme_and_indicator():
    assert {r.theme for r in RULES.themes} == set(Theme)
    assert {r.indicator for r in RULES.indicators} == set(Indicator)


def test_language_barrier_is_access_facilitator_work():
    mapped = map_event(finding(theme=Theme.ACCESS_AND_LANGUAGE_BARRIERS, cdw_role=None), RULES, NOW)
    assert isinstance(mapped, MappedEvent)
    assert mapped.cdw_roles == [CDWRole.ACCESS_FACILITATOR]
    assert (
        set(mapped.stages)
        == set(CDW_ROLES[CDWRole.ACCESS_FACILITATOR].stages)
        == {Stage(2), Stage(3), Stage(4), Stage(7)}
    )
    assert set(mapped.competencies) == {Competency(4), Competency(7)}
    assert mapped.rule_ids == ["theme.access_and_language_barriers"]
    assert mapped.rules_version == RULES.version


def test_reported_role_adds_its_stages_with_its_own_rule_id():
    mapped = map_event(finding(theme=Theme.ACCESS_AND_LANGUAGE_BARRIERS, cdw_role=CDWRole.CAPACITY_BUILDER), RULES, NOW)
    assert mapped.cdw_roles == [CDWRole.ACCESS_FACILITATOR, CDWRole.CAPACITY_BUILDER]
    assert Stage.MANAGING_PERFORMANCE in mapped.stages  # from the capacity builder
    assert "role.capacity_builder" in mapped.rule_ids


def test_seven_day_follow_up_is_managing_performance():
    mapped = map_event(performance(indicator=Indicator.SEVEN_DAY_FOLLOW_UP), RULES, NOW)
    assert Stage.MANAGING_PERFORMANCE in mapped.stages
    assert Competency.MANAGE_THE_LOCAL_HEALTH_SYSTEM in mapped.competencies
    assert mapped.cdw_roles == []


def test_voluntary_funding_gap_reaches_prioritising_investment():
    event = performance(
        indicator=Indicator.FUNDING,
        unit=None,
        target=None,
        numerator=None,
        denominator=None,
        value=0.6,
        funding_committed_gbp=60000,
        funding_required_gbp=100000,
        provider_sector=ProviderSector.VOLUNTARY,
    )
    mapped = map_event(event, RULES, NOW)
    assert Competency.PRIORITISE_INVESTMENT in mapped.competencies
    assert any(r.startswith("sector.") for r in mapped.rule_ids)


def test_every_firing_explains_itself_with_a_quoted_seed_reference():
    result = explain(finding(theme=Theme.UNMET_NEED), RULES)
    assert result.firings
    for f in result.firings:
        refs = [c for c in f.cites if isinstance(c, SeedRef)]
        assert len(f.why) > 20 and refs and all(misquoted(c) is None for c in refs)


def test_provider_staff_training_goes_to_workforce_monitoring_not_the_commissioners_own_plan():
    mapped = map_event(finding(theme=Theme.STAFF_TRAINING, cdw_role=None), RULES, NOW)
    assert Plan.ORGANISATIONAL_DEVELOPMENT_PLAN not in mapped.plans
    assert mapped.destinations == [Destination.PROVIDER_WORKFORCE_MONITORING]


def test_community_leaders_go_to_the_lit_and_pct_decision_making():
    mapped = map_event(finding(theme=Theme.COMMUNITY_LEADERSHIP, cdw_role=None), RULES, NOW)
    assert Plan.ORGANISATIONAL_DEVELOPMENT_PLAN not in mapped.plans
    assert mapped.destinations == [Destination.LOCAL_IMPLEMENTATION_TEAM, Destination.PCT_DECISION_MAKING]


def test_no_rule_routes_to_the_organisational_development_plan():
    # 000:191 and 002:1217: it is the commissioner's own capability plan.
    rules = (*RULES.themes, *RULES.indicators, *RULES.sectors)
    assert all(Plan.ORGANISATIONAL_DEVELOPMENT_PLAN not in r.plans for r in rules)


def test_evidence_for_decommissioning_includes_the_change_agent():
    mapped = map_event(finding(theme=Theme.EVIDENCE_FOR_DECOMMISSIONING, cdw_role=None), RULES, NOW)
    assert mapped.cdw_roles == [CDWRole.ACCESS_FACILITATOR, CDWRole.CHANGE_AGENT, CDWRole.CAPACITY_BUILDER]


def test_every_destination_is_reached_by_some_rule():
    reached = {d for r in (*RULES.themes, *RULES.indicators, *RULES.sectors) for d in r.destinations}
    assert reached == set(Destination)


def test_a_record_mapped_before_destinations_still_parses():
    good = handle(json.dumps(FINDING).encode(), b"BSOL", "intake.findings.v1", 0, 7, RULES, NOW)
    old = json.loads(good.value)
    del old["destinations"]
    assert MappedEvent.model_validate(old).destinations == []


def test_payment_overdue_says_no_seed_supports_it():
    rule = RULES.indicator_rule(Indicator.PAYMENT_OVERDUE)
    assert isinstance(rule.cites[0], LocalDefault) and "overdue" in rule.cites[0].reason


def test_missing_theme_rule_is_unplaceable_with_reason():
    # Drop the stigma rule: a stigma finding then has nowhere to go.
    raw = yaml.safe_load(DEFAULT_RULES.read_text())
    raw["themes"] = [r for r in raw["themes"] if r["theme"] != "stigma"]
    rules = parse(yaml.safe_dump(raw))
    result = map_event(finding(theme=Theme.STIGMA), rules, NOW)
    assert isinstance(result, Unplaceable) and "stigma" in result.reason


@settings(max_examples=200, deadline=None)
@given(
    theme=st.sampled_from(list(Theme)),
    community=st.sampled_from(list(Community)),
    severity=st.sampled_from(list(Severity)),
    role=st.one_of(st.none(), st.sampled_from(list(CDWRole))),
)
def test_every_finding_maps_deterministically_inside_its_roles(theme, community, severity, role):
    event = finding(theme=theme, community=community, severity=severity, cdw_role=role)
    a, b = map_event(event, RULES, NOW), map_event(event, RULES, NOW)
    assert isinstance(a, MappedEvent) and a == b
    allowed_stages = set().union(*(CDW_ROLES[r].stages for r in a.cdw_roles))
    allowed_comps = set().union(*(CDW_ROLES[r].competencies for r in a.cdw_roles))
    assert set(a.stages) == allowed_stages and set(a.competencies) == allowed_comps
    assert a.stages == sorted(a.stages) and a.rule_ids == sorted(a.rule_ids)


def test_records_good_bad_and_unplaceable():
    good = handle(json.dumps(FINDING).encode(), b"BSOL", "intake.findings.v1", 0, 7, RULES, NOW)
    assert good.topic == MAPPED.name and good.key == b"BSOL" and good.outcome == "mapped"
    MappedEvent.model_validate_json(good.value)

    bad = handle(b"{not json", b"BSOL", "intake.findings.v1", 1, 8, RULES, NOW)
    letter = DeadLetter.model_validate_json(bad.value)
    assert bad.topic == DEADLETTER.name and letter.stage == "decode" and letter.offset == 8
    assert letter.original == "{not json"

    wrong = dict(FINDING, data={**FINDING["data"], "theme": "vibes"})
    out = handle(json.dumps(wrong).encode(), b"BSOL", "intake.findings.v1", 2, 9, RULES, NOW)
    letter = DeadLetter.model_validate_json(out.value)
    assert letter.stage == "validate" and "data.theme" in letter.reason
    assert letter.event_id == FINDING["event_id"] and out.key == b"BSOL"

    empty = handle(None, None, "intake.findings.v1", 0, 1, RULES, NOW)
    assert DeadLetter.model_validate_json(empty.value).reason == "empty record value"
