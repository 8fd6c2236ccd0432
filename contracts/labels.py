"""Labels for people: the one place a code of the contract is turned into words.

Pages, CSV exports and messages say ``African Caribbean`` and ``Four-week wait``, never
``african_caribbean`` or ``four_week_wait``. Where the vocabulary already carries a display name
(a stage's, a competency's, a CDW role's, a plan's, a region's, an area's title) that name is used;
the names below are for the codes that have none. A code this module does not know is shown in
sentence case, so a new member reads sensibly before it is given a name here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

from .events import AlertRule, AlertSeverity, AlertStatus
from .places import AREAS, Region
from .taxonomy import CDW_ROLES, CDWRole, Competency, Destination, Plan, Stage
from .vocabulary import Community, FindingSource, Indicator, OrganisationKind, ProviderSector, Severity, Theme, Unit


def sentence(code: object) -> str:
    """A code in sentence case: ``access_and_language_barriers`` -> ``Access and language barriers``."""
    text = str(code.value if isinstance(code, Enum) else code).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


#: Communities are named as the communities name themselves (proper nouns keep their capitals).
COMMUNITY: dict[Community, str] = {
    Community.AFRICAN: "African",
    Community.AFRICAN_CARIBBEAN: "African Caribbean",
    Community.SOMALI: "Somali",
    Community.IRISH: "Irish",
    Community.CHINESE: "Chinese",
    Community.PAKISTANI: "Pakistani",
    Community.BANGLADESHI: "Bangladeshi",
    Community.INDIAN: "Indian",
    Community.GYPSY_AND_TRAVELLER: "Gypsy and Traveller",
    Community.REFUGEES_AND_ASYLUM_SEEKERS: "Refugees and asylum seekers",
    Community.EAST_EUROPEAN: "East European",
    Community.WHITE_OTHER: "White other",
    Community.DUAL_HERITAGE: "Dual heritage",
    Community.BME_COMMUNITIES_GENERALLY: "BME communities generally",
}

#: Short names of the indicators, for tables and chart titles (each indicator's full title, as
#: the seeds word it, is ``INDICATORS[i].title``).
INDICATOR: dict[Indicator, str] = {
    Indicator.SEVEN_DAY_FOLLOW_UP: "Seven-day follow-up",
    Indicator.FOUR_WEEK_WAIT: "Four-week wait",
    Indicator.IAPT_ACCESS: "IAPT access",
    Indicator.EIP_NEW_CASES: "EIP new cases",
    Indicator.CRISIS_HOME_TREATMENT_EPISODES: "Crisis home treatment episodes",
    Indicator.SETTLED_ACCOMMODATION: "Settled accommodation",
    Indicator.EMPLOYMENT: "Employment",
    Indicator.SMI_PHYSICAL_HEALTH_CHECK: "SMI physical health checks",
    Indicator.CARERS_SUPPORTED: "Carers supported",
    Indicator.ETHNICITY_RECORDING_COMPLETENESS: "Ethnicity recording completeness",
    Indicator.UTILISATION_BY_ETHNIC_GROUP: "Use of services by ethnic group",
    Indicator.COERCIVE_CARE_BY_ETHNIC_GROUP: "Coercive care by ethnic group",
    Indicator.FUNDING: "Funding",
    Indicator.CONTRACT_END: "Contract end",
    Indicator.PAYMENT_OVERDUE: "Payment overdue",
}

THEME: dict[Theme, str] = {t: sentence(t) for t in Theme} | {
    Theme.OVER_REPRESENTATION_IN_DETENTION: "Over-representation in detention",
    Theme.UNDER_USE_OF_SERVICES: "Under-use of services",
}

RULE: dict[AlertRule, str] = {r: sentence(r) for r in AlertRule} | {
    AlertRule.UNDER_USE_BY_COMMUNITY: "Under-use by a community",
    AlertRule.OVER_REPRESENTATION_IN_COERCIVE_CARE: "Over-representation in coercive care",
}

FINDING_SOURCE: dict[FindingSource, str] = {s: sentence(s) for s in FindingSource}
SEVERITY: dict[Severity, str] = {s: sentence(s) for s in Severity}
ALERT_SEVERITY: dict[AlertSeverity, str] = {s: sentence(s) for s in AlertSeverity}
ALERT_STATE: dict[AlertStatus, str] = {s: sentence(s) for s in AlertStatus}
SECTOR: dict[ProviderSector, str] = {
    ProviderSector.STATUTORY: "Statutory",
    ProviderSector.VOLUNTARY: "Voluntary, community and social enterprise",
    ProviderSector.INDEPENDENT: "Independent",
}
ORGANISATION_KIND: dict[OrganisationKind, str] = {k: sentence(k) for k in OrganisationKind} | {
    OrganisationKind.VCSE_PROVIDER: "Voluntary, community or social enterprise provider",
    OrganisationKind.NHS_TRUST: "NHS trust",
    OrganisationKind.GP_FEDERATION: "GP federation",
}
UNIT: dict[Unit, str] = {
    Unit.PERCENT: "per cent",
    Unit.COUNT: "count",
    Unit.GBP: "pounds",
    Unit.DAYS: "days",
    Unit.RATE_PER_100K: "rate per 100,000",
    Unit.RATIO: "ratio",
}

#: Each kind of code and how it is named; the vocabulary's own titles where it has them.
_KINDS: dict[str, tuple[type[Enum], Callable[[Any], str]]] = {
    "community": (Community, lambda c: COMMUNITY[c]),
    "theme": (Theme, lambda t: THEME[t]),
    "indicator": (Indicator, lambda i: INDICATOR[i]),
    "rule": (AlertRule, lambda r: RULE[r]),
    "finding_source": (FindingSource, lambda s: FINDING_SOURCE[s]),
    "severity": (Severity, lambda s: SEVERITY[s]),
    "alert_severity": (AlertSeverity, lambda s: ALERT_SEVERITY[s]),
    "state": (AlertStatus, lambda s: ALERT_STATE[s]),
    "sector": (ProviderSector, lambda s: SECTOR[s]),
    "organisation_kind": (OrganisationKind, lambda k: ORGANISATION_KIND[k]),
    "unit": (Unit, lambda u: UNIT[u]),
    "region": (Region, lambda r: r.title),
    "cdw_role": (CDWRole, lambda r: CDW_ROLES[r].title),
    "plan": (Plan, lambda p: p.title),
    "destination": (Destination, lambda d: d.title),
}
KINDS = tuple(_KINDS) + ("stage", "competency", "area")


def label(kind: str, code: object) -> str:
    """The name of ``code`` as a ``kind`` of the contract (``community``, ``theme``,
    ``indicator``, ``rule``, ``stage``, ``competency``, ``area``, ...); an unknown code in
    sentence case, an empty one as an empty string."""
    if code is None or code == "":
        return ""
    if kind in ("stage", "competency"):
        try:
            number = int(str(code.value if isinstance(code, Enum) else code))
            return Stage(number).title if kind == "stage" else Competency(number).title
        except ValueError:
            return sentence(code)
    if kind == "area":
        area = AREAS.get(str(code))
        return area.name if area else str(code)
    if kind not in _KINDS:
        raise KeyError(f"no labels for '{kind}'; known: {', '.join(KINDS)}")
    enum, name = _KINDS[kind]
    try:
        return name(enum(code.value if isinstance(code, Enum) else code))
    except ValueError:
        return sentence(code)


_SUBJECT = re.compile(r"[a-z_]+:[A-Za-z0-9_.-]+(/[a-z_]+:[A-Za-z0-9_.-]+|/[a-z_]+)*")
_SUBJECT_WORDS: Mapping[str, str] = {"coercive": "coercive care"}


def subject(code: object, provider_name: str | None = None) -> str:
    """An alert's subject for people to read: ``provider:bsmhft/community:african_caribbean``
    becomes ``provider bsmhft, African Caribbean``, or the provider's name when it is given
    (``Birmingham and Solihull Mental Health NHS FT, African Caribbean``); ``community:somali``
    becomes ``Somali``. Text of any other shape is shown as it is."""
    text = str(code)
    if not _SUBJECT.fullmatch(text):
        return text
    parts = []
    for part in text.split("/"):
        kind, sep, value = part.partition(":")
        if not sep:
            parts.append(_SUBJECT_WORDS.get(kind, sentence(kind).lower()))
        elif kind in ("community", "indicator", "theme"):
            parts.append(label(kind, value))
        elif kind == "provider" and provider_name:
            parts.append(provider_name)
        else:
            parts.append(f"{kind.replace('_', ' ')} {value}")
    return ", ".join(parts)


def alert_title(rule: object, subject_code: object, provider_name: str | None = None) -> str:
    """An alert's title: its rule in words, then what it is about (``Unmet need: Somali``), a
    provider by its name when the alert's evidence gives it."""
    return f"{label('rule', rule)}: {subject(subject_code, provider_name)}"
