"""Stopping and starting the whole stack keeps the data: the Kafka log, PostgreSQL (the intake
ledger, keys and the reporting rollups) all live on disk under the stack's home."""

from __future__ import annotations

import pytest

from contracts.topics import FINDINGS
from tests.conftest import bearer, findings_reported, http_json, recent_finding, run, url, wait_until
from tests.integration.kafka_probe import json_values

pytestmark = pytest.mark.integration

AREA, REGION = "STAF", "west_midlands"


def _finding() -> dict:
    return recent_finding(AREA, REGION, theme="stigma", people_affected=4, community="pakistani")


def _findings(key) -> int:
    return findings_reported(key, AREA)


def test_stop_and_start_keeps_the_log_the_ledger_and_the_rollups(keys):
    operator, partner = keys["operator"], keys["black-country-cdw"]
    before = _findings(operator)
    events = [_finding() for _ in range(5)]
    status, _, answer = http_json("POST", url("intake", "/v1/findings:batch"), {"events": events}, bearer(partner))
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
    status, _, answer = http_json("POST", url("intake", "/v1/findings:batch"), {"events": events}, bearer(partner))
    assert status == 200 and answer["counts"] == {"duplicate": 5}, answer
    # The Kafka log survived: every event is still on the findings topic.
    logged = {v.get("event_id") for v in json_values(FINDINGS.name, timeout=30)}
    assert {e["event_id"] for e in events} <= logged
    # And the pipeline still flows after the restart.
    more = _finding()
    status, _, answer = http_json("POST", url("intake", "/v1/findings:batch"), {"events": [more]}, bearer(partner))
    assert status == 200 and answer["counts"] == {"accepted": 1}, answer
    wait_until(lambda: _findings(operator) - before == 6, 120, what="the sixth finding after the restart")
