"""The mapping as documents for people: the taxonomy with the rules in force, and one event's
explanation. Pure: the rule set is passed in, nothing is read or published."""

from __future__ import annotations

from datetime import datetime

from contracts.citations import as_json
from contracts.events import CommunityEngagementFinding, ProviderPerformanceEvent
from contracts.funding import FundingFlowEvent
from contracts.taxonomy import CDW_ROLES, taxonomy_document
from contracts.vocabulary import INDICATORS, Theme

from .mapper import Unplaceable, explain, map_event
from .ruleset import FundingRule, IndicatorRule, RuleSet, SectorRule, ThemeRule


def rule_document(rule: ThemeRule | IndicatorRule | SectorRule | FundingRule | None) -> dict | None:
    if rule is None:
        return None
    out: dict[str, object] = {
        "id": rule.id,
        "why": rule.why,
        "plans": [p.value for p in rule.plans],
        "destinations": [d.value for d in rule.destinations],
        "cites": as_json(rule.cites),
    }
    if isinstance(rule, ThemeRule):
        out["cdw_roles"] = [r.value for r in rule.cdw_roles]
    else:
        out["stages"] = sorted(int(s) for s in rule.stages)
        out["competencies"] = sorted(int(c) for c in rule.competencies)
    return out


def theme_title(theme: Theme) -> str:
    return theme.value.replace("_", " ").capitalize()


def mapping_document(rules: RuleSet) -> dict:
    """The taxonomy (stages, competencies, CDW roles, plans, destinations) with the themes,
    indicators and sectors and the rule in force for each."""
    doc = taxonomy_document()
    doc["rules_version"] = rules.version
    doc["themes"] = [
        {"id": t.value, "title": theme_title(t), "rule": rule_document(rules.theme_rule(t))} for t in Theme
    ]
    doc["indicators"] = [
        {
            "id": s.indicator.value,
            "title": s.title,
            "unit": s.unit.value,
            "polarity": "higher_is_better" if s.higher_is_better else "lower_is_better",
            "default_target": s.default_target,
            "target_source": s.target_source.as_json() if s.target_source is not None else None,
            "cites": as_json(s.cites),
            "rule": rule_document(rules.indicator_rule(s.indicator)),
        }
        for s in INDICATORS.values()
    ]
    doc["sectors"] = [{"id": r.sector.value, "rule": rule_document(r)} for r in rules.sectors]
    doc["funding_flows"] = [{"id": r.kind.value, "rule": rule_document(r)} for r in rules.funding]
    return doc


def explanation_document(
    event: CommunityEngagementFinding | ProviderPerformanceEvent | FundingFlowEvent, rules: RuleSet, now: datetime
) -> dict:
    """Where the mapping would place ``event`` and every rule that fired, with its quotes."""
    head = {"event_id": str(event.event_id), "type": event.type, "rules_version": rules.version}
    mapped = map_event(event, rules, now)
    if isinstance(mapped, Unplaceable):
        return {**head, "placed": False, "reason": mapped.reason, "rules": []}
    result = explain(event, rules)
    assert not isinstance(result, Unplaceable)  # map_event placed it with the same rules
    return {
        **head,
        "placed": True,
        "cdw_roles": [
            {"id": r.value, "title": CDW_ROLES[r].title, "step": CDW_ROLES[r].step} for r in mapped.cdw_roles
        ],
        "stages": [{"number": int(s), "title": s.title} for s in mapped.stages],
        "competencies": [
            {"number": int(c), "title": c.title, "other_names": list(c.other_names)} for c in mapped.competencies
        ],
        "plans": [{"id": p.value, "title": p.title} for p in mapped.plans],
        "destinations": [{"id": d.value, "title": d.title} for d in mapped.destinations],
        "rule_ids": mapped.rule_ids,
        "rules": [f.as_json() for f in result.firings],
    }
