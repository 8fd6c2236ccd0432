"""From raw record bytes to the record to produce: a mapped event or a dead letter. Pure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import ValidationError

from contracts.events import DeadLetter, partner_event_adapter
from contracts.peer_review import MAPPED_PEER_REVIEW_TYPE, PeerReviewReturn
from contracts.taxonomy import Stage
from contracts.topics import (
    DEADLETTER,
    MAPPED,
    MAPPED_PEER_REVIEWS,
    MAPPING_SOURCE,
    PEER_REVIEWS,
    cloudevent_headers,
    deadletter_headers,
    mapped_headers,
)

from .mapper import Unplaceable, map_event
from .peer_reviews import map_review
from .ruleset import RuleSet

#: Where mapping dead-letters a record: the stages of ``DeadLetter.stage`` that mapping reaches.
MappingStage = Literal["decode", "validate", "map"]


@dataclass(frozen=True)
class Output:
    topic: str
    key: bytes
    value: bytes
    event_id: str | None
    outcome: str  # mapped | deadletter
    stage: str | None = None  # the dead-letter stage: decode | validate | map
    stages: tuple[Stage, ...] = ()  # the commissioning cycle stages of a mapped event
    headers: tuple[tuple[str, bytes], ...] = ()  # CloudEvents attributes (binary content mode)


def _peek(raw: bytes) -> tuple[str | None, str | None]:
    try:
        obj = json.loads(raw)
        if isinstance(obj, dict):
            eid, area = obj.get("event_id"), obj.get("area")
            return (eid if isinstance(eid, str) else None, area if isinstance(area, str) else None)
    except (ValueError, UnicodeDecodeError):
        pass
    return None, None


def handle(
    raw: bytes | None, key: bytes | None, topic: str, partition: int, offset: int, rules: RuleSet, now: datetime
) -> Output:
    def dead(stage: MappingStage, reason: str) -> Output:
        eid, area = _peek(raw or b"")
        letter = DeadLetter(
            reason=reason,
            stage=stage,
            source_topic=topic,
            partition=partition,
            offset=offset,
            event_id=eid,
            area=area,
            original=(raw or b"").decode("utf-8", errors="replace"),
            failed_at=now,
            rules_version=rules.version,
        )
        return Output(
            DEADLETTER.name,
            key or (area or "").encode(),
            letter.model_dump_json().encode(),
            eid,
            "deadletter",
            stage,
            headers=tuple(deadletter_headers(letter, "mapping")),
        )

    if not raw:
        return dead("decode", "empty record value")
    if topic == PEER_REVIEWS.name:
        return _peer_review(raw, rules, now, dead)
    try:
        event = partner_event_adapter.validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        stage: MappingStage = "decode" if first.get("type") == "json_invalid" else "validate"
        return dead(stage, f"{where or '(record)'}: {first.get('msg')}")
    mapped = map_event(event, rules, now)
    if isinstance(mapped, Unplaceable):
        return dead("map", mapped.reason)
    return Output(
        MAPPED.name,
        mapped.partition_key,
        mapped.model_dump_json().encode(),
        str(event.event_id),
        "mapped",
        None,
        tuple(mapped.stages),
        tuple(mapped_headers(mapped)),
    )


def _refused(exc: ValidationError) -> tuple[MappingStage, str]:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    stage: MappingStage = "decode" if first.get("type") == "json_invalid" else "validate"
    return stage, f"{where or '(record)'}: {first.get('msg')}"


def _peer_review(raw: bytes, rules: RuleSet, now: datetime, dead) -> Output:
    """A peer review return goes to its own mapped topic, so that the readers of mapped events
    are not asked to read it; the alerts service reads it there."""
    try:
        review = PeerReviewReturn.model_validate_json(raw)
    except ValidationError as exc:
        return dead(*_refused(exc))
    mapped = map_review(review, rules, now)
    if isinstance(mapped, Unplaceable):
        return dead("map", mapped.reason)
    headers = cloudevent_headers(
        str(review.event_id),
        MAPPING_SOURCE,
        MAPPED_PEER_REVIEW_TYPE,
        mapped.mapped_at.isoformat().replace("+00:00", "Z"),
    )
    return Output(
        MAPPED_PEER_REVIEWS.name,
        mapped.partition_key,
        mapped.model_dump_json().encode(),
        str(review.event_id),
        "mapped",
        None,
        tuple(mapped.stages),
        tuple(headers),
    )
