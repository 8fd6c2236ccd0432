"""Kafka topics: names, partition counts, keys and what each carries. The only place they are written."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from .events import (
    Alert,
    CommunityEngagementFinding,
    DeadLetter,
    MappedEvent,
    ProviderPerformanceEvent,
    RecommendationResponse,
)
from .peer_review import MappedPeerReview, PeerReviewReturn
from .funding import FundingFlowEvent


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    key: str
    value_models: tuple[type[BaseModel], ...]
    description: str
    retention_ms: int = 30 * 24 * 3600 * 1000


FINDINGS = TopicSpec(
    "intake.findings.v1",
    6,
    "area",
    (CommunityEngagementFinding,),
    "Community engagement findings accepted by intake, keyed by area code.",
)
PERFORMANCE = TopicSpec(
    "intake.performance.v1",
    6,
    "area",
    (ProviderPerformanceEvent,),
    "Provider performance events accepted by intake, keyed by area code.",
)
FUNDING = TopicSpec(
    "intake.funding.v1",
    6,
    "area",
    (FundingFlowEvent,),
    "Funding flows (commitments, payments, spend reports, grant awards) accepted by intake, keyed by area code.",
    retention_ms=365 * 24 * 3600 * 1000,
)
MAPPED = TopicSpec(
    "mapped.events.v1",
    6,
    "area",
    (MappedEvent,),
    "Intake events with their commissioning cycle stages, competencies, CDW roles and rule ids.",
)
DEADLETTER = TopicSpec(
    "deadletter.v1",
    3,
    "area",
    (DeadLetter,),
    "Records that could not be mapped or processed, with the reason and the original bytes.",
    retention_ms=90 * 24 * 3600 * 1000,
)
ALERTS = TopicSpec(
    "alerts.v1", 6, "area", (Alert,), "Alert state changes (firing, acknowledged, resolved), keyed by area code."
)

RECOMMENDATION_RESPONSES = TopicSpec(
    "recommendations.responses.v1",
    6,
    "area",
    (RecommendationResponse,),
    "Commissioners' answers to community recommendations (responses, then progress on the "
    "action), as recorded by the alerts service, keyed by area code.",
    retention_ms=365 * 24 * 3600 * 1000,
)

PEER_REVIEWS = TopicSpec(
    "intake.peer-reviews.v1",
    6,
    "area",
    (PeerReviewReturn,),
    "Peer review returns of Focused Implementation Sites accepted by intake, keyed by area code.",
    retention_ms=365 * 24 * 3600 * 1000,
)
MAPPED_PEER_REVIEWS = TopicSpec(
    "mapped.peer-reviews.v1",
    6,
    "area",
    (MappedPeerReview,),
    "Peer review returns with their commissioning cycle stages, competencies and rule ids; the "
    "alerts service records them and opens their recommendations.",
    retention_ms=365 * 24 * 3600 * 1000,
)

ALL_TOPICS: tuple[TopicSpec, ...] = (
    FINDINGS,
    PERFORMANCE,
    MAPPED,
    DEADLETTER,
    ALERTS,
    RECOMMENDATION_RESPONSES,
    PEER_REVIEWS,
    MAPPED_PEER_REVIEWS,
    FUNDING,
)
INTAKE_TOPIC_FOR_TYPE = {
    CommunityEngagementFinding.model_fields["type"].default: FINDINGS,
    ProviderPerformanceEvent.model_fields["type"].default: PERFORMANCE,
    PeerReviewReturn.model_fields["type"].default: PEER_REVIEWS,
    FundingFlowEvent.model_fields["type"].default: FUNDING,
}


#: CloudEvents types of the records the platform itself writes (intake's records keep the type
#: their partner event carries).
MAPPED_TYPE = "uk.nhs.commissioning.mapped.v1"
DEADLETTER_TYPE = "uk.nhs.commissioning.deadletter.v1"
ALERT_TYPE = "uk.nhs.commissioning.alert.v1"


def service_source(service: str) -> str:
    """The CloudEvents ``source`` (a URI reference) of records one of the platform's services writes."""
    return f"/commissioning-signals/{service}"


MAPPING_SOURCE = service_source("mapping")
ALERTS_SOURCE = service_source("alerts")

_SPECVERSION = ("ce_specversion", b"1.0")
# Binary content mode: the attributes travel as ce_ headers and the record value is the data
# itself, JSON; ``content-type`` is the Kafka binding's name for ``datacontenttype``.
_CONTENT_TYPE = ("content-type", b"application/json")


@functools.lru_cache(maxsize=10_000)  # a few types and a few hundred organisations
def _header(name: str, value: str) -> tuple[str, bytes]:
    """A ``ce_`` header whose value repeats from event to event, built once."""
    return (name, value.encode())


def cloudevent_headers(event_id: str, source: str, type_: str, time: str) -> list[tuple[str, bytes]]:
    """CloudEvents Kafka protocol binding, binary content mode: ``id`` (``event_id`` as
    ``str(UUID)`` writes it), ``source``, ``type``, ``specversion`` and ``time`` (RFC 3339) as
    ``ce_`` headers, ``datacontenttype`` as ``content-type``; the value is the JSON data."""
    return [
        _SPECVERSION,
        ("ce_id", event_id.encode()),
        _header("ce_source", source),
        _header("ce_type", type_),
        ("ce_time", time.encode()),
        _CONTENT_TYPE,
    ]


def _rfc3339(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def mapped_headers(mapped: MappedEvent) -> list[tuple[str, bytes]]:
    """A mapped event is one per intake event: its id is the intake event's id."""
    return cloudevent_headers(str(mapped.event_id), MAPPING_SOURCE, MAPPED_TYPE, _rfc3339(mapped.mapped_at))


def deadletter_headers(letter: DeadLetter, service: str) -> list[tuple[str, bytes]]:
    """A dead letter is one per record a service refused: its id is where that record stood."""
    return cloudevent_headers(
        f"{letter.source_topic}:{letter.partition}:{letter.offset}",
        service_source(service),
        DEADLETTER_TYPE,
        _rfc3339(letter.failed_at),
    )


def alert_headers(alert: Alert) -> list[tuple[str, bytes]]:
    """An alert record is one state of one alert: its id names the alert and the moment."""
    return cloudevent_headers(
        f"{alert.fingerprint}:{alert.status.value}:{_rfc3339(alert.updated_at)}",
        ALERTS_SOURCE,
        ALERT_TYPE,
        _rfc3339(alert.updated_at),
    )


def recommendation_response_headers(response: RecommendationResponse) -> list[tuple[str, bytes]]:
    """A response is the commissioner's own event: its id is the response id, its source the
    commissioner's organisation."""
    return cloudevent_headers(str(response.event_id), response.source, response.type, _rfc3339(response.occurred_at))
