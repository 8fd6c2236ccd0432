"""Controlled vocabularies for events: themes, communities, sources, sectors, indicators.

A closed list keeps rollups comparable across partners; each entry says where in the seeds it
comes from. Adding an entry is a contract change (bump the schema files with
``python -m contracts.export``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .citations import LocalDefault, SeedRef, local, seed


class Theme(str, Enum):
    """What a community engagement finding is about (000:195-264; 001:67-70; 003:66-87)."""

    ACCESS_AND_LANGUAGE_BARRIERS = "access_and_language_barriers"
    PATHWAY_CONFUSION = "pathway_confusion"
    STIGMA = "stigma"
    UNMET_NEED = "unmet_need"
    SERVICE_GAP = "service_gap"
    HEALTHCARE_RISK = "healthcare_risk"
    OVER_REPRESENTATION_IN_DETENTION = "over_representation_in_detention"
    CULTURAL_APPROPRIATENESS = "cultural_appropriateness"
    STAFF_TRAINING = "staff_training"
    JOINT_WORKING = "joint_working"
    INNOVATIVE_PRACTICE = "innovative_practice"
    COMMUNITY_LEADERSHIP = "community_leadership"
    COMMUNITY_ORGANISATION_CAPACITY = "community_organisation_capacity"
    CONTRACT_COMPLIANCE = "contract_compliance"
    FUNDING_INSECURITY = "funding_insecurity"
    ETHNICITY_DATA_GAPS = "ethnicity_data_gaps"
    UNDER_USE_OF_SERVICES = "under_use_of_services"
    EVIDENCE_FOR_DECOMMISSIONING = "evidence_for_decommissioning"


#: Themes that report a need going unmet; the unmet-need alert rule counts these.
UNMET_NEED_THEMES: frozenset[Theme] = frozenset({Theme.UNMET_NEED, Theme.SERVICE_GAP})


class Community(str, Enum):
    """Communities the seeds name (000:60; 001; 003:89-95)."""

    AFRICAN = "african"
    AFRICAN_CARIBBEAN = "african_caribbean"
    SOMALI = "somali"
    IRISH = "irish"
    CHINESE = "chinese"
    PAKISTANI = "pakistani"
    BANGLADESHI = "bangladeshi"
    INDIAN = "indian"
    GYPSY_AND_TRAVELLER = "gypsy_and_traveller"
    REFUGEES_AND_ASYLUM_SEEKERS = "refugees_and_asylum_seekers"
    EAST_EUROPEAN = "east_european"
    WHITE_OTHER = "white_other"
    DUAL_HERITAGE = "dual_heritage"
    BME_COMMUNITIES_GENERALLY = "bme_communities_generally"


class FindingSource(str, Enum):
    """How a finding was gathered (000:217-264; 001:8; 003:66-87)."""

    COMMUNITY_FORUM = "community_forum"
    CONSULTATION = "consultation"
    MAPPING_EXERCISE = "mapping_exercise"
    LITERATURE_REVIEW = "literature_review"
    COMMUNITY_AUDIT = "community_audit"
    SURVEY = "survey"
    FOCUS_GROUP = "focus_group"
    PEER_REVIEW = "peer_review"
    REVERSE_COMMISSIONING_WORKSHOP = "reverse_commissioning_workshop"
    OUTREACH = "outreach"


class Severity(str, Enum):
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def weight(self) -> int:
        return SEVERITY_WEIGHTS[self]


SEVERITY_WEIGHTS: dict[Severity, int] = {
    Severity.LOW: 1,
    Severity.MODERATE: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


class ProviderSector(str, Enum):
    STATUTORY = "statutory"
    VOLUNTARY = "voluntary"  # voluntary, community and social enterprise (VCSE)
    INDEPENDENT = "independent"


class OrganisationKind(str, Enum):
    VCSE_PROVIDER = "vcse_provider"
    COMMUNITY_DEVELOPMENT_WORKERS = "community_development_workers"
    FAITH_OR_COMMUNITY_GROUP = "faith_or_community_group"
    NHS_TRUST = "nhs_trust"
    INDEPENDENT_HOSPITAL = "independent_hospital"  # a registered hospital outside the NHS (001:234)
    GP_FEDERATION = "gp_federation"  # primary care reporting physical health checks (004:553)
    COMMISSIONER = "commissioner"
    PEER_REVIEW_PANEL = "peer_review_panel"


class Unit(str, Enum):
    PERCENT = "percent"
    COUNT = "count"
    GBP = "gbp"
    DAYS = "days"
    RATE_PER_100K = "rate_per_100k"
    RATIO = "ratio"


#: The largest count (of people, records, cases) and the largest sum of money any event may
#: carry. Local defaults, not from the seeds: far beyond any one provider's figures, and low
#: enough that the reports' totals over every provider and period stay finite and fit their
#: columns (a sum of values near the float maximum was an infinity no JSON answer can carry).
MAX_COUNT = 1_000_000_000
MAX_GBP = 1_000_000_000_000.0
#: The largest ratio (a group's use of a service against its share of the population). Local
#: default: a group using a service a million times more than its share is a typo.
MAX_RATIO = 1_000_000.0

#: The values a measure in each unit can take (inclusive). Counts, money, rates and ratios are
#: never negative and a percentage is 0 to 100; days are signed (a contract that ended is a
#: negative number of days until its end) and bounded at a century either way.
UNIT_RANGES: dict[Unit, tuple[float, float]] = {
    Unit.PERCENT: (0.0, 100.0),
    Unit.COUNT: (0.0, float(MAX_COUNT)),
    Unit.GBP: (0.0, MAX_GBP),
    Unit.DAYS: (-36_600.0, 36_600.0),
    Unit.RATE_PER_100K: (0.0, 100_000.0),
    Unit.RATIO: (0.0, MAX_RATIO),
}


def outside_range(unit: Unit, value: float) -> str | None:
    """Why ``value`` cannot be a measure in ``unit``, or None when it can."""
    low, high = UNIT_RANGES[unit]
    if value < low:
        return f"a value in {unit.value} is at least {low:,.0f}"
    if value > high:
        return f"a value in {unit.value} is at most {high:,.0f}"
    return None


class Indicator(str, Enum):
    """Provider performance indicators (002:1160-1164, 002:1434-1449; 004:616-633; 001:648-720)."""

    SEVEN_DAY_FOLLOW_UP = "seven_day_follow_up"
    FOUR_WEEK_WAIT = "four_week_wait"
    IAPT_ACCESS = "iapt_access"
    EIP_NEW_CASES = "eip_new_cases"
    CRISIS_HOME_TREATMENT_EPISODES = "crisis_home_treatment_episodes"
    SETTLED_ACCOMMODATION = "settled_accommodation"
    EMPLOYMENT = "employment"
    SMI_PHYSICAL_HEALTH_CHECK = "smi_physical_health_check"
    CARERS_SUPPORTED = "carers_supported"
    ETHNICITY_RECORDING_COMPLETENESS = "ethnicity_recording_completeness"
    UTILISATION_BY_ETHNIC_GROUP = "utilisation_by_ethnic_group"
    COERCIVE_CARE_BY_ETHNIC_GROUP = "coercive_care_by_ethnic_group"
    FUNDING = "funding"
    CONTRACT_END = "contract_end"
    PAYMENT_OVERDUE = "payment_overdue"


@dataclass(frozen=True)
class IndicatorSpec:
    """An indicator's meaning and unit, whether higher is better, and its default target:
    ``cites`` quotes where the seeds name the measure, ``target_source`` where the default target
    comes from (None when there is no default: the event's own target, or an area's, applies)."""

    indicator: Indicator
    title: str
    unit: Unit
    higher_is_better: bool
    default_target: float | None
    cites: tuple[SeedRef | LocalDefault, ...]
    target_source: SeedRef | LocalDefault | None = None

    @property
    def target_is_local(self) -> bool:
        """Whether the default target is the platform's own figure, not one the seeds give."""
        return isinstance(self.target_source, LocalDefault)

    def meets(self, value: float, target: float) -> bool:
        """Whether ``value`` is at or better than ``target``, better following the indicator's
        direction."""
        return value >= target if self.higher_is_better else value <= target


#: How a target is named wherever it is shown (API, dashboard, alert text): a figure the seeds
#: give is a "target" and cites them; a local default, or a figure an area sets, is a "local
#: target"; one sent with the provider's figures is a "reported target".
SEED_TARGET, LOCAL_TARGET, REPORTED_TARGET = "target", "local target", "reported target"


def default_target_label(spec: IndicatorSpec) -> str | None:
    """The name of an indicator's default target, or None when it has none."""
    if spec.default_target is None:
        return None
    return LOCAL_TARGET if spec.target_is_local else SEED_TARGET


INDICATORS: dict[Indicator, IndicatorSpec] = {
    s.indicator: s
    for s in (
        IndicatorSpec(
            Indicator.SEVEN_DAY_FOLLOW_UP,
            "Patients followed up within 7 days of discharge from inpatient care",
            Unit.PERCENT,
            True,
            95.0,
            (
                local(
                    "no seed names follow-up after discharge; it is a common contract quality "
                    "standard for mental health inpatient care"
                ),
            ),
            local(
                "95% is a local target, the platform's default until an area sets its own; "
                "no seed gives a follow-up target"
            ),
        ),
        IndicatorSpec(
            Indicator.FOUR_WEEK_WAIT,
            "Percentage of patients waiting four weeks or less for support",
            Unit.PERCENT,
            True,
            95.0,
            (
                seed("004", 623, "Percentage of patients waiting for four weeks or less for support"),
                seed("004", 50, "A new four-week waiting time is being trialled"),
            ),
            local(
                "95% is a local target, the platform's default until an area sets its own: "
                "the seeds give the measure (004:623) but no figure, call the four-week wait "
                "a standard being trialled (004:50) and warn against rigid targets (004:222)"
            ),
        ),
        IndicatorSpec(
            Indicator.IAPT_ACCESS,
            "Proportion of people with depression and/or anxiety offered psychological therapy",
            Unit.PERCENT,
            True,
            None,
            (
                seed(
                    "002",
                    (1444, 1445),
                    "IAPT (proportion of people with depression and/or anxiety "
                    "disorders who are offered psychological therapy)",
                ),
            ),
        ),
        IndicatorSpec(
            Indicator.EIP_NEW_CASES,
            "New cases of psychosis served by early intervention teams",
            Unit.COUNT,
            True,
            None,
            (seed("002", 1436, "7,500 new cases of psychosis served by Early Intervention teams each year"),),
        ),
        IndicatorSpec(
            Indicator.CRISIS_HOME_TREATMENT_EPISODES,
            "Crisis resolution and home treatment episodes",
            Unit.COUNT,
            True,
            None,
            (seed("002", 1437, "100,000 Crisis Resolution and Home Treatment episodes each year"),),
        ),
        IndicatorSpec(
            Indicator.SETTLED_ACCOMMODATION,
            "Adults in contact with secondary mental health services in settled accommodation",
            Unit.PERCENT,
            True,
            None,
            (
                seed(
                    "002",
                    1448,
                    "Proportion of adults in contact with secondary mental health services in settled accommodation",
                ),
            ),
        ),
        IndicatorSpec(
            Indicator.EMPLOYMENT,
            "Adults in contact with secondary mental health services in employment",
            Unit.PERCENT,
            True,
            None,
            (seed("002", 1449, "Proportion of adults in contact with secondary mental health services in employment"),),
        ),
        IndicatorSpec(
            Indicator.SMI_PHYSICAL_HEALTH_CHECK,
            "People with severe mental illness who received an annual physical health check",
            Unit.PERCENT,
            True,
            None,
            (
                seed(
                    "004",
                    625,
                    "Percentage of people with severe mental illness who have received an annual physical health check",
                ),
            ),
        ),
        IndicatorSpec(
            Indicator.CARERS_SUPPORTED,
            "Family members and friends supporting service users who feel supported",
            Unit.PERCENT,
            True,
            None,
            (
                seed(
                    "004",
                    632,
                    "Do family members and friends supporting the service user feel supported, listened to and valued?",
                ),
            ),
        ),
        IndicatorSpec(
            Indicator.ETHNICITY_RECORDING_COMPLETENESS,
            "Records with a valid ethnic category",
            Unit.PERCENT,
            True,
            90.0,
            (
                seed(
                    "001",
                    685,
                    "98.8% valid ethnicity codes recorded against the patient records. This could be misleading",
                ),
                seed("001", 709, "meaningful data collection for \u201cWhite other\u201d and dual heritage categories"),
            ),
            local(
                "90% is a local target, the platform's default until an area sets its own; "
                "the seeds give no completeness figure, only that 98.8% valid codes could "
                "mislead (001:685)"
            ),
        ),
        IndicatorSpec(
            Indicator.UTILISATION_BY_ETHNIC_GROUP,
            "Service use by an ethnic group relative to its share of the population",
            Unit.RATIO,
            True,
            1.0,
            (
                seed(
                    "003",
                    70,
                    "to determine the extent to which BME Communities are utilising the existing clinical services",
                ),
            ),
            local(
                "parity (1.0): a group using a service in proportion to its share of the "
                "population; the seeds give no figure"
            ),
        ),
        IndicatorSpec(
            Indicator.COERCIVE_CARE_BY_ETHNIC_GROUP,
            "Detention, compulsory admission or seclusion of an ethnic group relative to its share of the population",
            Unit.RATIO,
            False,
            1.0,
            (
                seed("001", 650, "analysis of why a high number of black people are detained in acute wards"),
                seed("001", 722, "reduction in the rates of compulsory detention of BME users in inpatient units"),
            ),
            local(
                "parity (1.0): a group detained or secluded in proportion to its share of the "
                "population; above it is over-representation; the seeds give no figure"
            ),
        ),
        IndicatorSpec(
            Indicator.FUNDING,
            "Funding committed against funding required",
            Unit.GBP,
            True,
            None,
            (
                seed("001", 739, "others spread grants ranging from \u00a3500 to 10,000 across 10 or more projects"),
                seed(
                    "004",
                    135,
                    "VCSE organisations are, in particular, used to operating in a competitive funding environment",
                ),
            ),
            None,
        ),
        IndicatorSpec(
            Indicator.CONTRACT_END,
            "Days until the contract ends",
            Unit.DAYS,
            True,
            None,
            (
                seed("001", 794, "adequate time is needed to engage stakeholders and successfully tender for projects"),
                seed("004", 286, "These contracts usually exist over a longer-term period of delivery"),
            ),
            None,
        ),
        IndicatorSpec(
            Indicator.PAYMENT_OVERDUE,
            "Days a payment to the provider is overdue",
            Unit.DAYS,
            False,
            0.0,
            (
                local(
                    "no seed speaks of overdue payments; the platform watches them because small "
                    "sums matter to small voluntary providers"
                ),
                seed(
                    "001",
                    756,
                    "small amounts of funding can release the potential of projects by "
                    "enabling small community groups to pay for administrative support",
                ),
            ),
            local("0 days: a payment is due on its date"),
        ),
    )
}

#: Indicators about money reaching a provider: judged by the funding rules and shown on the
#: funding page, not as performance against a target.
FUNDING_INDICATORS = frozenset({Indicator.FUNDING, Indicator.CONTRACT_END, Indicator.PAYMENT_OVERDUE})
#: A group's share of a provider's users (or of the people it detained or secluded) against the
#: group's share of the population: these need ``community`` and ``population_share``.
#: Utilisation is access, where under-use is the concern; coercive care is where
#: over-representation is (001:650, 001:722).
GROUP_SHARE_INDICATORS = frozenset({Indicator.UTILISATION_BY_ETHNIC_GROUP, Indicator.COERCIVE_CARE_BY_ETHNIC_GROUP})
#: Indicators about recording and using ethnicity: the race equality rule reads them.
RACE_EQUALITY_INDICATORS = frozenset({Indicator.ETHNICITY_RECORDING_COMPLETENESS}) | GROUP_SHARE_INDICATORS
