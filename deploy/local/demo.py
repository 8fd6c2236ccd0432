"""Load a realistic demo data set through the intake API, drawn from the seed documents.

    python -m deploy.local.demo

Organisations, places and communities are those the seeds name (Pattigift African Centred
Counselling, Church of God of Prophecy, Support 4 Progress, the Chinese community in Easington,
the Pakistani community in Sheffield, the Greater Peterborough Network GP Federation, ...). The
demo holds 24 months of findings and monthly provider returns, so trends, previous windows and
SPC charts have a history, and it is built so that every alert rule the platform has
(contracts.events.AlertRule) fires somewhere (:func:`expected_alerts`):

* unmet need: a rise in findings from the Pakistani community in Sheffield in the last month;
* funding gap: the Northampton forum's Value Added Grant, half committed ("A sum of £5000 value
  added grant funding was used to support 8 Northampton voluntary organisations", 001:756);
* contract ending: the Somerset VCSE alliance's contract, ending in two months, no renewal;
* payment overdue: a grant instalment owed to the Barnet, Enfield and Haringey peer mentors;
* performance below target: the Birmingham and Solihull trust's 7-day follow-up and four-week
  wait, below the local targets for months;
* ethnicity data gap: the same trust's ethnicity codes, 98.7-98.8% valid with "not stated" hidden
  in them ("98.8% valid ethnicity codes ... This could be misleading as some of the codes may be
  under the category ‘not stated’", 001:685);
* under-use by a community: the Pakistani community's use of that trust against its share of
  the population;
* over-representation in coercive care: African Caribbean people among those the trust detained;
* provider silence: Support 4 Progress, whose monthly returns stopped three months ago;
* recommendations: every finding carries one; the area's commissioners answer those older than
  ``ANSWER_AFTER_DAYS`` (:func:`answers`), so a few are not followed up, and one accepted action
  in Birmingham and Solihull is overdue.

Dates are relative to an anchor day kept in $CSP_HOME/demo-anchor (the day of the first run) and
every event id derives from it, so running it again answers 'duplicate' rather than adding data
twice. Keys are written to $CSP_HOME/demo-keys.json.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import os
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time as dtime, timedelta, timezone
from pathlib import Path

import httpx

from contracts.events import AlertRule
from contracts.places import AREAS
from contracts.vocabulary import Indicator, Theme
from services.common.auth import KeyStore, Role
from services.common.db import create_pool
from services.common.migrate import require_current
from services.common.organisations import Registration, Registry
from services.common.settings import CommonSettings
from deploy.local import demo_funding, demo_peer_reviews
from services.mapping.domain import ruleset

HOME = Path(os.environ.get("CSP_HOME", ".local/stack"))
INTAKE = f"http://127.0.0.1:{os.environ.get('CSP_INTAKE_PORT', '8081')}"
REPORTING = f"http://127.0.0.1:{os.environ.get('CSP_REPORTING_PORT', '8084')}"
ALERTS_API = f"http://127.0.0.1:{os.environ.get('CSP_ALERTS_API_PORT', '8086')}"
#: The namespace of the demo's event ids. A new namespace for a new demo: an id the earlier demo
#: posted with another body would be refused as a conflict.
NS = uuid.UUID("0b4c6f7e-2d59-4f3a-8e61-5a9d3c7b2e14")
#: Months of history: two years, so a year's chart has the year before it to compare with.
MONTHS = 24
#: The findings' blocks of time: 29 days each, counted back from yesterday, so the current and
#: the previous 30-day window of a report each hold one whole block.
BLOCK_DAYS = 29
BATCH = 500  # intake's batch limit
#: Organisation kinds the seeds call these providers by; contracts.vocabulary.OrganisationKind
#: has neither yet. Pattigift is "the first Health Care commission registered acute psychiatric
#: hospital with a specific focus in supporting people from African descent" (001:234);
#: the GP federation provides the SMI physical health checks (004:553).
INDEPENDENT_HOSPITAL = "independent_hospital"
GP_FEDERATION = "gp_federation"


@dataclass(frozen=True)
class Trend:
    """A monthly percentage (or count) moving from ``first`` to ``last`` over the history, with
    noise; ``records`` is the range of the monthly denominator."""

    indicator: Indicator
    first: float
    last: float
    spread: float
    records: tuple[int, int]
    community: str | None = None
    #: For utilisation: the group's share of the area's population. An illustrative figure:
    #: the seeds give none.
    population_share: float | None = None


@dataclass(frozen=True)
class EthnicityCodes:
    """Monthly ethnicity recording counts: the share of records with a valid code and, within
    it, the share coded "not stated"."""

    valid: tuple[float, float]
    not_stated: tuple[float, float]
    records: tuple[int, int]


@dataclass(frozen=True)
class Money:
    """A voluntary provider's funding, quarterly: ``required`` and ``committed`` in pounds, a
    contract end ``ends_in`` days after the anchor (None: no contract end reported), and an
    instalment ``overdue`` days late at the last month's end (None: no payment reported).
    The Value Added Grants follow the seeds (£500 to £10,000, 001:739; £5000 in Northampton,
    001:756); the seeds give no contract sums, so the larger ones are illustrative."""

    required: float
    committed: float
    ends_in: int | None = None
    renewal_recorded: bool = False
    overdue: float | None = None


@dataclass(frozen=True)
class Partner:
    id: str
    name: str
    kind: str
    area: str
    communities: tuple[str, ...]
    themes: tuple[str, ...]
    #: Findings per 29-day block: drawn from these counts.
    findings: tuple[int, ...] = (0, 1, 1, 2)
    sector: str | None = None
    series: tuple[Trend, ...] = ()
    ethnicity: EthnicityCodes | None = None
    money: Money | None = None
    #: Months, counted back from the last complete one, with no return (a silent provider).
    silent_months: int = 0
    #: Extra findings in the latest block: (community, theme, how many).
    surge: tuple[str, str, int] | None = None
    #: Where the seeds name it: "file:line quote", several joined by "; ", a quote's parts by
    #: " ... " (tests/unit/deploy/test_demo.py checks each part is on its line).
    seeds: str = ""


I = Indicator  # noqa: E741 - short name for the tables below
PARTNERS: tuple[Partner, ...] = (
    Partner(
        "pattigift",
        "Pattigift African Centred Counselling",
        INDEPENDENT_HOSPITAL,
        "BSOL",
        ("african", "african_caribbean"),
        ("cultural_appropriateness", "unmet_need", "healthcare_risk"),
        sector="independent",
        series=(
            Trend(I.SEVEN_DAY_FOLLOW_UP, 96.5, 98.0, 2.0, (10, 16)),
            Trend(I.FOUR_WEEK_WAIT, 93.0, 97.5, 1.5, (40, 60)),
        ),
        seeds="001:234 registered acute psychiatric hospital",
    ),
    Partner(
        "church-of-god-of-prophecy",
        "Church of God of Prophecy",
        "faith_or_community_group",
        "BSOL",
        ("african_caribbean",),
        ("stigma", "pathway_confusion", "community_leadership"),
        seeds="003:103 mobilizing health and social care professionals amongst it's congregations",
    ),
    Partner(
        "bsol-cdw-team",
        "Birmingham and Solihull community development workers",
        "community_development_workers",
        "BSOL",
        ("somali", "pakistani", "irish", "african_caribbean"),
        ("service_gap", "access_and_language_barriers", "unmet_need", "joint_working"),
        findings=(1, 1, 2, 3),
    ),
    Partner(
        "black-country-cdw",
        "Black Country community development workers",
        "community_development_workers",
        "BLKC",
        ("indian", "pakistani", "gypsy_and_traveller"),
        ("access_and_language_barriers", "service_gap", "under_use_of_services"),
    ),
    Partner(
        "support-4-progress",
        "Support 4 Progress",
        "vcse_provider",
        "GMAN",
        ("african", "refugees_and_asylum_seekers"),
        ("unmet_need", "community_organisation_capacity", "funding_insecurity"),
        sector="voluntary",
        series=(Trend(I.CARERS_SUPPORTED, 62.0, 71.0, 4.0, (20, 35)),),
        money=Money(required=40_000, committed=40_000),
        silent_months=3,
        seeds="001:240 for families and young people with mental health needs ... Home Office funding",
    ),
    Partner(
        "easington-cdw",
        "Easington community development worker",
        "community_development_workers",
        "EASI",
        ("chinese",),
        ("access_and_language_barriers", "under_use_of_services", "pathway_confusion"),
        seeds="001:50 within Easington, focuses on the Chinese community",
    ),
    Partner(
        "sheffield-pakistani-forum",
        "Sheffield Pakistani community forum",
        "faith_or_community_group",
        "SHEF",
        ("pakistani",),
        ("stigma", "unmet_need"),
        findings=(0, 1, 1),
        surge=("pakistani", "unmet_need", 6),
        seeds="001:61 to promote the model of EPIC to the local Pakistani community",
    ),
    Partner(
        "east-london-cdw",
        "East London community development workers",
        "community_development_workers",
        "ELON",
        ("african_caribbean", "somali", "bangladeshi"),
        ("over_representation_in_detention", "healthcare_risk", "evidence_for_decommissioning"),
        seeds="001:68 disproportionate use of the Mental Health Act 1983",
    ),
    Partner(
        "beh-peer-mentoring",
        "Barnet, Enfield and Haringey peer mentoring",
        "vcse_provider",
        "BEH",
        ("african_caribbean", "east_european"),
        ("innovative_practice", "joint_working"),
        findings=(0, 0, 1),
        sector="voluntary",
        series=(Trend(I.FOUR_WEEK_WAIT, 84.0, 94.0, 3.0, (12, 25)),),
        money=Money(required=8_000, committed=8_000, ends_in=300, renewal_recorded=True, overdue=24),
        seeds="001:777 Peer Mentoring Scheme for BME Mental Health Service Users in Barnet, Enfield and Haringey",
    ),
    Partner(
        "hampshire-partnership-trust",
        "Hampshire Partnership NHS Trust",
        "nhs_trust",
        "HAMP",
        ("white_other", "dual_heritage"),
        ("cultural_appropriateness", "staff_training", "ethnicity_data_gaps"),
        findings=(0, 0, 1),
        sector="statutory",
        series=(
            Trend(I.SEVEN_DAY_FOLLOW_UP, 96.0, 97.5, 1.0, (70, 110)),
            Trend(I.FOUR_WEEK_WAIT, 90.0, 96.5, 1.5, (180, 260)),
            Trend(I.SETTLED_ACCOMMODATION, 55.0, 61.0, 2.0, (900, 1100)),
            Trend(I.EMPLOYMENT, 7.5, 10.0, 1.0, (900, 1100)),
        ),
        ethnicity=EthnicityCodes(valid=(96.5, 97.5), not_stated=(2.0, 3.5), records=(900, 1200)),
        seeds="001:709 \u201cWhite other\u201d and dual heritage categories",
    ),
    Partner(
        "somerset-vcse-alliance",
        "Somerset VCSE alliance",
        "vcse_provider",
        "SOM",
        ("gypsy_and_traveller", "east_european"),
        ("contract_compliance", "funding_insecurity", "unmet_need"),
        sector="voluntary",
        series=(Trend(I.FOUR_WEEK_WAIT, 88.0, 95.5, 2.0, (60, 120)),),
        money=Money(required=180_000, committed=180_000, ends_in=60),
        seeds="004:81 lead accountable organisation within a new VCSE alliance",
    ),
    Partner(
        "cpft",
        "Cambridgeshire and Peterborough NHS Foundation Trust",
        "nhs_trust",
        "CAMP",
        ("east_european", "white_other"),
        ("service_gap", "ethnicity_data_gaps"),
        findings=(0, 0, 1),
        sector="statutory",
        series=(
            Trend(I.SEVEN_DAY_FOLLOW_UP, 95.5, 97.0, 1.0, (60, 100)),
            Trend(I.FOUR_WEEK_WAIT, 93.5, 96.5, 1.0, (200, 300)),
            Trend(I.IAPT_ACCESS, 13.0, 18.0, 1.0, (2000, 2600)),
            Trend(I.EIP_NEW_CASES, 14.0, 19.0, 3.0, (0, 0)),
        ),
        ethnicity=EthnicityCodes(valid=(98.5, 99.5), not_stated=(4.0, 6.0), records=(1500, 1900)),
    ),
    Partner(
        "greater-peterborough-gp-federation",
        "Greater Peterborough Network GP Federation",
        GP_FEDERATION,
        "CAMP",
        (),
        (),
        findings=(0,),
        sector="statutory",
        series=(Trend(I.SMI_PHYSICAL_HEALTH_CHECK, 28.0, 58.0, 2.5, (300, 380)),),
        seeds="004:553 recruited trained specialist health care assistants ... to provide annual health checks",
    ),
    Partner(
        "bsol-mental-health-trust",
        "Birmingham and Solihull Mental Health NHS Foundation Trust",
        "nhs_trust",
        "BSOL",
        ("african_caribbean", "pakistani"),
        ("under_use_of_services", "evidence_for_decommissioning"),
        findings=(0, 0, 1),
        sector="statutory",
        series=(
            Trend(I.SEVEN_DAY_FOLLOW_UP, 96.5, 91.0, 1.0, (70, 95)),
            Trend(I.FOUR_WEEK_WAIT, 78.0, 89.0, 1.5, (150, 260)),
            Trend(I.CRISIS_HOME_TREATMENT_EPISODES, 36.0, 46.0, 4.0, (0, 0)),
            Trend(
                I.UTILISATION_BY_ETHNIC_GROUP, 6.0, 7.0, 0.6, (500, 700), community="pakistani", population_share=0.13
            ),
            # Detention of African Caribbean people: "analysis of why a high number of
            # black people are detained in acute wards" (001:650).
            Trend(
                I.COERCIVE_CARE_BY_ETHNIC_GROUP,
                15.0,
                12.5,
                1.5,
                (45, 65),
                community="african_caribbean",
                population_share=0.045,
            ),
        ),
        ethnicity=EthnicityCodes(valid=(98.7, 98.8), not_stated=(12.0, 14.5), records=(900, 1100)),
        seeds="001:685 98.8% valid ethnicity codes; 001:686 a collection rate of 98.7%",
    ),
    Partner(
        "northampton-voluntary-forum",
        "Northampton voluntary mental health forum",
        "vcse_provider",
        "NHAM",
        ("african_caribbean", "irish"),
        ("funding_insecurity", "community_organisation_capacity"),
        sector="voluntary",
        money=Money(required=5_000, committed=2_500),
        seeds="001:756 A sum of £5000 value added grant funding",
    ),
)
del I
COMMISSIONERS = [
    ("bsol-icb", "Birmingham and Solihull commissioners", ["BSOL", "BLKC"]),
    ("somerset-icb", "Somerset commissioners", ["SOM"]),
] + [
    (f"{a.lower()}-commissioners", f"{AREAS[a].name} commissioners", [a])
    for a in sorted({p.area for p in PARTNERS} - {"BSOL", "BLKC", "SOM"})
]
SOURCES = [
    "community_forum",
    "consultation",
    "mapping_exercise",
    "community_audit",
    "survey",
    "focus_group",
    "reverse_commissioning_workshop",
    "outreach",
    "literature_review",
]
#: What each finding says, and what its sender recommends, by theme.
FINDINGS: dict[str, tuple[str, str]] = {
    "unmet_need": (
        "Families describe no culturally appropriate support after discharge and rely on faith groups.",
        "Commission a culturally specific after-care service with the community's own organisations.",
    ),
    "service_gap": (
        "No interpreting in the crisis pathway; people leave before assessment.",
        "Fund interpreters on call for the crisis team and audit their use.",
    ),
    "access_and_language_barriers": (
        "Leaflets and GP letters are in English only; older members cannot read them.",
        "Translate the pathway leaflets and offer appointments with interpreters.",
    ),
    "pathway_confusion": (
        "Members do not know how to reach talking therapies without a GP referral.",
        "Publicise self-referral to talking therapies through community venues.",
    ),
    "stigma": (
        "Mental illness is not discussed openly; people wait until crisis.",
        "Support faith and community leaders to run awareness sessions in their venues.",
    ),
    "cultural_appropriateness": (
        "Assessments do not consider cultural and faith context.",
        "Add a cultural assessment to admission, as the Hampshire scheme does.",
    ),
    "staff_training": (
        "Ward staff asked for race equality and cultural competency training.",
        "Monitor the provider's workforce development plan for race equality training.",
    ),
    "joint_working": (
        "Trust and community centre agreed joint drop-in sessions.",
        "Keep the joint drop-in in the next contract and report its use.",
    ),
    "innovative_practice": (
        "Peer mentors from the community run barbershop conversations about wellbeing.",
        "Evaluate the scheme and consider it for mainstream funding.",
    ),
    "community_leadership": (
        "Faith leaders volunteered as mental health champions.",
        "Invite the champions to the Local Implementation Team.",
    ),
    "community_organisation_capacity": (
        "Small groups lack admin time to bid for contracts.",
        "Offer small grants for administrative support and bid writing.",
    ),
    "contract_compliance": (
        "Alliance members need support to meet contract monitoring requirements.",
        "Agree light monitoring: record once and report once for the alliance.",
    ),
    "funding_insecurity": (
        "Grant ends at year end with no renewal decision; volunteers cover venue costs.",
        "Decide on renewal three months before the grant ends.",
    ),
    "ethnicity_data_gaps": (
        "Ethnicity is missing or recorded as not stated for many referrals.",
        "Report 'not stated' apart from valid codes and set a local completeness target.",
    ),
    "under_use_of_services": (
        "Few referrals from this community despite its share of the population.",
        "Take the provider's data on use back to the community (reverse commissioning).",
    ),
    "over_representation_in_detention": (
        "Community reports high rates of compulsory detention of young Black men.",
        "Map the care pathways that lead to detention with the community.",
    ),
    "healthcare_risk": (
        "Isolation of older members after bereavement raises risk of self-harm.",
        "Fund outreach visits by community workers to isolated older members.",
    ),
    "evidence_for_decommissioning": (
        "Day service is rarely used by the community it was commissioned for.",
        "Review the day service with its users before the contract is renewed.",
    ),
}


def anchor() -> date:
    path = HOME / "demo-anchor"
    if path.exists():
        return date.fromisoformat(path.read_text().strip())
    HOME.mkdir(parents=True, exist_ok=True)
    today = datetime.now(timezone.utc).date()
    path.write_text(today.isoformat())
    return today


def months(day0: date, n: int = MONTHS) -> list[tuple[date, date]]:
    """The last ``n`` complete calendar months before ``day0``, oldest first."""
    out = []
    end = day0.replace(day=1) - timedelta(days=1)
    for _ in range(n):
        start = end.replace(day=1)
        out.append((start, end))
        end = start - timedelta(days=1)
    return out[::-1]


def _id(day0: date, *parts: object) -> str:
    return str(uuid.uuid5(NS, ":".join(map(str, (day0, *parts)))))


def _envelope(p: Partner, event_id: str, when: datetime, kind: str, data: dict) -> dict:
    return {
        "event_id": event_id,
        "source": p.id,
        "occurred_at": when.isoformat(),
        "area": p.area,
        "region": AREAS[p.area].region.value,
        "type": f"uk.nhs.commissioning.{kind}.v1",
        "data": data,
    }


@functools.cache
def _rules() -> ruleset.RuleSet:
    return ruleset.load()


def cdw_role(theme: str) -> str:
    """The CDW role a community development worker gathers a finding of ``theme`` under: the
    first the mapping rule set gives the theme (services/mapping/rules/ruleset.yaml)."""
    rule = _rules().theme_rule(Theme(theme))
    assert rule is not None, theme
    return rule.cdw_roles[0].value


def _findings(p: Partner, day0: date, rng: random.Random) -> list[dict]:
    out = []
    for block in range(MONTHS + 1):
        n = rng.choice(p.findings) if p.themes else 0
        plan: list[tuple[str, str, str | None]] = [
            (rng.choice(p.communities), rng.choice(p.themes), None) for _ in range(n)
        ]
        if block == 0 and p.surge:
            community, theme, extra = p.surge
            plan += [(community, theme, "high")] * extra
        for i, (community, theme, severity) in enumerate(plan):
            day = day0 - timedelta(days=block * BLOCK_DAYS + rng.randint(1, BLOCK_DAYS))
            when = datetime.combine(day, dtime(rng.randint(9, 19), rng.choice((0, 15, 30, 45))), timezone.utc)
            summary, recommendation = FINDINGS[theme]
            data = {
                "community": community,
                "theme": theme,
                "severity": severity or rng.choices(["low", "moderate", "high", "critical"], [3, 4, 3, 1])[0],
                "people_affected": rng.randint(3, 120),
                "finding_source": rng.choice(SOURCES),
                "summary": summary,
                "recommendation": recommendation,
            }
            if p.kind == "community_development_workers":
                data["cdw_role"] = cdw_role(theme)
            out.append(_envelope(p, _id(day0, p.id, "finding", block, i), when, "finding", data))
    return out


def _reported(end: date) -> datetime:
    # Reported on the period's last day, never later than yesterday: a time later today could
    # still be ahead of the clock, and intake refuses an event from the future.
    return datetime.combine(end, dtime(18), timezone.utc)


def _performance(
    p: Partner, day0: date, key: str, start: date, end: date, indicator: Indicator, value: float, **extra
) -> dict:
    data = {
        "provider_id": p.id,
        "provider_name": p.name,
        "provider_sector": p.sector,
        "indicator": indicator.value,
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "value": value,
        **extra,
    }
    return _envelope(p, _id(day0, p.id, key, start), _reported(end), "performance", data)


def _returns(p: Partner, day0: date, rng: random.Random) -> list[dict]:
    out = []
    periods = months(day0)
    reported = periods[: len(periods) - p.silent_months]
    last = len(periods) - 1
    for i, (start, end) in enumerate(reported):
        for s in p.series:
            level = s.first + (s.last - s.first) * i / last + rng.gauss(0, s.spread)
            if s.records == (0, 0):  # a count, not a percentage
                out.append(
                    _performance(p, day0, s.indicator.value, start, end, s.indicator, float(max(0, round(level))))
                )
                continue
            records = rng.randint(*s.records)
            numerator = max(0, min(records, round(records * level / 100.0)))
            if s.population_share is not None:
                # The group's share of the users (or of the people detained), against its share
                # of the population.
                ratio = numerator / records / s.population_share
                out.append(
                    _performance(
                        p,
                        day0,
                        f"{s.indicator.value}:{s.community}",
                        start,
                        end,
                        s.indicator,
                        round(ratio, 3),
                        numerator=numerator,
                        denominator=records,
                        community=s.community,
                        population_share=s.population_share,
                    )
                )
                continue
            out.append(
                _performance(
                    p,
                    day0,
                    s.indicator.value,
                    start,
                    end,
                    s.indicator,
                    round(100.0 * numerator / records, 1),
                    numerator=numerator,
                    denominator=records,
                )
            )
        if p.ethnicity:
            e = p.ethnicity
            records = rng.randint(*e.records)
            valid = round(records * rng.uniform(*e.valid) / 100.0)
            not_stated = round(records * rng.uniform(*e.not_stated) / 100.0)
            # The value sent is the share of valid codes, the figure 001:685 calls misleading;
            # the counts let the platform see how much of it is "not stated".
            out.append(
                _performance(
                    p,
                    day0,
                    "ethnicity",
                    start,
                    end,
                    Indicator.ETHNICITY_RECORDING_COMPLETENESS,
                    round(100.0 * valid / records, 1),
                    ethnicity={"valid": valid, "not_stated": not_stated, "missing": records - valid},
                )
            )
        if p.money and p.money.overdue is not None:
            days = float(p.money.overdue) if i == last else 0.0
            out.append(_performance(p, day0, "payment", start, end, Indicator.PAYMENT_OVERDUE, days))
        if p.money and (last - i) % 3 == 0:  # quarterly, the last complete month closing a quarter
            out += _quarter(p, day0, periods[max(0, i - 2)][0], end)
    return out


def _quarter(p: Partner, day0: date, start: date, end: date) -> list[dict]:
    m = p.money
    assert m is not None
    committed, required = float(m.committed), float(m.required)
    out = [
        _performance(
            p,
            day0,
            "funding",
            start,
            end,
            Indicator.FUNDING,
            committed,
            funding_committed_gbp=committed,
            funding_required_gbp=required,
        )
    ]
    if m.ends_in is not None:
        ends = day0 + timedelta(days=m.ends_in)
        out.append(
            _performance(
                p,
                day0,
                "contract",
                start,
                end,
                Indicator.CONTRACT_END,
                float((ends - end).days),
                contract_end_date=ends.isoformat(),
                renewal_recorded=m.renewal_recorded,
            )
        )
    return out


def build_events(day0: date) -> dict[str, list[dict]]:
    """Every partner's events, for the anchor day ``day0``; the same for the same day."""
    rng = random.Random(20091)  # the seeds' year, for a fixed demo
    return {p.id: _findings(p, day0, rng) + _returns(p, day0, rng) for p in PARTNERS}


def expected_alerts() -> dict[AlertRule, tuple[str, str]]:
    """Where the demo makes each alert rule fire: (area, subject)."""
    return {
        AlertRule.UNMET_NEED: ("SHEF", "community:pakistani"),
        AlertRule.FUNDING_GAP: ("NHAM", "provider:northampton-voluntary-forum"),
        AlertRule.CONTRACT_ENDING: ("SOM", "provider:somerset-vcse-alliance"),
        AlertRule.PAYMENT_OVERDUE: ("BEH", "provider:beh-peer-mentoring"),
        AlertRule.PERFORMANCE_BELOW_TARGET: ("BSOL", "provider:bsol-mental-health-trust/indicator:four_week_wait"),
        AlertRule.ETHNICITY_DATA_GAP: ("BSOL", "provider:bsol-mental-health-trust"),
        AlertRule.UNDER_USE_BY_COMMUNITY: ("BSOL", "provider:bsol-mental-health-trust/community:pakistani"),
        AlertRule.PROVIDER_SILENCE: ("GMAN", "provider:support-4-progress"),
        AlertRule.OVER_REPRESENTATION_IN_COERCIVE_CARE: (
            "BSOL",
            "provider:bsol-mental-health-trust/community:african_caribbean/coercive",
        ),
        AlertRule.CQUIN_AT_RISK: ("BSOL", "provider:bsol-mental-health-trust"),
    }


#: Recommendations younger than this many days are left unanswered: those past the area's
#: response window (60 days by default) show as not followed up.
ANSWER_AFTER_DAYS = 75
#: Who answers for an action. A role, not a person.
OWNER = "Mental health commissioning team"


def answers(events: dict[str, list[dict]], day0: date) -> list[tuple[dict, list[dict]]]:
    """How the area's commissioners answered the demo's recommendations: each finding with the
    answers posted to it, oldest first. Recommendations made in the last ``ANSWER_AFTER_DAYS``
    days wait for an answer; of the older ones, some were not accepted (with the reason), some
    partly, most accepted with an action due three months on and completed once due. One
    accepted action in Birmingham and Solihull is past its due date and not completed."""
    findings = sorted(
        (
            e
            for items in events.values()
            for e in items
            if e["type"].endswith("finding.v1") and e["data"].get("recommendation")
        ),
        key=lambda e: (e["occurred_at"], e["event_id"]),
    )
    old = [e for e in findings if (day0 - datetime.fromisoformat(e["occurred_at"]).date()).days > ANSWER_AFTER_DAYS]
    late = next(e for e in reversed(old) if e["area"] == "BSOL")
    out = []
    for e in old:
        rec = e["event_id"]
        made = datetime.fromisoformat(e["occurred_at"]).date()
        share = uuid.UUID(rec).int % 10
        if share < 2 and e is not late:
            out.append(
                (
                    e,
                    [
                        {
                            "response_id": _id(day0, "answer", rec, 0),
                            "outcome": "not_accepted",
                            "reason": "Already covered by the area's plan for the coming year.",
                        }
                    ],
                )
            )
            continue
        due = day0 - timedelta(days=10) if e is late else made + timedelta(days=90)
        outcome = "partly_accepted" if share < 4 and e is not late else "accepted"
        answer = {
            "response_id": _id(day0, "answer", rec, 0),
            "outcome": outcome,
            "action": e["data"]["recommendation"],
            "owner": OWNER,
            "due_date": due.isoformat(),
        }
        if outcome == "partly_accepted":
            answer["reason"] = "Accepted for the main provider; the rest waits for the next contract round."
        done = (
            []
            if e is late or due >= day0
            else [
                {
                    "response_id": _id(day0, "answer", rec, 1),
                    "progress": "completed",
                    "note": "Done and reported back to the community at its forum.",
                }
            ]
        )
        out.append((e, [answer, *done]))
    return out


def registrations() -> dict[str, Registration]:
    """What the demo registers for each partner (services.common.organisations): the one area it
    serves, reporting for itself as a provider and for no other. The seeds name no members of the
    Somerset VCSE alliance, so it is registered with none."""
    return {
        p.id: Registration(p.id, p.name, p.kind, areas=frozenset({p.area}), reports_for=frozenset({p.id}))
        for p in PARTNERS
    }


async def register(pool) -> None:
    """Register every demo partner, on every run, so a stack whose keys predate the registry is
    brought up to date too. Areas and provider ids are added to what an organisation has, never
    taken away, so an operator's registration of the same organisation stands."""
    registry = Registry(pool, cache_seconds=0)
    for pid, r in registrations().items():
        await registry.register(pid, name=r.name, kind=r.kind)
        await registry.add(pid, areas=sorted(r.areas), provider_ids=sorted(r.provider_ids))


async def keys() -> dict[str, dict]:
    dsn = CommonSettings().pg_dsn
    await require_current(dsn)
    pool = await create_pool(dsn, 1, 2, schema="registry")
    try:
        await register(pool)
        return await _keys(pool, HOME / "demo-keys.json")
    finally:
        await pool.close()


async def _keys(pool, path: Path) -> dict[str, dict]:
    """A key for every demo organisation, kept in ``path`` (shown once, kept for the next run);
    an organisation the file does not have yet gets its key now."""
    out: dict[str, dict] = json.loads(path.read_text()) if path.exists() else {}
    store = KeyStore(pool, cache_seconds=0)
    wanted = len(out)
    for p in PARTNERS:
        if p.id not in out:
            key_id, token = await store.create(p.id, Role.PARTNER, [], "demo", p.name, p.kind)
            out[p.id] = {"role": "partner", "key_id": key_id, "api_key": token}
    for cid, name, areas in COMMISSIONERS:
        if cid not in out:
            key_id, token = await store.create(cid, Role.COMMISSIONER, areas, "demo", name, "commissioner")
            out[cid] = {"role": "commissioner", "areas": areas, "key_id": key_id, "api_key": token}
    if "platform-operations" not in out:
        key_id, token = await store.create(
            "platform-operations", Role.OPERATOR, [], "demo", "Platform operations", "commissioner"
        )
        out["platform-operations"] = {"role": "operator", "key_id": key_id, "api_key": token}
    if len(out) != wanted or not path.exists():
        path.write_text(json.dumps(out, indent=2))
        path.chmod(0o600)
    return out


def per_area(events: dict[str, list[dict]]) -> dict[str, int]:
    return dict(sorted(Counter(e["area"] for items in events.values() for e in items).items()))


async def _post(client: httpx.AsyncClient, k: dict, events: dict[str, list[dict]]) -> Counter | None:
    counts: Counter = Counter()
    for pid, items in events.items():
        headers = {"Authorization": f"Bearer {k[pid]['api_key']}"}
        for kind, path in (("finding", "/v1/findings:batch"), ("performance", "/v1/performance-events:batch")):
            batch = [e for e in items if kind in e["type"]]
            for i in range(0, len(batch), BATCH):
                r = await client.post(INTAKE + path, json={"events": batch[i : i + BATCH]}, headers=headers)
                if r.status_code != 200:
                    print(f"demo: {pid} {kind}: HTTP {r.status_code}: {r.text[:300]}", file=sys.stderr)
                    return None
                counts.update(r.json()["counts"])
        print(f"demo: {pid:<36} {len(items):>4} events posted", flush=True)
    return counts


async def _reported_per_area(client: httpx.AsyncClient, headers: dict, areas: dict[str, int], days: int) -> dict:
    seen = {}
    for area in areas:
        r = await client.get(REPORTING + "/v1/reports/summary", params={"area": area, "days": days}, headers=headers)
        seen[area] = r.json()["events"]["current"] if r.status_code == 200 else -1
    return seen


async def _answer(
    client: httpx.AsyncClient, k: dict, events: dict[str, list[dict]], day0: date, deadline: float
) -> int | None:
    """Post the commissioners' answers (:func:`answers`) to the alerts API; None when one is
    refused. A recommendation already answered is left as it is, so a second run changes
    nothing."""
    reader = {a: {"Authorization": f"Bearer {k[cid]['api_key']}"} for cid, _n, areas in COMMISSIONERS for a in areas}
    posted = 0
    for finding, bodies in answers(events, day0):
        area, rec = finding["area"], finding["event_id"]
        path = f"{ALERTS_API}/v1/areas/{area}/recommendations/{rec}"
        while (r := await client.get(path, headers=reader[area])).status_code == 404 and time.monotonic() < deadline:
            await asyncio.sleep(1)  # the alerts worker has not recorded it yet
        if r.status_code != 200 or r.json().get("status") != "awaiting_response":
            continue
        for body in bodies:
            r = await client.post(path + "/responses", json=body, headers=reader[area])
            if r.status_code not in (200, 201):
                print(f"demo: answer to {rec}: HTTP {r.status_code}: {r.text[:300]}", file=sys.stderr)
                return None
            posted += 1
    return posted


async def _firing(client: httpx.AsyncClient, headers: dict) -> Counter:
    r = await client.get(REPORTING + "/v1/reports/alerts", headers=headers)
    return Counter(i["rule"] for i in r.json()["items"]) if r.status_code == 200 else Counter()


async def main() -> int:
    began = time.monotonic()
    day0 = anchor()
    k = await keys()
    events = build_events(day0)
    total = sum(len(v) for v in events.values())
    print(f"demo: posting {total} events from {len(events)} partner organisations (anchor {day0})")
    async with httpx.AsyncClient(timeout=60) as client:
        counts = await _post(client, k, events)
    if counts is None:
        return 1
    print(f"demo: intake answered {dict(counts)}")
    if counts.get("rejected"):
        return 1
    if not await demo_funding.load(HOME, INTAKE, day0):
        return 1
    op = {"Authorization": f"Bearer {k['platform-operations']['api_key']}"}
    today = datetime.now(timezone.utc).date()
    oldest = min(datetime.fromisoformat(e["occurred_at"]).date() for v in events.values() for e in v)
    days, areas = (today - oldest).days + 1, per_area(events)
    deadline = time.monotonic() + 180
    async with httpx.AsyncClient(timeout=10) as client:
        while True:
            seen = await _reported_per_area(client, op, areas, days)
            print(f"demo: reporting counts {sum(max(0, n) for n in seen.values())}/{total} events", flush=True)
            if all(seen[a] >= n for a, n in areas.items()):
                break
            if time.monotonic() > deadline:
                print("demo: reporting did not catch up within 180s (see the worker logs)", file=sys.stderr)
                return 1
            await asyncio.sleep(2)
        answered = await _answer(client, k, events, day0, deadline + 120)
        if answered is None:
            return 1
        print(f"demo: commissioners posted {answered} answers to recommendations")
        if (
            await demo_peer_reviews.post(
                client, INTAKE, ALERTS_API, k, {a: c for c, _n, areas in COMMISSIONERS for a in areas}, day0
            )
            is None
        ):
            return 1
        rules = set(expected_alerts())
        while True:
            firing = await _firing(client, op)
            if rules <= {AlertRule(r) for r in firing} or time.monotonic() > deadline:
                break
            await asyncio.sleep(2)
    print("demo: alerts open, by rule: " + ", ".join(f"{r} {n}" for r, n in sorted(firing.items())))
    missing = sorted(r.value for r in rules - {AlertRule(r) for r in firing})
    if missing:
        print(
            f"demo: no alert yet for {', '.join(missing)} (the alerts worker may still be catching up)", file=sys.stderr
        )
    print(f"demo: done in {math.ceil(time.monotonic() - began)}s")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
