"""Alert conditions: what evaluation finds, before the lifecycle decides what to tell anyone.

A condition carries a stable fingerprint (a hash of rule, area and subject), a severity, the
evidence and a plain-English summary naming the commissioning cycle stage and the World Class
Commissioning competency it concerns (titles from ``contracts.taxonomy``).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from contracts.events import AlertRule, AlertSeverity
from contracts.places import AREAS, Region
from contracts.taxonomy import Competency, Stage

from .records import RuleOutcome

SEVERITY_RANK: dict[AlertSeverity, int] = {AlertSeverity.AMBER: 1, AlertSeverity.RED: 2}


@dataclass(frozen=True)
class Concern:
    """Where in the commissioning cycle an alert belongs; the first stage and competency lead."""

    stages: tuple[Stage, ...]
    competencies: tuple[Competency, ...]
    seed_ref: str

    @property
    def stage(self) -> Stage:
        return self.stages[0]

    @property
    def competency(self) -> Competency:
        return self.competencies[0]


S, C = Stage, Competency
#: Each rule's place in the cycle. Provider rules follow the mapping rule set's indicator rows
#: (services/mapping/rules/ruleset.yaml) so an alert and its events sit in the same place.
CONCERNS: dict[AlertRule, Concern] = {
    # "What are risks to communities of not having the [needs] met" (000:204).
    AlertRule.UNMET_NEED: Concern(
        (S.ASSESSING_NEEDS, S.REVIEWING_SERVICES_AND_GAP_ANALYSIS, S.RISK_MANAGEMENT),
        (C.MANAGE_KNOWLEDGE_AND_ASSESS_NEEDS, C.WORK_WITH_COMMUNITY_PARTNERS,
         C.ENGAGE_WITH_PUBLIC_AND_PATIENTS),
        "000_7e844ea1bcdc73dd.txt:203-204"),
    # Grants short and late; small providers need admin money (001:733-800, 001:756; 004:135).
    AlertRule.FUNDING_GAP: Concern(
        (S.PROVIDER_DEVELOPMENT, S.RISK_MANAGEMENT, S.CONTRACT_IMPLEMENTATION),
        (C.PRIORITISE_INVESTMENT, C.SECURE_PROCUREMENT_SKILLS,
         C.EFFICIENCY_AND_EFFECTIVENESS_OF_SPEND),
        "001_93a630ca1a6a1dee.txt:733-800; 001_93a630ca1a6a1dee.txt:756; "
        "004_c03c14da175a4187.txt:135"),
    AlertRule.CONTRACT_ENDING: Concern(
        (S.CONTRACT_IMPLEMENTATION, S.RISK_MANAGEMENT),
        (C.SECURE_PROCUREMENT_SKILLS, C.EFFICIENCY_AND_EFFECTIVENESS_OF_SPEND),
        "001_93a630ca1a6a1dee.txt:794; 004_c03c14da175a4187.txt:286"),
    AlertRule.PAYMENT_OVERDUE: Concern(
        (S.CONTRACT_IMPLEMENTATION, S.PROVIDER_DEVELOPMENT),
        (C.EFFICIENCY_AND_EFFECTIVENESS_OF_SPEND, C.SECURE_PROCUREMENT_SKILLS),
        "001_93a630ca1a6a1dee.txt:756"),
    # "Ensure the monitoring of performance of quality through the contracts" (000:264).
    AlertRule.PERFORMANCE_BELOW_TARGET: Concern(
        (S.MANAGING_PERFORMANCE,),
        (C.MANAGE_THE_LOCAL_HEALTH_SYSTEM, C.PROMOTE_IMPROVEMENT_AND_INNOVATION),
        "000_7e844ea1bcdc73dd.txt:264; 002_82c4fd005c265713.txt:1198"),
    # Better information is a DRE building block; baselines were missing (001:685, 001:709).
    AlertRule.ETHNICITY_DATA_GAP: Concern(
        (S.ASSESSING_NEEDS, S.MANAGING_PERFORMANCE),
        (C.MANAGE_KNOWLEDGE_AND_ASSESS_NEEDS, C.MANAGE_THE_LOCAL_HEALTH_SYSTEM),
        "001_93a630ca1a6a1dee.txt:685,709"),
    # Reverse Commissioning: take provider data on use back to communities (003:66-87).
    AlertRule.UNDER_USE_BY_COMMUNITY: Concern(
        (S.REVIEWING_SERVICES_AND_GAP_ANALYSIS, S.ASSESSING_NEEDS, S.MANAGING_PERFORMANCE),
        (C.ENGAGE_WITH_PUBLIC_AND_PATIENTS, C.MANAGE_KNOWLEDGE_AND_ASSESS_NEEDS,
         C.MANAGE_THE_LOCAL_HEALTH_SYSTEM),
        "003_91cb6e705136cded.txt:66-87"),
    # Contracts not monitored; quality not performance-managed (000:256-264).
    AlertRule.PROVIDER_SILENCE: Concern(
        (S.MANAGING_PERFORMANCE,),
        (C.MANAGE_THE_LOCAL_HEALTH_SYSTEM,),
        "000_7e844ea1bcdc73dd.txt:264"),
}
del S, C


def fingerprint(rule: AlertRule, area: str, subject: str) -> str:
    """Stable 32-hex-digit identity of an alert: the same rule, area and subject, the same alert."""
    key = json.dumps([rule.value, area, subject], separators=(",", ":"))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def summary(rule: AlertRule, area: str, detail: str) -> str:
    """The commissioner's sentence: where, what, and which stage and competency it concerns."""
    concern = CONCERNS[rule]
    place = AREAS[area].name if area in AREAS else area
    return (f"{place}: {detail} This concerns the commissioning cycle stage "
            f"'{concern.stage.title}' and the World Class Commissioning competency "
            f"'{concern.competency.title}'.")


class Condition(BaseModel):
    """A rule that holds now for one subject in one area."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fingerprint: str
    rule: AlertRule
    area: str
    region: Region
    subject: str
    severity: AlertSeverity
    summary: str
    stages: tuple[Stage, ...]
    competencies: tuple[Competency, ...]
    evidence: dict[str, Any]
    event_ids: tuple[UUID, ...]
    provider_id: str | None = None
    inhibited_by: str | None = None

    @classmethod
    def of(cls, rule: AlertRule, area: str, outcome: RuleOutcome,
           inhibited_by: str | None = None) -> "Condition":
        concern = CONCERNS[rule]
        return cls(fingerprint=fingerprint(rule, area, outcome.subject), rule=rule, area=area,
                   region=AREAS[area].region, subject=outcome.subject, severity=outcome.severity,
                   summary=summary(rule, area, outcome.detail), stages=concern.stages,
                   competencies=concern.competencies, evidence=outcome.evidence,
                   event_ids=outcome.event_ids, provider_id=outcome.provider_id,
                   inhibited_by=inhibited_by)
