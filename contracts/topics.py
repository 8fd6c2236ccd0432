"""Kafka topics: names, partition counts, keys and what each carries. The only place they are written."""
from __future__ import annotations

import functools
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


@functools.lru_cache(maxsize=10_000)    # two types and a few hundred organisations
def _header(name: str, value: str) -> tuple[str, bytes]:
    """A ``ce_`` header whose value repeats from event to event, built once."""
    return (name, value.encode())


def cloudevent_headers(event_id: str, source: str, type_: str, time: str) -> list[tuple[str, bytes]]:
    """CloudEvents Kafka protocol binding, structured mode: the event's attributes (``event_id``
    as ``str(UUID)`` writes it, ``time`` in ISO 8601) also as ``ce_`` headers."""
    return [
        _SPECVERSION,
        ("ce_id", event_id.encode()),
        _header("ce_source", source),
        _header("ce_type", type_),
        ("ce_time", time.encode()),
        _CONTENT_TYPE,
    ]
