"""Structured JSON logs: one event followed across processes by its event id, and no secret in any
log file (the processes' stdout, as deploy/local/services.sh writes it to $CSP_HOME/logs)."""

from __future__ import annotations

import copy
import json
import secrets
import uuid

import pytest

from contracts.examples import FINDING
from tests.conftest import BASE, TEST_HOME, bearer, http_json, url, wait_until
from tests.stackenv import receiver_ports

pytestmark = pytest.mark.integration

LOGS = TEST_HOME / "logs"
#: Log file of each process (deploy/local/services.sh: $CSP_HOME/logs/<name>.log).
PROCESSES = ("intake", "mapping", "alerts", "alerts-api", "reporting-worker", "reporting")


def log_lines(process: str) -> list[dict]:
    """Every line of the process's log, each of which must be one JSON object."""
    path = LOGS / f"{process}.log"
    out = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"{path}:{number} is not a JSON line: {line[:200]!r}") from None
    return out


def lines_for(process: str, event_id: str) -> list[dict]:
    return [entry for entry in log_lines(process) if entry.get("event_id") == event_id]


def test_one_event_is_followed_from_intake_to_alerts_and_reporting_by_its_id(keys):
    finding = copy.deepcopy(FINDING)
    finding.update(event_id=str(uuid.uuid4()), source="pattigift", area="BSOL", region="west_midlands")
    status, _, answer = http_json("POST", url("intake", "/v1/findings"), finding, bearer(keys["pattigift"]))
    assert status == 202, answer
    event_id = finding["event_id"]

    found = {}
    for process in ("intake", "mapping", "alerts", "reporting-worker"):
        found[process] = wait_until(
            lambda process=process: lines_for(process, event_id),
            timeout=60,
            what=f"a {process} log line with event_id {event_id}",
        )
    assert found["intake"][0]["msg"] == "event accepted" and found["intake"][0]["area"] == "BSOL"
    assert found["mapping"][0]["msg"] == "event mapped"
    assert found["alerts"][0]["msg"] == "event applied"
    assert found["reporting-worker"][0]["msg"] == "event stored"
    for entries in found.values():
        for entry in entries:
            assert {"ts", "level", "service", "logger", "msg", "event_id"} <= set(entry), entry
    # The steps are in the order the event took.
    times = [found[p][0]["ts"] for p in ("intake", "mapping", "alerts")]
    assert times == sorted(times)


def test_api_keys_bearer_tokens_and_webhook_secrets_never_reach_the_logs(keys):
    partner, commissioner = keys["pattigift"], keys["bsol-commissioner"]
    unknown = "csp_" + secrets.token_urlsafe(32)
    webhook_secret = "whsec-" + secrets.token_urlsafe(24)
    webhook_path = "/hooks/" + secrets.token_urlsafe(12)

    finding = copy.deepcopy(FINDING)
    finding.update(event_id=str(uuid.uuid4()), source="pattigift", area="BSOL", region="west_midlands")
    assert http_json("POST", url("intake", "/v1/findings"), finding, bearer(partner))[0] == 202
    # A key nobody issued, on every API: refused, and not written down anywhere.
    for service, path in (
        ("intake", "/v1/findings"),
        ("reporting", "/v1/reports/summary?area=BSOL&days=30"),
        ("alerts-api", "/v1/alerts"),
    ):
        method, body = ("POST", finding) if service == "intake" else ("GET", None)
        status, _, _ = http_json(method, url(service, path), body, {"authorization": f"Bearer {unknown}"})
        assert status == 401
    # A commissioner reads reports and alerts, and subscribes a webhook with its own secret.
    assert (
        http_json("GET", url("reporting", "/v1/reports/summary?area=BSOL&days=30"), None, bearer(commissioner))[0]
        == 200
    )
    assert http_json("GET", url("alerts-api", "/v1/alerts?area=BSOL"), None, bearer(commissioner))[0] == 200
    status, _, sub = http_json(
        "POST",
        url("alerts-api", "/v1/subscriptions"),
        {
            "areas": ["BSOL"],
            "channel": "webhook",
            "target": f"http://127.0.0.1:{receiver_ports(BASE)[0]}{webhook_path}",
            "secret": webhook_secret,
        },
        bearer(commissioner),
    )
    assert status == 201, sub
    assert (
        http_json("DELETE", url("alerts-api", f"/v1/subscriptions/{sub['id']}"), None, bearer(commissioner))[0] == 204
    )
    # The event itself went all the way, so every process has had its chance to log.
    wait_until(
        lambda: lines_for("reporting-worker", finding["event_id"]),
        timeout=60,
        what="the event in the reporting worker's log",
    )

    needles = {
        "partner key": partner["api_key"],
        "commissioner key": commissioner["api_key"],
        "unknown key": unknown,
        "webhook secret": webhook_secret,
        "webhook target": webhook_path,
        "database password": "csp-local-only",
    }
    leaks = []
    for process in PROCESSES:
        text = (LOGS / f"{process}.log").read_text()
        assert text.strip(), f"{process}.log is empty"
        log_lines(process)  # every line is JSON
        leaks += [f"{what} in {process}.log" for what, needle in needles.items() if needle in text]
    assert leaks == []
