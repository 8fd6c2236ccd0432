"""The facts an area's alert state keeps, and what a rule says about them.

Records hold only what the rules read, so a state stays small and serialises to JSON.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Self
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, NonNegativeInt

from contracts.events import AlertSeverity, CommunityEngagementFinding, PerformanceData
from contracts.vocabulary import Community, Severity, Theme


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _EventRecord(_Record):
    """One event kept whole but for its envelope: its id, its time and its data."""

    event_id: UUID
    occurred_at: AwareDatetime
    data: Any  # each record narrows it to its event's data

    @classmethod
    def of(cls, event: Any) -> Self:
        return cls(event_id=event.event_id, occurred_at=event.occurred_at, data=event.data)


class FindingRecord(_Record):
    """One community engagement finding of unmet need or a service gap."""

    event_id: UUID
    occurred_at: AwareDatetime
    community: Community
    theme: Theme
    severity: Severity
    people_affected: NonNegativeInt | None = None

    @classmethod
    def of(cls, event: CommunityEngagementFinding) -> "FindingRecord":
        d = event.data
        return cls(
            event_id=event.event_id,
            occurred_at=event.occurred_at,
            community=d.community,
            theme=d.theme,
            severity=d.severity,
            people_affected=d.people_affected,
        )

    @property
    def sort_key(self) -> tuple[datetime, str]:
        return self.occurred_at, str(self.event_id)


class PerformanceRecord(_EventRecord):
    """One provider performance event: one indicator, one provider, one period."""

    data: PerformanceData

    @property
    def series_key(self) -> str:
        """Provider, indicator and (for per-community figures) community."""
        d = self.data
        community = d.community.value if d.community is not None else "-"
        return f"{d.provider_id}|{d.indicator.value}|{community}"

    @property
    def period_key(self) -> str:
        return f"{self.data.period_start.isoformat()}/{self.data.period_end.isoformat()}"

    @property
    def recency(self) -> tuple[date, datetime, str]:
        """Orders a series: later period first, then the later statement of the same period."""
        return self.data.period_end, self.occurred_at, str(self.event_id)


class RuleOutcome(_Record):
    """A rule's decision that a condition holds: how bad, why, and the events behind it."""

    severity: AlertSeverity
    subject: str
    detail: str
    evidence: dict[str, Any]
    event_ids: tuple[UUID, ...]
    provider_id: str | None = None


def provider_facts(record: "PerformanceRecord") -> dict[str, Any]:
    """The facts every alert about a provider's figure gives as evidence: who, what and when."""
    d = record.data
    return {
        "provider_id": d.provider_id,
        "provider_name": d.provider_name,
        "provider_sector": d.provider_sector.value,
        "indicator": d.indicator.value,
        "period_start": d.period_start.isoformat(),
        "period_end": d.period_end.isoformat(),
        "event_id": str(record.event_id),
        "occurred_at": record.occurred_at.isoformat(),
    }


def provider_outcome(
    record: "PerformanceRecord", *, red: bool, detail: str, evidence: dict[str, Any], about: str = ""
) -> RuleOutcome:
    """A rule's outcome about one provider, decided from one of its records: the subject is the
    provider (``about`` adds, for example, ``/community:somali``) and the record is the evidence."""
    d = record.data
    return RuleOutcome(
        severity=AlertSeverity.RED if red else AlertSeverity.AMBER,
        subject=f"provider:{d.provider_id}{about}",
        detail=detail,
        evidence=evidence,
        event_ids=(record.event_id,),
        provider_id=d.provider_id,
    )


def latest(records: "list[PerformanceRecord] | tuple[PerformanceRecord, ...]") -> PerformanceRecord:
    """The record of the latest period (a restatement of the same period wins)."""
    if not records:
        raise ValueError("no records")
    return max(records, key=lambda r: r.recency)
