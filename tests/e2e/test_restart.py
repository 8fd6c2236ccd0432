"""Stopping and starting the whole stack keeps the data: the Kafka log, PostgreSQL (the intake
ledger, keys and the reporting rollups) all live on disk under the stack's home."""
from __future__ import annotations

import copy
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from contracts.topics import FINDINGS
from services.intake.examples import FINDING
from tests.conftest import bearer, http_json, run, url, wait_until
from tests.integration.kafka_probe import json_values

pytestmark = pytest.mark.integration

AREA, REGION = "STAF", "west_midlands"


def _finding() -> dict:
    body = copy.deepcopy(FINDING)
    body.update(event_id=str(uuid.uuid4()), source="black-country-cdw", area=AREA, region=REGION,
                occurred_at=(datetime.now(timezone.utc) - timedelta(days=1)).isoformat())
    body["data"].update(theme="stigma", people_affected=4, community="pakistani", cdw_role=None)
    return body


def _findings(key) -> int:
    status, _, body = http_json("GET", url("reporting", f"/v1/reports/summary?area={AREA}&days=7"),
                                headers=bearer(key))
    assert status == 200, body
    return body["findings"]["current"]


def test_stop_and_start_keeps_the_log_the_ledger_and_the_rollups(keys):
    operator, partner = keys["operator"], keys["black-country-cdw"]
    before = _findings(operator)
    events = [_finding() for _ in range(5)]
    status, _, answer = http_json("POST", url("intake", "/v1/findings:batch"), {"events": events},
                                  bearer(partner))
    assert status == 200 and answer["counts"] == {"accepted": 5}, answer
    wait_until(lambda: _findings(operator) - before == 5, 90, what="five findings reported")

    # Everything down, in the order `make down` uses, then everything up again.
    run("services.sh", "stop", timeout=180)
    run("kafka.sh", "stop", timeout=120)
    run("postgres.sh", "stop", timeout=120)
    run("postgres.sh", "start", timeout=120)
    run("kafka.sh", "start", timeout=180)
    run("services.sh", "start", timeout=300)

    # The rollups survived (PostgreSQL), and so did the API keys (the same keys still work).
    assert _findings(operator) - before == 5
    # The intake ledger survived: the same events again are duplicates, not new acceptances.
    status, _, answer = http_json("POST", url("intake", "/v1/findings:batch"), {"events": events},
                                  bearer(partner))
    assert status == 200 and answer["counts"] == {"duplicate": 5}, answer
    # The Kafka log survived: every event is still on the findings topic.
    logged = {v.get("event_id") for v in json_values(FINDINGS.name, timeout=30)}
    assert {e["event_id"] for e in events} <= logged
    # And the pipeline still flows after the restart.
    more = _finding()
    status, _, answer = http_json("POST", url("intake", "/v1/findings:batch"), {"events": [more]},
                                  bearer(partner))
    assert status == 200 and answer["counts"] == {"accepted": 1}, answer
    wait_until(lambda: _findings(operator) - before == 6, 120, what="the sixth finding after the restart")
