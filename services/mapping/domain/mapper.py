"""Map one intake event to commissioning cycle stages, WCC competencies, CDW roles and plans.

Pure and deterministic: the same event and rule set always give the same, sorted answer.
An event no rule can place yields an ``Unplaceable`` with the reason, for the dead-letter topic.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from contracts.events import CommunityEngagementFinding, MappedEvent, ProviderPerformanceEvent
from contracts.taxonomy import CDW_ROLES, CDWRole, Competency, Plan, Stage

from .ruleset import RuleSet


@dataclass(frozen=True)
class Firing:
    rule_id: str
    why: str
    seed_ref: str
    stages: tuple[Stage, ...]
    competencies: tuple[Competency, ...]
    cdw_roles: tuple[CDWRole, ...] = ()
    plans: tuple[Plan, ...] = ()


@dataclass(frozen=True)
class Unplaceable:
    reason: str


@dataclass
class Explanation:
    firings: list[Firing] = field(default_factory=list)

    def union(self):
        stages, comps, roles, plans = set(), set(), set(), set()
        for f in self.firings:
            stages |= set(f.stages)
            comps |= set(f.competencies)
            roles |= set(f.cdw_roles)
            plans |= set(f.plans)
        return (sorted(roles, key=lambda r: CDW_ROLES[r].step), sorted(stages), sorted(comps),
                sorted(plans, key=lambda p: list(Plan).index(p)))


def _role_firing(role: CDWRole, rule_id: str, why: str, seed_ref: str, plans=()) -> Firing:
    m = CDW_ROLES[role]
    return Firing(rule_id, why, seed_ref, tuple(sorted(m.stages)), tuple(sorted(m.competencies)),
                  (role,), tuple(plans))


def explain(event: CommunityEngagementFinding | ProviderPerformanceEvent,
            rules: RuleSet) -> Explanation | Unplaceable:
    out = Explanation()
    if isinstance(event, CommunityEngagementFinding):
        rule = rules.theme_rule(event.data.theme)
        if rule is None:
            return Unplaceable(f"no rule for theme '{event.data.theme.value}' in rule set {rules.version}")
        for role in rule.cdw_roles:
            m = CDW_ROLES[role]
            out.firings.append(_role_firing(
                role, rule.id, f"{rule.why} As {m.title.lower()} (step {m.step}), the CDW model maps "
                f"to these stages and competencies.", rule.seed_ref, rule.plans))
        reported = event.data.cdw_role
        if reported is not None and reported not in rule.cdw_roles:
            m = CDW_ROLES[reported]
            out.firings.append(_role_firing(
                reported, f"role.{reported.value}",
                f"The sender gathered this finding as {m.title.lower()} (step {m.step} of the CDW model).",
                m.seed_ref))
        return out
    rule = rules.indicator_rule(event.data.indicator)
    if rule is None:
        return Unplaceable(f"no rule for indicator '{event.data.indicator.value}' in rule set {rules.version}")
    out.firings.append(Firing(rule.id, rule.why, rule.seed_ref, tuple(sorted(rule.stages)),
                              tuple(sorted(rule.competencies)), (), rule.plans))
    sector = rules.sector_rule(event.data.provider_sector)
    if sector is not None:
        out.firings.append(Firing(sector.id, sector.why, sector.seed_ref, tuple(sorted(sector.stages)),
                                  tuple(sorted(sector.competencies)), (), sector.plans))
    return out


def map_event(event: CommunityEngagementFinding | ProviderPerformanceEvent, rules: RuleSet,
              mapped_at: datetime) -> MappedEvent | Unplaceable:
    result = explain(event, rules)
    if isinstance(result, Unplaceable):
        return result
    roles, stages, comps, plans = result.union()
    if not stages:
        return Unplaceable("the rules that fired place the event in no stage")
    rule_ids = sorted({f.rule_id for f in result.firings})
    return MappedEvent(event=event, cdw_roles=roles, stages=stages, competencies=comps, plans=plans,
                       rule_ids=rule_ids, rules_version=rules.version, mapped_at=mapped_at)
