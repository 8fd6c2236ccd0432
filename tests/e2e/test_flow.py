"""One event flowing end to end: HTTP intake -> Kafka -> mapping -> reporting rollups -> report API.

Counts are compared before and after, so the test holds whatever else the session has posted.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from kafka import KafkaProducer

from contracts.topics import FINDINGS
from contracts.examples import FINDING, PERFORMANCE
from tests.conftest import TEST_ENV, bearer, http_json, url, wait_until
from tests.integration.kafka_probe import with_header

pytestmark = pytest.mark.integration

AREA, REGION, COMMUNITY = "BLKC", "west_midlands", "indian"


def _finding(theme: str, people: int) -> dict:
    body = copy.deepcopy(FINDING)
    body.update(
        event_id=str(uuid.uuid4()),
        source="black-country-cdw",
        area=AREA,
        region=REGION,
        occurred_at=(datetime.now(timezone.utc) - timedelta(days=2)).isoformat(),
    )
    body["data"].update(theme=theme, people_affected=people, community=COMMUNITY, cdw_role=None)
    return body


def _summary(key, days=7, area=AREA):
    status, _, body = http_json(
        "GET", url("reporting", f"/v1/reports/summary?area={area}&days={days}"), headers=bearer(key)
    )
    assert status == 200, body
    return body


def _stage(summary, number):
    return next(s["events"] for s in summary["by_stage"] if s["stage"] == number)


def test_findings_reach_the_dashboard_once_even_when_replayed(keys):
    commissioner = keys["bsol-commissioner"] | {}
    operator = keys["operator"]
    before = _summary(operator)
    events = [_finding("access_and_language_barriers", 12), _finding("stigma", 30), _finding("service_gap", 8)]
    status, _, answer = http_json(
        "POST", url("intake", "/v1/findings:batch"), {"events": events}, bearer(keys["black-country-cdw"])
    )
    assert status == 200 and answer["counts"] == {"accepted": 3}, answer

    def arrived():
        now = _summary(operator)
        return now if now["findings"]["current"] - before["findings"]["current"] == 3 else None

    after = wait_until(arrived, 90, what="three findings in the BLKC report")
    assert after["people_affected"] - before["people_affected"] == 12 + 30 + 8
    # Access facilitator (language barriers) and change agent (stigma, service gap) both cover
    # stage 2; only the change agent covers stage 1 (assessing needs).
    assert _stage(after, 2) - _stage(before, 2) == 3
    assert _stage(after, 1) - _stage(before, 1) == 2
    assert after["data_as_of"] is not None

    # Replay through intake: duplicates, nothing new on the log.
    status, _, again = http_json(
        "POST", url("intake", "/v1/findings:batch"), {"events": events}, bearer(keys["black-country-cdw"])
    )
    assert status == 200 and again["counts"] == {"duplicate": 3}
    # A copy of one record written straight to the log (as a producer retry after a lost
    # acknowledgement would) is mapped again, but counted once.
    producer = KafkaProducer(bootstrap_servers=TEST_ENV["CSP_KAFKA_BOOTSTRAP"], acks="all")
    producer.send(
        FINDINGS.name,
        key=AREA.encode(),
        value=json.dumps(events[0]).encode(),
        headers=[("ce_id", events[0]["event_id"].encode())],
    ).get(timeout=10)
    producer.close()
    marker = _finding("stigma", 1)
    assert http_json("POST", url("intake", "/v1/findings"), marker, bearer(keys["black-country-cdw"]))[0] == 202
    # The marker sits behind the copy in the same partition: once it is counted, the copy was seen.
    wait_until(
        lambda: _summary(operator)["findings"]["current"] - before["findings"]["current"] == 4,
        90,
        what="the marker finding",
    )
    time.sleep(1)
    final = _summary(operator)
    assert final["findings"]["current"] - before["findings"]["current"] == 4
    assert len(with_header(FINDINGS.name, "ce_id", events[0]["event_id"])) == 2

    # A commissioner of another area cannot read this one.
    status, _, problem = http_json(
        "GET", url("reporting", f"/v1/reports/summary?area={AREA}&days=7"), headers=bearer(commissioner)
    )
    assert status == 403 and AREA in problem["detail"]


def test_performance_event_lands_in_managing_performance(keys):
    operator = keys["operator"]
    before = _summary(operator, area="BSOL")
    body = copy.deepcopy(PERFORMANCE)
    body.update(
        event_id=str(uuid.uuid4()),
        source="pattigift",
        area="BSOL",
        region="west_midlands",
        occurred_at=(datetime.now(timezone.utc) - timedelta(hours=1)).isoformat(),
    )
    body["data"].update(provider_id="pattigift", provider_name="Pattigift")  # its own service
    assert http_json("POST", url("intake", "/v1/performance-events"), body, bearer(keys["pattigift"]))[0] == 202
    after = wait_until(
        lambda: (
            (s := _summary(operator, area="BSOL"))["performance_events"]["current"]
            - before["performance_events"]["current"]
            == 1
            and s
        ),
        90,
        what="performance event",
    )
    assert _stage(after, 8) - _stage(before, 8) == 1  # managing performance
    # The BSOL commissioner sees its own area.
    assert _summary(keys["bsol-commissioner"], area="BSOL")["areas"] == ["BSOL"]
