"""CloudEvents end to end on the running stack, with the official SDK (``cloudevents`` 2.2.0):

* a partner posts a finding as a CloudEvent over HTTP, in structured mode
  (``application/cloudevents+json``) and in binary mode (``ce-*`` headers); intake gives it the
  same validation, privacy guard and idempotency as the platform's envelope, and refusals name
  the attribute or header the partner wrote;
* every record the platform then writes (intake, mapping, alerts, dead letters) is read back from
  Kafka by the SDK's ``from_kafka_event`` as a valid CloudEvent."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka_event
from cloudevents.core.v1.event import CloudEvent
from kafka import KafkaProducer

from contracts.topics import ALERTS, DEADLETTER, FINDINGS, MAPPED
from tests.conftest import TEST_ENV, bearer, http_json, recent_finding, url, wait_until
from tests.hostile.conftest import raw
from tests.integration import kafka_probe

pytestmark = pytest.mark.integration

AREA, REGION, SOURCE = "BLKC", "west_midlands", "black-country-cdw"


def cloud_event(**data) -> CloudEvent:
    body = recent_finding(AREA, REGION, source=SOURCE, **data)
    return CloudEvent(
        {
            "id": body["event_id"],
            "source": SOURCE,
            "type": body["type"],
            "time": datetime.now(timezone.utc) - timedelta(hours=2),
            "area": AREA,
            "region": REGION,
            "datacontenttype": "application/json",
        },
        body["data"],
    )


def post(message, key: dict, path: str = "/v1/findings") -> tuple[int, dict]:
    headers = {**{k.lower(): v for k, v in message.headers.items()}, **bearer(key)}
    status, _, body = raw("intake", "POST", path, body=message.body, headers=headers)
    return status, json.loads(body) if body else None


@pytest.mark.parametrize("mode", ["structured", "binary"])
def test_a_cloudevent_is_admitted_like_an_envelope(keys, mode):
    event = cloud_event()
    message = ce_http.to_structured_event(event) if mode == "structured" else ce_http.to_binary_event(event)
    status, answer = post(message, keys["black-country-cdw"])
    assert status == 202, answer
    assert answer["event_id"] == event.get_id() and answer["status"] == "accepted"
    # The same event again, in either form, is the same event: a duplicate, never a second record.
    again, answer_again = post(ce_http.to_binary_event(event), keys["black-country-cdw"])
    assert again == 200 and answer_again["status"] == "duplicate", answer_again
    envelope = {
        "event_id": event.get_id(),
        "source": SOURCE,
        "type": event.get_type(),
        "occurred_at": event.get_time().isoformat(),
        "area": AREA,
        "region": REGION,
        "data": event.get_data(),
    }
    status, _, same = http_json(
        "POST", url("intake", "/v1/findings"), envelope, headers=bearer(keys["black-country-cdw"])
    )
    assert status == 200 and same["status"] == "duplicate" and same["offset"] == answer["offset"], same


@pytest.mark.parametrize("mode,field", [("structured", "id"), ("binary", "ce-id")])
def test_refusals_name_the_attribute_the_partner_wrote(keys, mode, field):
    event = cloud_event()
    event._attributes["id"] = "not-a-uuid"  # the SDK takes any string id; the platform wants a UUID
    message = ce_http.to_structured_event(event) if mode == "structured" else ce_http.to_binary_event(event)
    status, problem = post(message, keys["black-country-cdw"])
    assert status == 422, problem
    assert [e["field"] for e in problem["errors"]] == [field], problem


def test_the_privacy_guard_reads_a_cloudevents_data(keys):
    event = cloud_event(summary="Raised by the family of NHS number 943 476 5919 at the forum.")
    status, problem = post(ce_http.to_structured_event(event), keys["black-country-cdw"])
    assert status == 422 and [e["field"] for e in problem["errors"]] == ["data.summary"], problem


def test_a_partner_may_not_post_a_cloudevent_as_another_organisation(keys):
    event = cloud_event()
    event._attributes["source"] = "pattigift"
    status, problem = post(ce_http.to_binary_event(event), keys["black-country-cdw"])
    assert status == 403, problem


def test_a_cloudevent_is_not_a_batch(keys):
    status, problem = post(
        ce_http.to_structured_event(cloud_event()), keys["black-country-cdw"], path="/v1/findings:batch"
    )
    assert status == 415 and problem["errors"][0]["field"] == "content-type", problem


def _as_message(record) -> KafkaMessage:
    return KafkaMessage(headers={k: v for k, v in record.headers or []}, key=record.key, value=record.value)


@pytest.fixture(scope="module")
def platform_records(keys) -> dict[str, list]:
    """Records the platform wrote for this module's events, per topic: three findings of unmet
    need (on the findings and mapped topics, and enough to fire an alert in the area), and one
    record that mapping refuses (a dead letter). Records tests put on a topic by hand are left out:
    only what the platform wrote is its to answer for."""
    ids = []
    for _ in range(3):
        body = recent_finding(
            AREA,
            REGION,
            source=SOURCE,
            theme="unmet_need",
            severity="critical",
            people_affected=200,
            community="somali",
        )
        status, _, answer = http_json(
            "POST", url("intake", "/v1/findings"), body, headers=bearer(keys["black-country-cdw"])
        )
        assert status == 202, answer
        ids.append(body["event_id"].encode())
    poison = uuid.uuid4().hex.encode()
    producer = KafkaProducer(bootstrap_servers=TEST_ENV["CSP_KAFKA_BOOTSTRAP"], acks="all")
    producer.send(FINDINGS.name, key=AREA.encode(), value=b"{not json " + poison).get(timeout=30)
    producer.close()

    def header(record, name):
        return dict(record.headers or []).get(name)

    def mine(topic: str, keep) -> list:
        return wait_until(
            lambda: [r for r in kafka_probe.records(topic, timeout=20) if keep(r)],
            timeout=120,
            what=f"the platform's records on {topic}",
        )

    return {
        FINDINGS.name: mine(FINDINGS.name, lambda r: header(r, "ce_id") in ids),
        MAPPED.name: mine(MAPPED.name, lambda r: header(r, "ce_id") in ids),
        ALERTS.name: mine(ALERTS.name, lambda r: r.key == AREA.encode()),
        DEADLETTER.name: mine(DEADLETTER.name, lambda r: poison in r.value),
    }


@pytest.mark.parametrize("topic", [FINDINGS.name, MAPPED.name, ALERTS.name, DEADLETTER.name])
def test_every_record_the_platform_writes_is_a_cloudevent(platform_records, topic):
    for record in platform_records[topic]:
        event = from_kafka_event(_as_message(record))
        assert event.get_specversion() == "1.0" and event.get_id() and event.get_source(), record.headers
        assert event.get_type().startswith("uk.nhs.commissioning.") and event.get_time() is not None
        assert event.get_datacontenttype() == "application/json"
        assert event.get_data() == json.loads(record.value)
