"""Every kind of record the platform writes to Kafka, read by the official CloudEvents SDK for
Python (``cloudevents`` 2.2, ``from_kafka_event``) as a valid CloudEvent in binary content mode,
with the attributes the specification names."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from uuid import UUID

import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka_event
from cloudevents.core.exceptions import CloudEventValidationError

from contracts.events import (
    Alert,
    AlertRule,
    AlertSeverity,
    AlertStatus,
    DeadLetter,
    MappedEvent,
    partner_event_adapter,
)
from contracts.taxonomy import Competency, Stage
from contracts.topics import (
    ALERT_TYPE,
    DEADLETTER_TYPE,
    MAPPED_TYPE,
    alert_headers,
    cloudevent_headers,
    deadletter_headers,
    mapped_headers,
)
from contracts.examples import FINDING, PERFORMANCE

AT = datetime(2026, 11, 30, 9, 15, tzinfo=timezone.utc)


def message(headers: list[tuple[str, bytes]], key: bytes, value: bytes) -> KafkaMessage:
    return KafkaMessage(headers=dict(headers), key=key, value=value)


def partner_record(body: dict) -> KafkaMessage:
    event = partner_event_adapter.validate_python(body)
    headers = cloudevent_headers(str(event.event_id), event.source, event.type, event.occurred_at.isoformat())
    return message(headers, event.partition_key, event.model_dump_json().encode())


def mapped() -> MappedEvent:
    return MappedEvent(
        event=partner_event_adapter.validate_python(FINDING),
        cdw_roles=[],
        stages=[Stage(1)],
        competencies=[Competency(5)],
        plans=[],
        rule_ids=["r"],
        rules_version="1",
        mapped_at=AT,
    )


def alert() -> Alert:
    return Alert(
        fingerprint="0123456789abcdef",
        rule=AlertRule.UNMET_NEED,
        area="BSOL",
        region="west_midlands",
        subject="community:somali",
        severity=AlertSeverity.RED,
        status=AlertStatus.FIRING,
        summary="s",
        stages=[],
        competencies=[],
        evidence={},
        event_ids=[UUID(int=1)],
        starts_at=AT,
        updated_at=AT,
    )


def letter() -> DeadLetter:
    return DeadLetter(
        reason="not JSON",
        stage="decode",
        source_topic="intake.findings.v1",
        partition=2,
        offset=41,
        original="{",
        failed_at=AT,
    )


def records() -> dict[str, tuple[KafkaMessage, dict]]:
    m, a, d = mapped(), alert(), letter()
    return {
        "finding": (
            partner_record(FINDING),
            {"id": FINDING["event_id"], "source": FINDING["source"], "type": FINDING["type"]},
        ),
        "performance": (
            partner_record(PERFORMANCE),
            {"id": PERFORMANCE["event_id"], "source": PERFORMANCE["source"], "type": PERFORMANCE["type"]},
        ),
        "mapped": (
            message(mapped_headers(m), b"BSOL", m.model_dump_json().encode()),
            {"id": str(m.event_id), "source": "/commissioning-signals/mapping", "type": MAPPED_TYPE},
        ),
        "alert": (
            message(alert_headers(a), b"BSOL", a.model_dump_json().encode()),
            {
                "id": f"{a.fingerprint}:firing:2026-11-30T09:15:00Z",
                "source": "/commissioning-signals/alerts",
                "type": ALERT_TYPE,
            },
        ),
        "deadletter": (
            message(deadletter_headers(d, "mapping"), b"", d.model_dump_json().encode()),
            {"id": "intake.findings.v1:2:41", "source": "/commissioning-signals/mapping", "type": DEADLETTER_TYPE},
        ),
    }


@pytest.mark.parametrize("kind", ["finding", "performance", "mapped", "alert", "deadletter"])
def test_every_record_kind_is_a_binary_mode_cloudevent(kind):
    record, expected = records()[kind]
    event = from_kafka_event(record)
    assert event.get_specversion() == "1.0"
    assert {"id": event.get_id(), "source": event.get_source(), "type": event.get_type()} == expected
    assert event.get_datacontenttype() == "application/json"
    assert isinstance(event.get_time(), datetime) and event.get_time().tzinfo is not None
    assert event.get_data() == json.loads(record.value)


def test_the_sdk_refuses_a_record_without_its_attributes():
    """The check can fail: a record with no ce_ headers is read as structured mode, and a value
    that is not a structured CloudEvent is refused."""
    record, _ = records()["mapped"]
    with pytest.raises(CloudEventValidationError):
        from_kafka_event(
            KafkaMessage(headers={"content-type": b"application/json"}, key=record.key, value=record.value)
        )
