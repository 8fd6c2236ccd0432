"""The commissioning taxonomy, as the seed documents write it.

Every stage, competency, community development worker (CDW) role and plan the platform
speaks of is defined here and nowhere else. Seed references are ``file:line`` into
``docs/seeds/``.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum

SEED_CDW_GUIDE = "000_7e844ea1bcdc73dd.txt"
SEED_COMMISSIONING_FRIEND = "002_82c4fd005c265713.txt"


class Stage(IntEnum):
    """The eight stages of the commissioning cycle (000:199-256; 002:1198)."""

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
    # 002:1198 calls this stage "strategic options".
    Stage.STRATEGIC_PLANNING: "Strategic planning",
    Stage.CONTRACT_IMPLEMENTATION: "Contract implementation",
    Stage.PROVIDER_DEVELOPMENT: "Provider development",
    # 002:1198 calls this stage "mapping provider performance".
    Stage.MANAGING_PERFORMANCE: "Managing performance",
}

STAGE_ALIASES: dict[Stage, str] = {
    Stage.STRATEGIC_PLANNING: "Strategic options",
    Stage.MANAGING_PERFORMANCE: "Mapping provider performance",
}


class Competency(IntEnum):
    """The eleven World Class Commissioning competencies (002:1059-1135)."""

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
    def slug(self) -> str:
        return self.name.lower()


COMPETENCY_TITLES: dict[Competency, tuple[str, str]] = {
    Competency.LOCALLY_LEAD_THE_NHS: (
        "Locally lead the NHS", "Are recognised as the local leader of the NHS."),
    Competency.WORK_WITH_COMMUNITY_PARTNERS: (
        "Work with community partners",
        "Work collaboratively with community partners to commission services that optimise "
        "health gains and reduce health inequalities and deliver increased productivity."),
    Competency.ENGAGE_WITH_PUBLIC_AND_PATIENTS: (
        "Engage with public and patients",
        "Proactively build continuous and meaningful engagement with the public and patients "
        "to shape services and improve health."),
    Competency.COLLABORATE_WITH_CLINICIANS: (
        "Collaborate with clinicians",
        "Lead continuous and meaningful engagement of a broad range of clinicians to inform "
        "strategy and drive quality, service design, and efficient and effective use of resources."),
    Competency.MANAGE_KNOWLEDGE_AND_ASSESS_NEEDS: (
        "Manage knowledge and assess needs",
        "Manage knowledge and undertake robust and regular needs assessment that establish a full "
        "understanding of current and future local health needs and requirements."),
    Competency.PRIORITISE_INVESTMENT: (
        "Prioritise investment",
        "Prioritise investment of all spend in line with different financial scenarios and "
        "according to local needs, service requirements and the values of the NHS."),
    Competency.STIMULATE_THE_MARKET: (
        "Stimulate the market",
        "Effectively stimulate the market to meet demand and secure required clinical and health "
        "and well-being outcomes."),
    Competency.PROMOTE_IMPROVEMENT_AND_INNOVATION: (
        "Promote improvement and innovation",
        "Promote and specify continuous improvements in quality and outcomes through clinical and "
        "provider innovation and configuration."),
    Competency.SECURE_PROCUREMENT_SKILLS: (
        "Secure procurement skills",
        "Secure procurement skills that ensure robust and viable contracts."),
    Competency.MANAGE_THE_LOCAL_HEALTH_SYSTEM: (
        "Manage the local health system",
        "Effectively manage systems and work in partnership with providers to ensure contract "
        "compliance and continuous improvement in quality and outcomes and value for money."),
    Competency.EFFICIENCY_AND_EFFECTIVENESS_OF_SPEND: (
        "Efficiency and effectiveness of spend", "Ensuring efficiency and effectiveness of spend."),
}


class CDWRole(str, Enum):
    """The four steps of the CDW model (000:195-264)."""

    ACCESS_FACILITATOR = "access_facilitator"
    CHANGE_AGENT = "change_agent"
    SERVICE_DEVELOPER = "service_developer"
    CAPACITY_BUILDER = "capacity_builder"


@dataclass(frozen=True)
class CDWRoleMapping:
    role: CDWRole
    step: int
    title: str
    activities: tuple[str, ...]
    competencies: frozenset[Competency]
    stages: frozenset[Stage]
    seed_ref: str


def _stages(*numbers: int) -> frozenset[Stage]:
    return frozenset(Stage(n) for n in numbers)


def _competencies(*numbers: int) -> frozenset[Competency]:
    return frozenset(Competency(n) for n in numbers)


CDW_ROLES: dict[CDWRole, CDWRoleMapping] = {
    CDWRole.ACCESS_FACILITATOR: CDWRoleMapping(
        role=CDWRole.ACCESS_FACILITATOR, step=1, title="Access facilitator",
        activities=("Helping people find pathways", "Signposting",
                    "Addressing language and other barriers"),
        competencies=_competencies(4, 7),
        stages=_stages(2, 3, 4, 7),
        seed_ref=f"{SEED_CDW_GUIDE}:202",
    ),
    # The seed's stage list for this step is garbled (000:217): it reads "1. Assessing needs
    # 2. Reviewing service and gaps analysis 3. Risk management 4. reviewing services and gaps
    # analysis 5. risk management 7. provider development". We take the numbers, 1,2,3,4,5,7,
    # because the step's own rows (000:219-225) feed priorities (stage 4: "evidence base to
    # identify their priorities") and strategic planning (stage 5: "feed information into the
    # strategic planning processes"), while the repeated labels duplicate stages 2 and 3.
    CDWRole.CHANGE_AGENT: CDWRoleMapping(
        role=CDWRole.CHANGE_AGENT, step=2, title="Change agent",
        activities=("Identify the gaps and concerns",
                    "Seek community capability to develop innovative practice",
                    "Increase the communication between community and statutory sector"),
        competencies=_competencies(1, 2, 3, 5, 6, 7, 8, 9, 10),
        stages=_stages(1, 2, 3, 4, 5, 7),
        seed_ref=f"{SEED_CDW_GUIDE}:217",
    ),
    CDWRole.SERVICE_DEVELOPER: CDWRoleMapping(
        role=CDWRole.SERVICE_DEVELOPER, step=3, title="Service developer",
        activities=("Advising on training and education of staff",
                    "Highlight the importance of culture in service systems and practice",
                    "Develop joint working between statutory and community services"),
        competencies=_competencies(1, 2, 4, 6, 8, 10, 11),
        stages=_stages(1, 2, 4, 5, 6, 7),
        seed_ref=f"{SEED_CDW_GUIDE}:236",
    ),
    CDWRole.CAPACITY_BUILDER: CDWRoleMapping(
        role=CDWRole.CAPACITY_BUILDER, step=4, title="Capacity builder",
        activities=("Developing socially inclusive BME communities",
                    "Engaging in the establishment of community leadership",
                    "Assist in the development of community organisations"),
        competencies=_competencies(1, 2, 3, 5, 6, 7, 9, 10, 11),
        stages=_stages(1, 6, 7, 8),
        seed_ref=f"{SEED_CDW_GUIDE}:256-262",
    ),
}


class Plan(str, Enum):
    """The three plans the commissioning cycle produces and revises (000:185-191; 002:1200-1216)."""

    STRATEGIC_COMMISSIONING_PLAN = "strategic_commissioning_plan"
    # 002:1208 calls it the financial plan.
    OPERATING_PLAN = "operating_plan"
    ORGANISATIONAL_DEVELOPMENT_PLAN = "organisational_development_plan"


PLAN_TITLES: dict[Plan, str] = {
    Plan.STRATEGIC_COMMISSIONING_PLAN: "Strategic Commissioning Plan",
    Plan.OPERATING_PLAN: "Operating Plan (financial plan)",
    Plan.ORGANISATIONAL_DEVELOPMENT_PLAN: "Organisational Development Plan",
}


def taxonomy_document() -> dict:
    """The whole taxonomy as plain JSON-able data, for APIs and docs."""
    return {
        "stages": [
            {"number": int(s), "id": s.slug, "title": s.title,
             "alias": STAGE_ALIASES.get(s), "seed_ref": f"{SEED_CDW_GUIDE}:199-256"}
            for s in Stage
        ],
        "competencies": [
            {"number": int(c), "id": c.slug, "title": c.title, "description": c.description,
             "seed_ref": f"{SEED_COMMISSIONING_FRIEND}:1059-1135"}
            for c in Competency
        ],
        "cdw_roles": [
            {"id": m.role.value, "step": m.step, "title": m.title,
             "activities": list(m.activities),
             "stages": sorted(int(s) for s in m.stages),
             "competencies": sorted(int(c) for c in m.competencies),
             "seed_ref": m.seed_ref}
            for m in CDW_ROLES.values()
        ],
        "plans": [{"id": p.value, "title": PLAN_TITLES[p]} for p in Plan],
    }
