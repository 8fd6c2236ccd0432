"""The commissioning taxonomy, as the seed documents write it.

Every stage, competency, community development worker (CDW) role, plan and destination the
platform speaks of is defined here and nowhere else. Each cites the seeds (``docs/seeds/``) with a
:class:`~contracts.citations.SeedRef` carrying a verbatim quote; a unit test checks every quote
against its lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum

from .citations import SeedRef, as_json, seed

SEED_CDW_GUIDE = "000_7e844ea1bcdc73dd.txt"
SEED_COMMISSIONING_FRIEND = "002_82c4fd005c265713.txt"


class Stage(IntEnum):
    """The eight stages of the commissioning cycle (000:199-258; 002:1198)."""

    ASSESSING_NEEDS = 1
    REVIEWING_SERVICES_AND_GAP_ANALYSIS = 2
    RISK_MANAGEMENT = 3
    DECIDING_PRIORITIES = 4
    STRATEGIC_PLANNING = 5
    CONTRACT_IMPLEMENTATION = 6
    PROVIDER_DEVELOPMENT = 7
    MANAGING_PERFORMANCE = 8

    @property
    def title(self) -> str:
        return STAGE_TITLES[self]

    @property
    def slug(self) -> str:
        return self.name.lower()


STAGE_TITLES: dict[Stage, str] = {
    Stage.ASSESSING_NEEDS: "Assessing needs",
    Stage.REVIEWING_SERVICES_AND_GAP_ANALYSIS: "Reviewing services and gap analysis",
    Stage.RISK_MANAGEMENT: "Risk management",
    Stage.DECIDING_PRIORITIES: "Deciding priorities",
    Stage.STRATEGIC_PLANNING: "Strategic planning",
    Stage.CONTRACT_IMPLEMENTATION: "Contract implementation",
    Stage.PROVIDER_DEVELOPMENT: "Provider development",
    Stage.MANAGING_PERFORMANCE: "Managing performance",
}

#: The Commissioning Friend's names where they differ from the CDW guide's (002:1198).
STAGE_ALIASES: dict[Stage, str] = {
    Stage.STRATEGIC_PLANNING: "Strategic options",
    Stage.MANAGING_PERFORMANCE: "Mapping provider performance",
}

_CYCLE_002 = seed(
    "002",
    1198,
    "assessing needs, reviewing services and gap analysis, risk management, "
    "deciding priorities, strategic options, contract implementation, provider "
    "development and mapping provider performance",
)

#: Where each stage is named, by number, in the CDW guide's tables (and the cycle in 002).
STAGE_SOURCES: dict[Stage, tuple[SeedRef, ...]] = {
    Stage.ASSESSING_NEEDS: (seed("000", 236, "1. Assessing needs"), _CYCLE_002),
    Stage.REVIEWING_SERVICES_AND_GAP_ANALYSIS: (
        seed("000", 202, "2. Reviewing services and gaps analysis"),
        _CYCLE_002,
    ),
    Stage.RISK_MANAGEMENT: (seed("000", 202, "3. Risk management"), _CYCLE_002),
    Stage.DECIDING_PRIORITIES: (seed("000", 202, "4. Deciding priorities"), _CYCLE_002),
    Stage.STRATEGIC_PLANNING: (seed("000", 236, "5. Strategic planning"), _CYCLE_002),
    Stage.CONTRACT_IMPLEMENTATION: (seed("000", 236, "6. Contract implementation"), _CYCLE_002),
    Stage.PROVIDER_DEVELOPMENT: (seed("000", 202, "7. Provider development"), _CYCLE_002),
    Stage.MANAGING_PERFORMANCE: (seed("000", 258, "8. Managing performance"), _CYCLE_002),
}


class Competency(IntEnum):
    """The eleven World Class Commissioning competencies (002:1063-1125)."""

    LOCALLY_LEAD_THE_NHS = 1
    WORK_WITH_COMMUNITY_PARTNERS = 2
    ENGAGE_WITH_PUBLIC_AND_PATIENTS = 3
    COLLABORATE_WITH_CLINICIANS = 4
    MANAGE_KNOWLEDGE_AND_ASSESS_NEEDS = 5
    PRIORITISE_INVESTMENT = 6
    STIMULATE_THE_MARKET = 7
    PROMOTE_IMPROVEMENT_AND_INNOVATION = 8
    SECURE_PROCUREMENT_SKILLS = 9
    MANAGE_THE_LOCAL_HEALTH_SYSTEM = 10
    EFFICIENCY_AND_EFFECTIVENESS_OF_SPEND = 11

    @property
    def title(self) -> str:
        return COMPETENCY_TITLES[self][0]

    @property
    def description(self) -> str:
        return COMPETENCY_TITLES[self][1]

    @property
    def other_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in COMPETENCY_OTHER_NAMES.get(self, ()))

    @property
    def slug(self) -> str:
        return self.name.lower()


COMPETENCY_TITLES: dict[Competency, tuple[str, str]] = {
    Competency.LOCALLY_LEAD_THE_NHS: ("Locally lead the NHS", "Are recognised as the local leader of the NHS."),
    Competency.WORK_WITH_COMMUNITY_PARTNERS: (
        "Work with community partners",
        "Work collaboratively with community partners to commission services that optimise "
        "health gains and reduce health inequalities and deliver increased productivity.",
    ),
    Competency.ENGAGE_WITH_PUBLIC_AND_PATIENTS: (
        "Engage with public and patients",
        "Proactively build continuous and meaningful engagement with the public and patients "
        "to shape services and improve health.",
    ),
    Competency.COLLABORATE_WITH_CLINICIANS: (
        "Collaborate with clinicians",
        "Lead continuous and meaningful engagement of a broad range of clinicians to inform "
        "strategy and drive quality, service design, and efficient and effective use of resources.",
    ),
    Competency.MANAGE_KNOWLEDGE_AND_ASSESS_NEEDS: (
        "Manage knowledge and assess needs",
        "Manage knowledge and undertake robust and regular needs assessment that establish a full "
        "understanding of current and future local health needs and requirements.",
    ),
    Competency.PRIORITISE_INVESTMENT: (
        "Prioritise investment",
        "Prioritise investment of all spend in line with different financial scenarios and "
        "according to local needs, service requirements and the values of the NHS.",
    ),
    Competency.STIMULATE_THE_MARKET: (
        "Stimulate the market",
        "Effectively stimulate the market to meet demand and secure required clinical and health "
        "and well-being outcomes.",
    ),
    Competency.PROMOTE_IMPROVEMENT_AND_INNOVATION: (
        "Promote improvement and innovation",
        "Promote and specify continuous improvements in quality and outcomes through clinical and "
        "provider innovation and configuration.",
    ),
    Competency.SECURE_PROCUREMENT_SKILLS: (
        "Secure procurement skills",
        "Secure procurement skills that ensure robust and viable contracts.",
    ),
    Competency.MANAGE_THE_LOCAL_HEALTH_SYSTEM: (
        "Manage the local health system",
        "Effectively manage systems and work in partnership with providers to ensure contract "
        "compliance and continuous improvement in quality and outcomes and value for money.",
    ),
    Competency.EFFICIENCY_AND_EFFECTIVENESS_OF_SPEND: (
        "Efficiency and effectiveness of spend",
        "Ensuring efficiency and effectiveness of spend.",
    ),
}

#: Each competency's heading and description in the Commissioning Friend's list.
COMPETENCY_SOURCES: dict[Competency, SeedRef] = {
    c: seed("002", (first, first + 2), f"{int(c)}. {COMPETENCY_TITLES[c][0]}")
    for c, first in zip(Competency, (1063, 1069, 1075, 1081, 1087, 1093, 1099, 1105, 1111, 1117, 1123))
}

#: Other names the seeds give a competency: the Commissioning Friend's lists of the competencies
#: that call on mental health commissioners name 11 "Make sound financial investments".
COMPETENCY_OTHER_NAMES: dict[Competency, tuple[tuple[str, tuple[SeedRef, ...]], ...]] = {
    Competency.EFFICIENCY_AND_EFFECTIVENESS_OF_SPEND: (
        (
            "Make sound financial investments",
            tuple(seed("002", n, "11 \u2013 Make sound financial investments") for n in (725, 738, 780, 989)),
        ),
    ),
}


def competency_named(text: str) -> Competency | None:
    """The competency ``text`` names: its number, id, title or any other name the seeds give it
    (case and surrounding white space ignored), or None."""
    wanted = " ".join(text.split()).casefold()
    for c in Competency:
        names = {str(int(c)), c.slug, c.title.casefold(), *(n.casefold() for n in c.other_names)}
        if wanted in names:
            return c
    return None


class CDWRole(str, Enum):
    """The four steps of the CDW model (000:195-264)."""

    ACCESS_FACILITATOR = "access_facilitator"
    CHANGE_AGENT = "change_agent"
    SERVICE_DEVELOPER = "service_developer"
    CAPACITY_BUILDER = "capacity_builder"


@dataclass(frozen=True)
class CDWRoleMapping:
    """One step of the CDW model with the competencies and stages the guide's table maps it to;
    ``cites`` quotes the step's activities, its competencies and its stages."""

    role: CDWRole
    step: int
    title: str
    activities: tuple[str, ...]
    competencies: frozenset[Competency]
    stages: frozenset[Stage]
    cites: tuple[SeedRef, ...]
    #: How the seed's wording was read where it is not plain (the change agent's stage list).
    reading: str | None = None

    @property
    def seed_ref(self) -> str:
        """The table row, as ``file:line``."""
        return self.cites[0].ref


def _stages(*numbers: int) -> frozenset[Stage]:
    return frozenset(Stage(n) for n in numbers)


def _competencies(*numbers: int) -> frozenset[Competency]:
    return frozenset(Competency(n) for n in numbers)


CHANGE_AGENT_READING = (
    "The seed's stage list for step 2 is garbled: after '1. Assessing needs 2. Reviewing service "
    "and gaps analysis 3. Risk management' it repeats 'reviewing services and gaps analysis' and "
    "'risk management' under the numbers 4 and 5, then '7. provider development'. The platform "
    "takes the numbers, 1, 2, 3, 4, 5 and 7: the repeated labels duplicate stages 2 and 3, while "
    "the step's own rows feed priorities (stage 4: 'Have an evidence base to identify their "
    "priorities') and strategic planning (stage 5: 'Feed information into the strategic planning "
    "processes')."
)

CDW_ROLES: dict[CDWRole, CDWRoleMapping] = {
    CDWRole.ACCESS_FACILITATOR: CDWRoleMapping(
        role=CDWRole.ACCESS_FACILITATOR,
        step=1,
        title="Access facilitator",
        activities=("Helping people find pathways", "Signposting", "Addressing language and other barriers"),
        competencies=_competencies(4, 7),
        stages=_stages(2, 3, 4, 7),
        cites=(
            seed(
                "000",
                202,
                "Helping people find pathways \u2022 Sign posting \u2022 Addressing language and other barriers",
            ),
            seed("000", 202, "Competency 4 and 7"),
            seed(
                "000",
                202,
                "2. Reviewing services and gaps analysis 3. Risk management "
                "4. Deciding priorities 7. Provider development",
            ),
        ),
    ),
    CDWRole.CHANGE_AGENT: CDWRoleMapping(
        role=CDWRole.CHANGE_AGENT,
        step=2,
        title="Change agent",
        activities=(
            "Identify the gaps and concerns",
            "Seek community capability to develop innovative practice",
            "Increase the communication between community and statutory sector",
        ),
        competencies=_competencies(1, 2, 3, 5, 6, 7, 8, 9, 10),
        stages=_stages(1, 2, 3, 4, 5, 7),
        cites=(
            seed(
                "000",
                217,
                "Identify the gaps to and concerns \u2022 To seek community capability to "
                "develop innovative practice \u2022 To increase the communication between "
                "community and statutory sector",
            ),
            seed("000", 217, "WCC competencies 1,2,3,5,6,7,8,9,10"),
            seed("000", 217, "1. Assessing needs 2. Reviewing service and gaps analysis 3. Risk management"),
            seed("000", 217, "4. reviewing services and gaps analysis 5. risk management 7. provider development"),
            seed("000", 222, "Have an evidence base to identify their priorities"),
            seed("000", 224, "Feed information into the strategic planning processes"),
        ),
        reading=CHANGE_AGENT_READING,
    ),
    CDWRole.SERVICE_DEVELOPER: CDWRoleMapping(
        role=CDWRole.SERVICE_DEVELOPER,
        step=3,
        title="Service developer",
        activities=(
            "Advising on training and education of staff",
            "Highlight the importance of culture in service systems and practice",
            "Develop joint working between statutory and community services",
        ),
        competencies=_competencies(1, 2, 4, 6, 8, 10, 11),
        stages=_stages(1, 2, 4, 5, 6, 7),
        cites=(
            seed(
                "000",
                236,
                "Advising on training and education of staff \u2022 Highlight the importance "
                "of culture in service systems and practice \u2022 Develop joint working "
                "between statutory and community services",
            ),
            seed("000", 236, "WCC competencies - 1,2,4,6,8,10,11"),
            seed(
                "000",
                236,
                "1. Assessing needs 2. Reviewing services and gaps analysis 4. Deciding "
                "priorities 5. Strategic planning 6. Contract implementation 7. Provider "
                "development",
            ),
        ),
    ),
    CDWRole.CAPACITY_BUILDER: CDWRoleMapping(
        role=CDWRole.CAPACITY_BUILDER,
        step=4,
        title="Capacity builder",
        activities=(
            "Developing socially inclusive BME communities",
            "Engaging in the establishment of community leadership",
            "Assist in the development of community organisations",
        ),
        competencies=_competencies(1, 2, 3, 5, 6, 7, 9, 10, 11),
        stages=_stages(1, 6, 7, 8),
        cites=(
            seed(
                "000",
                258,
                "Developing socially inclusive BME communities \u2022 Engaging in the "
                "establishment of community leadership \u2022 Assist in the development of "
                "community organisations",
            ),
            seed("000", 256, "WCC competencies 1,2,3,5,6,7,9,10,11"),
            seed(
                "000",
                258,
                "1. Assessing needs 6. Contract Implementation 7. Provider Development 8. Managing performance",
            ),
        ),
    ),
}


class Plan(str, Enum):
    """The three plans the commissioning cycle produces and revises (000:187-191; 002:1200-1217).

    The Organisational Development Plan is the commissioner's own capability plan: findings about
    providers' staff or community leaders go to the destinations below, not to it."""

    STRATEGIC_COMMISSIONING_PLAN = "strategic_commissioning_plan"
    OPERATING_PLAN = "operating_plan"
    ORGANISATIONAL_DEVELOPMENT_PLAN = "organisational_development_plan"

    @property
    def title(self) -> str:  # type: ignore[override]  # a display title, shadowing str.title on purpose
        return PLAN_TITLES[self]


PLAN_TITLES: dict[Plan, str] = {
    Plan.STRATEGIC_COMMISSIONING_PLAN: "Strategic Commissioning Plan",
    Plan.OPERATING_PLAN: "Operating Plan (financial plan)",
    Plan.ORGANISATIONAL_DEVELOPMENT_PLAN: "Organisational Development Plan",
}

PLAN_SOURCES: dict[Plan, tuple[SeedRef, ...]] = {
    Plan.STRATEGIC_COMMISSIONING_PLAN: (
        seed(
            "000",
            189,
            "Strategic Commissioning Plan (SCP). This plan establishes direction and "
            "priorities for at for the next five years.",
        ),
        seed("002", 1202, "The strategic commissioning plan"),
    ),
    Plan.OPERATING_PLAN: (
        seed(
            "000",
            190,
            "The Operating Plan sets out how the to achieve the health outcomes and "
            "financial goals set out in the Strategic Commissioning Plan.",
        ),
        seed("002", 1211, "The financial plan"),
        seed(
            "002",
            1213,
            "This sets out how the PCT plans to achieve the health outcomes and "
            "financial goals set out in the strategic commissioning plan.",
        ),
    ),
    Plan.ORGANISATIONAL_DEVELOPMENT_PLAN: (
        seed(
            "000",
            191,
            "The Organisational Development plan describes the organisational "
            "capabilities needed to deliver the strategic commissioning plan",
        ),
        seed(
            "002",
            1217,
            "This describes the organisational capabilities needed to deliver the "
            "strategic commissioning plan, the capability gaps and how they will be filled.",
        ),
    ),
}


class Destination(str, Enum):
    """Where the CDW guide tells commissioners to feed what CDWs find, beside the three plans
    (000:218, 237, 242, 243, 259, 264)."""

    LOCAL_IMPLEMENTATION_TEAM = "lit"
    JOINT_STRATEGIC_NEEDS_ASSESSMENT = "jsna"
    LOCAL_STRATEGIC_PLAN_AND_AREA_AGREEMENT = "lsp_laa"
    PCT_DECISION_MAKING = "pct_decision_making"
    PROVIDER_WORKFORCE_MONITORING = "provider_workforce_monitoring"
    CONTRACT_MONITORING = "contract_monitoring"

    @property
    def title(self) -> str:  # type: ignore[override]  # a display title, shadowing str.title on purpose
        return DESTINATION_TITLES[self]


DESTINATION_TITLES: dict[Destination, str] = {
    Destination.LOCAL_IMPLEMENTATION_TEAM: "Local Implementation Team for mental health (LIT)",
    Destination.JOINT_STRATEGIC_NEEDS_ASSESSMENT: "Joint Strategic Needs Assessment (JSNA)",
    Destination.LOCAL_STRATEGIC_PLAN_AND_AREA_AGREEMENT: "Local Strategic Plan and Local Area Agreement (LSP/LAA)",
    Destination.PCT_DECISION_MAKING: "Decision making of the PCT (now the ICB) and provider trusts",
    Destination.PROVIDER_WORKFORCE_MONITORING: "Monitoring providers on workforce development",
    Destination.CONTRACT_MONITORING: "Monitoring of providers' contracts and quality",
}

DESTINATION_SOURCES: dict[Destination, tuple[SeedRef, ...]] = {
    Destination.LOCAL_IMPLEMENTATION_TEAM: (
        seed(
            "000", 237, "Feed the information into local implementation teams for mental health (LITS) and Action Plans"
        ),
        seed(
            "000",
            259,
            "effectively supported to feed into local and regional mechanisms eg. Local Implementation Teams",
        ),
        seed("000", 264, "Ensure that this information and champions in the community are fed into the LIT process"),
    ),
    Destination.JOINT_STRATEGIC_NEEDS_ASSESSMENT: (
        seed(
            "000",
            237,
            "Feed into the development and implementation of the Local Joint Strategic "
            "Needs Assessment (JSNA) processes.",
        ),
    ),
    Destination.LOCAL_STRATEGIC_PLAN_AND_AREA_AGREEMENT: (
        seed("000", 237, "Feed into Local strategic plans (LSPs) and Local Area Agreements (LAA)"),
        seed("000", 243, "Feed into Local strategic plans (LSPs) and Local Area Agreements (LAA)"),
    ),
    Destination.PCT_DECISION_MAKING: (
        seed(
            "000",
            259,
            "To ensure that the community stakeholders also feed into the key decision "
            "making processes of the PCT/ Provider Trust/ organisation.",
        ),
    ),
    Destination.PROVIDER_WORKFORCE_MONITORING: (
        seed(
            "000", 237, "Link to monitoring providers on workforce development, competencies and overall performance."
        ),
        seed(
            "000", 243, "Link to monitoring providers on workforce development, competencies and overall performance."
        ),
    ),
    Destination.CONTRACT_MONITORING: (
        seed("000", 242, "Contract monitoring"),
        seed("000", 264, "Ensure the monitoring of performance of quality through the contracts"),
    ),
}


def taxonomy_document() -> dict:
    """The taxonomy as plain JSON-able data, for the API and the docs: every entry with the
    quotes it rests on."""
    return {
        "stages": [
            {
                "number": int(s),
                "id": s.slug,
                "title": s.title,
                "alias": STAGE_ALIASES.get(s),
                "cites": as_json(STAGE_SOURCES[s]),
            }
            for s in Stage
        ],
        "competencies": [
            {
                "number": int(c),
                "id": c.slug,
                "title": c.title,
                "description": c.description,
                "other_names": list(c.other_names),
                "cites": as_json(
                    (COMPETENCY_SOURCES[c], *(r for _, refs in COMPETENCY_OTHER_NAMES.get(c, ()) for r in refs))
                ),
            }
            for c in Competency
        ],
        "cdw_roles": [
            {
                "id": m.role.value,
                "step": m.step,
                "title": m.title,
                "activities": list(m.activities),
                "stages": sorted(int(s) for s in m.stages),
                "competencies": sorted(int(c) for c in m.competencies),
                "seed_ref": m.seed_ref,
                "reading": m.reading,
                "cites": as_json(m.cites),
            }
            for m in CDW_ROLES.values()
        ],
        "plans": [{"id": p.value, "title": p.title, "cites": as_json(PLAN_SOURCES[p])} for p in Plan],
        "destinations": [
            {"id": d.value, "title": d.title, "cites": as_json(DESTINATION_SOURCES[d])} for d in Destination
        ],
    }
