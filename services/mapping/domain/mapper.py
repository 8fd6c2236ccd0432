"""Map one intake event to commissioning cycle stages, WCC competencies, CDW roles, plans and
destinations.

Pure and deterministic: the same event and rule set always give the same, sorted answer.
An event no rule can place yields an ``Unplaceable`` with the reason, for the dead-letter topic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from contracts.citations import LocalDefault, SeedRef, as_json
from contracts.events import CommunityEngagementFinding, MappedEvent, ProviderPerformanceEvent
from contracts.funding import FundingFlowEvent
from contracts.taxonomy import CDW_ROLES, CDWRole, Competency, Destination, Plan, Stage

from .ruleset import PlacingRule, RuleSet


@dataclass(frozen=True)
class Firing:
    """One rule that fired, what it placed the event in, and the seed lines it rests on."""

    rule_id: str
    why: str
    cites: tuple[SeedRef | LocalDefault, ...]
    stages: tuple[Stage, ...]
    competencies: tuple[Competency, ...]
    cdw_roles: tuple[CDWRole, ...] = ()
    plans: tuple[Plan, ...] = ()
    destinations: tuple[Destination, ...] = ()

    def as_json(self) -> dict:
        return {
            "rule_id": self.rule_id,
            "why": self.why,
            "cites": as_json(self.cites),
            "cdw_roles": [r.value for r in self.cdw_roles],
            "stages": [int(s) for s in self.stages],
            "competencies": [int(c) for c in self.competencies],
            "plans": [p.value for p in self.plans],
            "destinations": [d.value for d in self.destinations],
        }


@dataclass(frozen=True)
class Unplaceable:
    reason: str


@dataclass(frozen=True)
class Placement:
    """The union of what the firings placed the event in, each list in the taxonomy's order."""

    cdw_roles: list[CDWRole]
    stages: list[Stage]
    competencies: list[Competency]
    plans: list[Plan]
    destinations: list[Destination]


@dataclass
class Explanation:
    firings: list[Firing] = field(default_factory=list)

    def union(self) -> Placement:
        stages, comps, roles, plans, dests = set(), set(), set(), set(), set()
        for f in self.firings:
            stages |= set(f.stages)
            comps |= set(f.competencies)
            roles |= set(f.cdw_roles)
            plans |= set(f.plans)
            dests |= set(f.destinations)
        return Placement(
            sorted(roles, key=lambda r: CDW_ROLES[r].step),
            sorted(stages),
            sorted(comps),
            sorted(plans, key=list(Plan).index),
            sorted(dests, key=list(Destination).index),
        )


def rule_firing(rule: PlacingRule) -> Firing:
    """A rule that places what it matches by its own stages and competencies (no role of the
    community development worker), with its plans and destinations."""
    return Firing(
        rule.id,
        rule.why,
        rule.cites,
        tuple(sorted(rule.stages)),
        tuple(sorted(rule.competencies)),
        (),
        rule.plans,
        rule.destinations,
    )


def _role_firing(role: CDWRole, rule_id: str, why: str, cites, plans=(), destinations=()) -> Firing:
    m = CDW_ROLES[role]
    return Firing(
        rule_id,
        why,
        tuple(cites),
        tuple(sorted(m.stages)),
        tuple(sorted(m.competencies)),
        (role,),
        tuple(plans),
        tuple(destinations),
    )


def explain(
    event: CommunityEngagementFinding | ProviderPerformanceEvent | FundingFlowEvent, rules: RuleSet
) -> Explanation | Unplaceable:
    out = Explanation()
    if isinstance(event, FundingFlowEvent):
        kind = event.data.kind
        flow_rule = rules.funding_rule(kind)
        if flow_rule is None:
            return Unplaceable(f"no rule for funding flow '{kind.value}' in rule set {rules.version}")
        out.firings.append(rule_firing(flow_rule))
        return out
    if isinstance(event, CommunityEngagementFinding):
        rule = rules.theme_rule(event.data.theme)
        if rule is None:
            return Unplaceable(f"no rule for theme '{event.data.theme.value}' in rule set {rules.version}")
        for role in rule.cdw_roles:
            m = CDW_ROLES[role]
            # The rule's own quotes, then the CDW table's row that maps the role.
            out.firings.append(
                _role_firing(
                    role,
                    rule.id,
                    f"{rule.why} As {m.title.lower()} (step {m.step}), the CDW model maps "
                    f"to these stages and competencies.",
                    (*rule.cites, *m.cites[1:]),
                    rule.plans,
                    rule.destinations,
                )
            )
        reported = event.data.cdw_role
        if reported is not None and reported not in rule.cdw_roles:
            m = CDW_ROLES[reported]
            out.firings.append(
                _role_firing(
                    reported,
                    f"role.{reported.value}",
                    f"The sender gathered this finding as {m.title.lower()} (step {m.step} of the CDW model).",
                    m.cites,
                )
            )
        return out
    indicator_rule = rules.indicator_rule(event.data.indicator)
    if indicator_rule is None:
        return Unplaceable(f"no rule for indicator '{event.data.indicator.value}' in rule set {rules.version}")
    out.firings.append(rule_firing(indicator_rule))
    sector = rules.sector_rule(event.data.provider_sector)
    if sector is not None:
        out.firings.append(rule_firing(sector))
    return out


def map_event(
    event: CommunityEngagementFinding | ProviderPerformanceEvent | FundingFlowEvent, rules: RuleSet, mapped_at: datetime
) -> MappedEvent | Unplaceable:
    result = explain(event, rules)
    if isinstance(result, Unplaceable):
        return result
    placed = result.union()
    if not placed.stages:
        return Unplaceable("the rules that fired place the event in no stage")
    rule_ids = sorted({f.rule_id for f in result.firings})
    return MappedEvent(
        event=event,
        cdw_roles=placed.cdw_roles,
        stages=placed.stages,
        competencies=placed.competencies,
        plans=placed.plans,
        destinations=placed.destinations,
        rule_ids=rule_ids,
        rules_version=rules.version,
        mapped_at=mapped_at,
    )
