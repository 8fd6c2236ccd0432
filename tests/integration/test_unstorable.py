"""A mapped event whose values PostgreSQL cannot hold (here a NUL character in the summary, which
intake refuses but an older producer or a hand-written record might carry) is dead-lettered by
each worker that stores its free text: the reporting worker (the summary) and the alerts worker
(the recommendation it opens). It stops neither worker, and the events behind it are stored."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from kafka import KafkaProducer

from contracts.topics import DEADLETTER, FINDINGS, MAPPED
from services.mapping.domain.records import handle
from services.mapping.domain.ruleset import load
from tests.conftest import TEST_ENV, bearer, findings_reported, http_json, recent_finding, url, wait_until
from tests.integration.kafka_probe import records

pytestmark = pytest.mark.integration

AREA, REGION = "WMER", "west_midlands"


def _finding(summary: str) -> dict:
    return recent_finding(AREA, REGION, summary=summary, theme="stigma", community="irish")


def _findings(key) -> int:
    return findings_reported(key, AREA)


def test_an_unstorable_mapped_event_is_dead_lettered_and_the_workers_go_on(keys):
    operator = keys["operator"]
    before = _findings(operator)
    poison = _finding("Members met at the centre\x00 and spoke of waiting times")
    out = handle(json.dumps(poison).encode(), AREA.encode(), FINDINGS.name, 0, 0, load(), datetime.now(timezone.utc))
    assert out.topic == MAPPED.name, out  # mapping itself has nothing against it
    producer = KafkaProducer(bootstrap_servers=TEST_ENV["CSP_KAFKA_BOOTSTRAP"], acks="all")
    producer.send(MAPPED.name, key=out.key, value=out.value).get(timeout=30)
    producer.close()
    # A good event behind it, through the front door.
    good = _finding("Members spoke of long waits for a first appointment")
    status, _, answer = http_json("POST", url("intake", "/v1/findings"), good, bearer(keys["black-country-cdw"]))
    assert status == 202, answer

    wait_until(lambda: _findings(operator) - before == 1, 120, what="the good finding reported")

    def letters():
        found = []
        for r in records(DEADLETTER.name, timeout=10):
            try:
                letter = json.loads(r.value)
            except ValueError:
                continue
            if poison["event_id"] in letter.get("original", "") and "not storable" in letter.get("reason", ""):
                found.append(letter)
        return found or None

    found = wait_until(
        lambda: (lambda f: f if f and len(f) >= 2 else None)(letters()),
        90,
        what="the reporting and alerts workers' dead letters",
    )
    assert len(found) == 2, found  # one each, not one per redelivery
    assert all(f["source_topic"] == MAPPED.name and f["stage"] == "process" for f in found)
    assert _findings(operator) - before == 1  # the poison was not counted
