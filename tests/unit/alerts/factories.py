"""Builders of events and records for the alerts unit tests: valid contract events, plain values."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from uuid import UUID, uuid4

from contracts.events import CommunityEngagementFinding, MappedEvent, ProviderPerformanceEvent
from contracts.places import AREAS
from contracts.taxonomy import CDWRole, Competency, Stage
from contracts.vocabulary import Community, FindingSource, Indicator, ProviderSector, Severity, Theme
from services.alerts.domain.records import FindingRecord, PerformanceRecord

AREA = "BSOL"  # Birmingham and Solihull (003:155-223)
NOW = datetime(2026, 3, 31, 12, 0, tzinfo=timezone.utc)
TODAY = NOW.date()


def finding(
    *,
    at: datetime | None = None,
    days_ago: float = 1.0,
    community: Community = Community.SOMALI,
    theme: Theme = Theme.UNMET_NEED,
    severity: Severity = Severity.HIGH,
    people: int | None = None,
    event_id: UUID | None = None,
    area: str = AREA,
) -> CommunityEngagementFinding:
    return CommunityEngagementFinding(
        event_id=event_id or uuid4(),
        source="pattigift-cdw",
        occurred_at=at or NOW - timedelta(days=days_ago),
        area=area,
        region=AREAS[area].region,
        data={
            "community": community,
            "theme": theme,
            "severity": severity,
            "people_affected": people,
            "finding_source": FindingSource.COMMUNITY_FORUM,
            "summary": "Families report no culturally appropriate talking therapy nearby.",
        },
    )


def month(index: int) -> tuple[date, date]:
    """Calendar month ``index`` counted from January 2025 (0)."""
    year, m = 2025 + index // 12, index % 12 + 1
    start = date(year, m, 1)
    nxt = date(year + (m == 12), m % 12 + 1, 1)
    return start, nxt - timedelta(days=1)


def figure(
    indicator: Indicator,
    value: float,
    *,
    period: int = 13,
    occurred_at: datetime | None = None,
    provider_id: str = "pattigift",
    provider_name: str = "Pattigift African Centred Counselling",
    sector: ProviderSector = ProviderSector.VOLUNTARY,
    target: float | None = None,
    numerator: int | None = None,
    denominator: int | None = None,
    community: Community | None = None,
    population_share: float | None = None,
    committed: float | None = None,
    required: float | None = None,
    contract_end: date | None = None,
    renewal: bool | None = None,
    event_id: UUID | None = None,
    area: str = AREA,
) -> ProviderPerformanceEvent:
    start, end = month(period)
    at = occurred_at or datetime.combine(end + timedelta(days=5), datetime.min.time(), tzinfo=timezone.utc)
    return ProviderPerformanceEvent(
        event_id=event_id or uuid4(),
        source=provider_id,
        occurred_at=at,
        area=area,
        region=AREAS[area].region,
        data={
            "provider_id": provider_id,
            "provider_name": provider_name,
            "provider_sector": sector,
            "indicator": indicator,
            "period_start": start,
            "period_end": end,
            "value": value,
            "target": target,
            "numerator": numerator,
            "denominator": denominator,
            "community": community,
            "population_share": population_share,
            "funding_committed_gbp": committed,
            "funding_required_gbp": required,
            "contract_end_date": contract_end,
            "renewal_recorded": renewal,
        },
    )


def with_recommendation(event: CommunityEngagementFinding, recommendation: str | None) -> CommunityEngagementFinding:
    """The finding carrying a recommendation about talking therapies (``None``: none)."""
    data = event.data.model_copy(update={"recommendation": recommendation, "service": "talking therapies"})
    return event.model_copy(update={"data": data})


def as_mapped(event: CommunityEngagementFinding) -> MappedEvent:
    """The finding as the mapping worker passes it on: an unmet need placed at needs assessment."""
    return MappedEvent(
        event=event,
        cdw_roles=[CDWRole.CHANGE_AGENT],
        stages=[Stage.ASSESSING_NEEDS],
        competencies=[Competency.ENGAGE_WITH_PUBLIC_AND_PATIENTS],
        plans=[],
        rule_ids=["theme.unmet_need"],
        rules_version="test",
        mapped_at=NOW,
    )


def frec(event: CommunityEngagementFinding) -> FindingRecord:
    return FindingRecord.of(event)


def prec(event: ProviderPerformanceEvent) -> PerformanceRecord:
    return PerformanceRecord.of(event)


from tests.conftest import SEEDS  # noqa: E402 - the vendored seed documents

SEED_REF = re.compile(r"(\d{3}_[0-9a-f]{16}\.txt):(\d+)(?:-(\d+))?((?:,\d+)*)")


def check_seed_refs(text: str) -> int:
    """Assert every ``file:line`` in ``text`` names a seed and a non-blank line; count them."""
    found = 0
    for m in SEED_REF.finditer(text):
        path = SEEDS / m.group(1)
        assert path.exists(), path
        lines = path.read_text(encoding="utf-8").splitlines()
        cited = [int(m.group(2))] + [int(n) for n in m.group(4).split(",") if n]
        assert int(m.group(3) or m.group(2)) <= len(lines), f"{m.group(0)} is past the end"
        assert all(lines[n - 1].strip() for n in cited), f"{m.group(0)} cites a blank line"
        found += 1
    return found
