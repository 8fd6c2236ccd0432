"""Kafka topics: names, partition counts, keys and what each carries. The only place they are written."""
from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from .events import (Alert, CommunityEngagementFinding, DeadLetter, MappedEvent,
                     ProviderPerformanceEvent)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    key: str
    value_models: tuple[type[BaseModel], ...]
    description: str
    retention_ms: int = 30 * 24 * 3600 * 1000


FINDINGS = TopicSpec(
    "intake.findings.v1", 6, "area",
    (CommunityEngagementFinding,),
    "Community engagement findings accepted by intake, keyed by area code.")
PERFORMANCE = TopicSpec(
    "intake.performance.v1", 6, "area",
    (ProviderPerformanceEvent,),
    "Provider performance events accepted by intake, keyed by area code.")
MAPPED = TopicSpec(
    "mapped.events.v1", 6, "area",
    (MappedEvent,),
    "Intake events with their commissioning cycle stages, competencies, CDW roles and rule ids.")
DEADLETTER = TopicSpec(
    "deadletter.v1", 3, "area",
    (DeadLetter,),
    "Records that could not be mapped or processed, with the reason and the original bytes.",
    retention_ms=90 * 24 * 3600 * 1000)
ALERTS = TopicSpec(
    "alerts.v1", 6, "area",
    (Alert,),
    "Alert state changes (firing, acknowledged, resolved), keyed by area code.")

ALL_TOPICS: tuple[TopicSpec, ...] = (FINDINGS, PERFORMANCE, MAPPED, DEADLETTER, ALERTS)
INTAKE_TOPIC_FOR_TYPE = {
    CommunityEngagementFinding.model_fields["type"].default: FINDINGS,
    ProviderPerformanceEvent.model_fields["type"].default: PERFORMANCE,
}


_SPECVERSION = ("ce_specversion", b"1.0")
_CONTENT_TYPE = ("content-type", b"application/cloudevents+json")
#: ("ce_type", ...) and ("ce_source", ...) as built before: intake writes one per event, and
#: there are two types and a few hundred organisations (bounded, like the keys that name them).
_TYPE_HEADERS: dict[str, tuple[str, bytes]] = {}
_SOURCE_HEADERS: dict[str, tuple[str, bytes]] = {}
_SOURCES_REMEMBERED = 10_000


def cloudevent_headers(event: CommunityEngagementFinding | ProviderPerformanceEvent,
                       event_id: str | None = None) -> list[tuple[str, bytes]]:
    """CloudEvents Kafka protocol binding, structured mode: attributes also as ``ce_`` headers.
    ``event_id`` is ``str(event.event_id)`` when the caller has it already."""
    kind = _TYPE_HEADERS.get(event.type)
    if kind is None:
        kind = _TYPE_HEADERS[event.type] = ("ce_type", event.type.encode())
    source = _SOURCE_HEADERS.get(event.source)
    if source is None:
        source = ("ce_source", event.source.encode())
        if len(_SOURCE_HEADERS) < _SOURCES_REMEMBERED:
            _SOURCE_HEADERS[event.source] = source
    return [
        _SPECVERSION,
        ("ce_id", (event_id or str(event.event_id)).encode()),
        source,
        kind,
        ("ce_time", event.occurred_at.isoformat().encode()),
        _CONTENT_TYPE,
    ]
