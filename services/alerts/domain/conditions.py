"""Alert conditions: what evaluation finds, before the lifecycle decides what to tell anyone.

A condition carries a stable fingerprint (a hash of rule, area and subject), a severity, the
evidence and a plain-English summary naming the commissioning cycle stage and the World Class
Commissioning competency it concerns (titles from ``contracts.taxonomy``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass


from contracts.citations import LocalDefault, SeedRef, local, seed
from contracts.events import AlertFacts, AlertRule, AlertSeverity
from contracts.places import AREAS
from contracts.taxonomy import Competency, Stage

from .records import RuleOutcome

SEVERITY_RANK: dict[AlertSeverity, int] = {AlertSeverity.AMBER: 1, AlertSeverity.RED: 2}


@dataclass(frozen=True)
class Concern:
    """Where in the commissioning cycle an alert belongs; the first stage and competency lead.
    ``cites`` quotes the seed lines that make it a commissioner's concern (checked against
    docs/seeds by the citation test), or says it is a local default."""

    stages: tuple[Stage, ...]
    competencies: tuple[Competency, ...]
    cites: tuple[SeedRef | LocalDefault, ...]

    @property
    def stage(self) -> Stage:
        return self.stages[0]

    @property
    def competency(self) -> Competency:
        return self.competencies[0]


S, C = Stage, Competency
_SMALL_SUMS = seed("001", 756, "small amounts of funding can release the potential of projects")
_CONTRACT_QUALITY = seed("000", 264, "Ensure the monitoring of performance of quality through the contracts")
_FOLLOW_UP = seed("001", 348, "there was not adequate involvement of commissioners in following up recommendations")
#: Each rule's place in the cycle. Provider rules follow the mapping rule set's indicator rows
#: (services/mapping/rules/ruleset.yaml) so an alert and its events sit in the same place.
CONCERNS: dict[AlertRule, Concern] = {
    AlertRule.UNMET_NEED: Concern(
        (S.ASSESSING_NEEDS, S.REVIEWING_SERVICES_AND_GAP_ANALYSIS, S.RISK_MANAGEMENT),
        (C.MANAGE_KNOWLEDGE_AND_ASSESS_NEEDS, C.WORK_WITH_COMMUNITY_PARTNERS, C.ENGAGE_WITH_PUBLIC_AND_PATIENTS),
        (seed("000", 204, "What are risks to communities of not having the risks met"),),
    ),
    # Grants short and late; small providers need admin money.
    AlertRule.FUNDING_GAP: Concern(
        (S.PROVIDER_DEVELOPMENT, S.RISK_MANAGEMENT, S.CONTRACT_IMPLEMENTATION),
        (C.PRIORITISE_INVESTMENT, C.SECURE_PROCUREMENT_SKILLS, C.EFFICIENCY_AND_EFFECTIVENESS_OF_SPEND),
        (
            seed("001", 739, "others spread grants ranging from \u00a3500 to 10,000 across 10 or more projects"),
            _SMALL_SUMS,
            seed(
                "004",
                135,
                "VCSE organisations are, in particular, used to operating in a competitive funding environment",
            ),
        ),
    ),
    AlertRule.CONTRACT_ENDING: Concern(
        (S.CONTRACT_IMPLEMENTATION, S.RISK_MANAGEMENT),
        (C.SECURE_PROCUREMENT_SKILLS, C.EFFICIENCY_AND_EFFECTIVENESS_OF_SPEND),
        (
            seed("001", 794, "adequate time is needed to engage stakeholders and successfully tender for projects"),
            seed("004", 286, "These contracts usually exist over a longer-term period of delivery"),
        ),
    ),
    AlertRule.PAYMENT_OVERDUE: Concern(
        (S.CONTRACT_IMPLEMENTATION, S.PROVIDER_DEVELOPMENT),
        (C.EFFICIENCY_AND_EFFECTIVENESS_OF_SPEND, C.SECURE_PROCUREMENT_SKILLS),
        (
            local(
                "no seed speaks of overdue payments; the platform watches them because small "
                "sums matter to small voluntary providers"
            ),
            _SMALL_SUMS,
        ),
    ),
    AlertRule.PERFORMANCE_BELOW_TARGET: Concern(
        (S.MANAGING_PERFORMANCE,),
        (C.MANAGE_THE_LOCAL_HEALTH_SYSTEM, C.PROMOTE_IMPROVEMENT_AND_INNOVATION),
        (_CONTRACT_QUALITY, seed("002", 1198, "mapping provider performance")),
    ),
    # Better information is a DRE building block; baselines were missing.
    AlertRule.ETHNICITY_DATA_GAP: Concern(
        (S.ASSESSING_NEEDS, S.MANAGING_PERFORMANCE),
        (C.MANAGE_KNOWLEDGE_AND_ASSESS_NEEDS, C.MANAGE_THE_LOCAL_HEALTH_SYSTEM),
        (
            seed(
                "001", 685, "98.8% valid ethnicity codes recorded against the patient records. This could be misleading"
            ),
            seed("001", 709, "meaningful data collection for \u201cWhite other\u201d and dual heritage categories"),
        ),
    ),
    # Reverse Commissioning: take provider data on use back to communities.
    AlertRule.UNDER_USE_BY_COMMUNITY: Concern(
        (S.REVIEWING_SERVICES_AND_GAP_ANALYSIS, S.ASSESSING_NEEDS, S.MANAGING_PERFORMANCE),
        (C.ENGAGE_WITH_PUBLIC_AND_PATIENTS, C.MANAGE_KNOWLEDGE_AND_ASSESS_NEEDS, C.MANAGE_THE_LOCAL_HEALTH_SYSTEM),
        (
            seed(
                "003",
                70,
                "to determine the extent to which BME Communities are utilising the existing clinical services",
            ),
        ),
    ),
    # Detention and seclusion out of proportion: what the seeds ask to reduce.
    AlertRule.OVER_REPRESENTATION_IN_COERCIVE_CARE: Concern(
        (S.ASSESSING_NEEDS, S.MANAGING_PERFORMANCE),
        (C.MANAGE_KNOWLEDGE_AND_ASSESS_NEEDS, C.MANAGE_THE_LOCAL_HEALTH_SYSTEM),
        (
            seed("001", 650, "analysis of why a high number of black people are detained in acute wards"),
            seed("001", 722, "reduction in the rates of compulsory detention of BME users in inpatient units"),
        ),
    ),
    # Contracts not monitored; quality not performance-managed.
    AlertRule.PROVIDER_SILENCE: Concern(
        (S.MANAGING_PERFORMANCE,),
        (C.MANAGE_THE_LOCAL_HEALTH_SYSTEM,),
        (seed("000", 264, "Ensure monitoring of the NHS contract for mental health"), _CONTRACT_QUALITY),
    ),
    # Community recommendations left unanswered, or answered and not acted on.
    AlertRule.RECOMMENDATION_NOT_FOLLOWED_UP: Concern(
        (S.REVIEWING_SERVICES_AND_GAP_ANALYSIS, S.DECIDING_PRIORITIES),
        (C.ENGAGE_WITH_PUBLIC_AND_PATIENTS, C.WORK_WITH_COMMUNITY_PARTNERS),
        (_FOLLOW_UP, seed("003", 70, "This feedback will be used to determine what changes if any are required")),
    ),
    AlertRule.RECOMMENDATION_ACTION_OVERDUE: Concern(
        (S.MANAGING_PERFORMANCE, S.STRATEGIC_PLANNING),
        (C.ENGAGE_WITH_PUBLIC_AND_PATIENTS, C.PROMOTE_IMPROVEMENT_AND_INNOVATION),
        (_FOLLOW_UP, seed("001", 350, "to demonstrate that something had changed")),
    ),
    # Funding flows (contracts.funding): money stalls between commissioner, trust, lead body and
    # members, and small grants arrive late or go unspent.
    AlertRule.PAYMENT_STUCK_IN_CHAIN: Concern(
        (S.CONTRACT_IMPLEMENTATION, S.PROVIDER_DEVELOPMENT, S.RISK_MANAGEMENT),
        (C.EFFICIENCY_AND_EFFECTIVENESS_OF_SPEND, C.STIMULATE_THE_MARKET),
        (
            seed(
                "004",
                282,
                "funding flowed from the CCG, to the Trust and then to Rethink Mental Illness "
                "as the accountable organisation for the VCSE alliance",
            ),
            _SMALL_SUMS,
        ),
    ),
    AlertRule.ALLIANCE_MEMBER_UNPAID: Concern(
        (S.PROVIDER_DEVELOPMENT, S.CONTRACT_IMPLEMENTATION),
        (C.STIMULATE_THE_MARKET, C.WORK_WITH_COMMUNITY_PARTNERS),
        (
            seed(
                "004",
                282,
                "This was then shared out depending on which partner is leading on "
                "delivering which part of the co-produced model",
            ),
            seed("004", 294, "Successful alliance-contracting relies on the VCSE sector working in a united way"),
        ),
    ),
    AlertRule.GRANT_NOT_PAID: Concern(
        (S.PROVIDER_DEVELOPMENT, S.CONTRACT_IMPLEMENTATION),
        (C.WORK_WITH_COMMUNITY_PARTNERS, C.EFFICIENCY_AND_EFFECTIVENESS_OF_SPEND),
        (seed("001", 739, "grants ranging from \u00a3500 to 10,000 across 10 or more projects"), _SMALL_SUMS),
    ),
    AlertRule.GRANT_UNSPENT: Concern(
        (S.MANAGING_PERFORMANCE, S.PROVIDER_DEVELOPMENT),
        (C.EFFICIENCY_AND_EFFECTIVENESS_OF_SPEND, C.WORK_WITH_COMMUNITY_PARTNERS),
        (
            seed("001", 737, "A large proportion had not completed the work by the December 2006 as expected"),
            seed(
                "001",
                796,
                "without staff resources, expenditure of funds and managing delivery of "
                "projects was more of a challenge",
            ),
        ),
    ),
    AlertRule.CQUIN_AT_RISK: Concern(
        (S.MANAGING_PERFORMANCE, S.CONTRACT_IMPLEMENTATION),
        (C.PROMOTE_IMPROVEMENT_AND_INNOVATION, C.MANAGE_THE_LOCAL_HEALTH_SYSTEM),
        (
            seed("002", 765, "a CQUIN scheme with specific quality goals linked to a proportion of contract value"),
            seed(
                "002",
                774,
                "CQUIN will be a useful incentive that commissioners can use to stimulate improvements in quality",
            ),
        ),
    ),
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
    return (
        f"{place}: {detail} This concerns the commissioning cycle stage "
        f"'{concern.stage.title}' and the World Class Commissioning competency "
        f"'{concern.competency.title}'."
    )


class Condition(AlertFacts):
    """A rule that holds now for one subject in one area: the alert's facts, whom it concerns."""

    provider_id: str | None = None
    inhibited_by: str | None = None

    @classmethod
    def of(cls, rule: AlertRule, area: str, outcome: RuleOutcome, inhibited_by: str | None = None) -> "Condition":
        concern = CONCERNS[rule]
        return cls(
            fingerprint=fingerprint(rule, area, outcome.subject),
            rule=rule,
            area=area,
            region=AREAS[area].region,
            subject=outcome.subject,
            severity=outcome.severity,
            summary=summary(rule, area, outcome.detail),
            stages=concern.stages,
            competencies=concern.competencies,
            evidence=outcome.evidence,
            event_ids=outcome.event_ids,
            provider_id=outcome.provider_id,
            inhibited_by=inhibited_by,
        )
