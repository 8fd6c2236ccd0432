"""Hostile bodies: oversized, over-long batches, deeply nested JSON, invalid UTF-8, and values the
contract's types allow but no store downstream can keep.

Each must get a 4xx problem (never a 5xx), the service must stay up, nothing refused may reach
Kafka, and afterwards a fresh finding must still flow through to the reports.
"""

from __future__ import annotations

import http.client
import json
import socket
import uuid
from datetime import datetime, timezone

import pytest

from contracts.topics import FINDINGS, PERFORMANCE
from contracts.examples import PERFORMANCE as PERFORMANCE_EXAMPLE
from tests.conftest import TEST_ENV, bearer, http_json, url
from tests.hostile.conftest import (
    AREA,
    PARTNER_ORG,
    REGION,
    alive,
    end_offsets,
    event_ids,
    fields_named,
    finding,
    pipeline_still_flows,
    problem_of,
    raw,
    records_since,
)

pytestmark = pytest.mark.integration

MAX_BODY = 1_000_000  # services/intake/config.py max_body_bytes
ALERTS_MAX_BODY = 100_000  # services/alerts/api.py
MAX_BATCH = 500  # services/intake/config.py max_batch_events


def post(
    path: str,
    body: bytes,
    key: dict,
    service: str = "intake",
    method: str = "POST",
    content_type: str = "application/json",
):
    return raw(service, method, path, body, {**bearer(key), "content-type": content_type}, timeout=60)


def performance(**data) -> dict:
    body = json.loads(json.dumps(PERFORMANCE_EXAMPLE))
    body.update(
        event_id=str(uuid.uuid4()),
        source=PARTNER_ORG,
        area=AREA,
        region=REGION,
        occurred_at=datetime.now(timezone.utc).isoformat(),
    )
    body["data"].update(provider_id=PARTNER_ORG, provider_name="Medway Community Voice", **data)
    return body


# --- size ---------------------------------------------------------------------------------------


def test_bodies_at_and_over_the_limit(actors):
    key = actors["partner"]
    # Exactly at the limit is read and judged on its content (an unknown field: 422) ...
    envelope = b'{"events": [], "pad": ""}'
    at_limit = envelope.replace(b'""', b'"' + b"z" * (MAX_BODY - len(envelope)) + b'"')
    assert len(at_limit) == MAX_BODY
    problem = problem_of(*post("/v1/findings:batch", at_limit, key))
    assert problem["status"] == 422 and "pad" in fields_named(problem)
    # ... one byte more is 413, announced by Content-Length or streamed in chunks (the body guard
    # reads a chunked body itself and stops at the limit).
    over = at_limit[:-2] + b'z"}'
    assert problem_of(*post("/v1/findings:batch", over, key))["status"] == 413
    port = int(TEST_ENV["CSP_INTAKE_PORT"])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    chunks = (over[i : i + 65536] for i in range(0, len(over), 65536))
    conn.request(
        "POST",
        "/v1/findings",
        body=chunks,
        encode_chunked=True,
        headers={**bearer(key), "content-type": "application/json", "transfer-encoding": "chunked"},
    )
    response = conn.getresponse()
    got = {k.lower(): v for k, v in response.getheaders()}
    assert problem_of(response.status, got, response.read())["status"] == 413
    conn.close()
    # Ten megabytes announced: answered 413 without being read.
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(
        b"POST /v1/findings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: " + bearer(key)["authorization"].encode() + b'\r\nContent-Length: 10000000\r\n\r\n{"a": "'
    )
    head = sock.recv(4096)
    sock.close()
    assert head.startswith(b"HTTP/1.1 413") and b"application/problem+json" in head
    # The alerts API has its own, smaller limit.
    big = json.dumps({"reason": "z" * ALERTS_MAX_BODY, "ends_at": "2099-01-01T00:00:00Z"}).encode()
    assert problem_of(*post("/v1/silences", big, actors["kent"], "alerts-api"))["status"] == 413
    assert alive("intake") and alive("alerts-api")


def test_batches_over_the_limit_are_413_naming_events(actors):
    key = actors["partner"]
    since = end_offsets(FINDINGS.name)
    events = [finding(summary=f"Session {i}: carers asked for evening hours.") for i in range(MAX_BATCH + 1)]
    status, headers, body = post("/v1/findings:batch", json.dumps({"events": events}).encode(), key)
    problem = problem_of(status, headers, body)
    assert problem["status"] == 413 and fields_named(problem) == {"events"}
    assert str(MAX_BATCH) in problem["errors"][0]["reason"]
    # Without a single event being published; at the limit, the batch goes through.
    status, _, answer = http_json(
        "POST", url("intake", "/v1/findings:batch"), {"events": events[:MAX_BATCH]}, bearer(key), timeout=120
    )
    assert status == 200 and answer["counts"] == {"accepted": MAX_BATCH}, answer["counts"]
    published = event_ids(records_since(FINDINGS.name, since))
    assert {e["event_id"] for e in events[:MAX_BATCH]} <= published
    assert events[MAX_BATCH]["event_id"] not in published


# --- structure and encoding --------------------------------------------------------------------

DEEP = {
    "arrays 10,000 deep": b"[" * 10_000 + b"]" * 10_000,
    "objects 10,000 deep": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "arrays 200,000 deep": b"[" * 200_000 + b"]" * 200_000,
    "a deep value inside an event": json.dumps(finding())
    .encode()
    .replace(b'"summary": "', b'"summary": ' + b"[" * 10_000 + b"]" * 10_000 + b', "x": "'),
    "a deep batch item": b'{"events": [' + b"[" * 10_000 + b"]" * 10_000 + b"]}",
}


@pytest.mark.parametrize("name", DEEP)
def test_deeply_nested_json_is_400_and_the_services_stay_up(actors, name):
    body = DEEP[name]
    for service, path, key in (
        ("intake", "/v1/findings", actors["partner"]),
        ("intake", "/v1/findings:batch", actors["partner"]),
        ("intake", "/v1/performance-events", actors["partner"]),
        ("alerts-api", f"/v1/areas/{AREA}/thresholds", actors["kent"]),
        ("alerts-api", "/v1/silences", actors["kent"]),
    ):
        if len(body) > (MAX_BODY if service == "intake" else 100_000):
            continue
        method = "PUT" if path.endswith("thresholds") else "POST"
        status, headers, answer = post(path, body, key, service, method)
        assert problem_of(status, headers, answer)["status"] in (400, 422), (service, path)
        assert alive(service)


INVALID_UTF8 = {
    "a stray byte": b'"before \xff after"',
    "an overlong slash": b'"\xc0\xaf"',
    "a truncated sequence": b'"caf\xc3"',
    "an encoded surrogate": b'"\xed\xa0\x80"',
    "latin-1 text": '"caf\u00e9 in Chatham"'.encode("latin-1"),
}


@pytest.mark.parametrize("name", INVALID_UTF8)
def test_invalid_utf8_is_a_problem_not_a_crash(actors, name):
    since = end_offsets(FINDINGS.name)
    event = finding()
    body = json.dumps(event).encode().replace(json.dumps(event["data"]["summary"]).encode(), INVALID_UTF8[name])
    for path, payload in (("/v1/findings", body), ("/v1/findings:batch", b'{"events": [' + body + b"]}")):
        status, headers, answer = post(path, payload, actors["partner"])
        assert status in (400, 422) or (status == 200 and json.loads(answer)["counts"] == {"rejected": 1}), (
            path,
            status,
            answer[:300],
        )
        if status != 200:
            problem_of(status, headers, answer)
    silence = b'{"reason": ' + INVALID_UTF8[name] + b', "ends_at": "2099-01-01T00:00:00Z", "area": "KENT"}'
    assert problem_of(*post("/v1/silences", silence, actors["kent"], "alerts-api"))["status"] in (400, 422)
    assert event["event_id"] not in event_ids(records_since(FINDINGS.name, since))


def test_an_escaped_lone_surrogate_is_refused_naming_the_field(actors):
    body = json.dumps(finding(summary="PLACEHOLDER")).encode().replace(b"PLACEHOLDER", b"a\\ud800b")
    problem = problem_of(*post("/v1/findings", body, actors["partner"]))
    assert problem["status"] == 422 and fields_named(problem) == {"data.summary"}


# --- values the types allow and the stores cannot keep -----------------------------------------
# Each of these used to be acknowledged with 202 and then stopped the reporting sink for good
# (NUL, a 32-bit overflow, a 64-bit overflow, a time outside UTC's calendar) or was
# dead-lettered by the mapping worker (NaN and infinities: JSON cannot carry them onwards).

UNSTORABLE = [
    ("findings", {"summary": "Carers said \u0000 the form broke"}, "data.summary"),
    ("findings", {"recommendation": "Fund it\u0000"}, "data.recommendation"),
    ("findings", {"service": "Crisis caf\u00e9\u0000"}, "data.service"),
    ("findings", {"people_affected": 2**31}, "data.people_affected"),
    ("findings", {"people_affected": 10**30}, "data.people_affected"),
    ("findings", {"occurred_at": "0001-01-01T00:00:00+23:59"}, "occurred_at"),
    ("performance-events", {"value": "NaN"}, "data.value"),
    ("performance-events", {"value": "Infinity"}, "data.value"),
    ("performance-events", {"target": "-Infinity"}, "data.target"),
    ("performance-events", {"value": "1e400"}, "data.value"),
    ("performance-events", {"numerator": 2**63, "denominator": 2**64}, "data.numerator"),
    ("performance-events", {"notes": "\u0000"}, "data.notes"),
]


def _unstorable_body(kind: str, change: dict) -> tuple[dict, bytes]:
    event = finding() if kind == "findings" else performance()
    raw_numbers = {}
    for field, value in change.items():
        target = event if field == "occurred_at" else event["data"]
        if isinstance(value, str) and value.lstrip("-") in ("NaN", "Infinity", "1e400"):
            raw_numbers[field] = value  # JSON has no such literal: spliced in as Python's json writes it
            target[field] = 12345.678
        else:
            target[field] = value
    body = json.dumps(event)
    for field, value in raw_numbers.items():
        body = body.replace(f'"{field}": 12345.678', f'"{field}": {value}')
    return event, body.encode()


@pytest.mark.parametrize("kind, change, field", UNSTORABLE, ids=lambda v: str(v)[:30])
def test_values_no_store_can_keep_are_refused_naming_the_field(actors, kind, change, field):
    topic = FINDINGS if kind == "findings" else PERFORMANCE
    since = end_offsets(topic.name)
    event, body = _unstorable_body(kind, change)
    problem = problem_of(*post(f"/v1/{kind}", body, actors["partner"]))
    assert problem["status"] == 422 and field in fields_named(problem), problem
    batch = b'{"events": [' + body + b"]}"
    status, _, answer = post(f"/v1/{kind}:batch", batch, actors["partner"])
    result = json.loads(answer)["results"][0]
    assert status == 200 and result["http_status"] == 422, answer[:500]
    assert field in {e["field"] for e in result["errors"]}
    assert event["event_id"] not in event_ids(records_since(topic.name, since))


def test_alerts_api_refuses_what_postgresql_cannot_store(actors):
    kent = actors["kent"]
    end = "2099-01-01T00:00:00Z"
    for path, body, field in (
        ("/v1/silences", {"reason": "quiet\u0000", "ends_at": end, "area": AREA}, "reason"),
        ("/v1/silences", {"reason": "quiet", "ends_at": end, "area": AREA, "subject": "x\u0000"}, "subject"),
        ("/v1/silences", {"reason": "quiet", "ends_at": "9999-12-31T23:59:59-23:59", "area": AREA}, "ends_at"),
        (
            "/v1/silences",
            {"reason": "quiet", "ends_at": end, "area": AREA, "starts_at": "0001-01-01T00:00:00+23:59"},
            "starts_at",
        ),
        (
            "/v1/subscriptions",
            {"areas": [AREA], "channel": "webhook", "target": "http://127.0.0.1:9/hook\u0000"},
            "target",
        ),
        (
            "/v1/subscriptions",
            {
                "areas": [AREA],
                "channel": "webhook",
                "target": "http://127.0.0.1:9/hook",
                "secret": "0123456789abcdef\u0000",
            },
            "secret",
        ),
        ("/v1/subscriptions", {"areas": [AREA], "channel": "email", "target": "icb\u0000@example.org"}, "target"),
        ("/v1/alerts/" + "0" * 32 + "/acknowledge", {"note": "\u0000"}, "note"),
    ):
        status, headers, answer = post(path, json.dumps(body).encode(), kent, "alerts-api")
        problem = problem_of(status, headers, answer)
        # The acknowledgement of an alert that does not exist may be 404 before the note is read.
        assert (
            problem["status"] == 422
            and any(f.endswith(field) for f in fields_named(problem))
            or (problem["status"] == 404 and field == "note")
        ), (path, problem)
    assert alive("alerts-api")


def test_reports_refuse_windows_before_the_calendar_starts(actors):
    for path in ("/v1/reports/summary", "/v1/reports/findings", "/v1/reports/heatmap.csv"):
        problem = problem_of(
            *raw(
                "reporting", "GET", f"{path}?area={AREA}&from=0001-01-01&to=0001-01-05", headers=bearer(actors["kent"])
            )
        )
        assert problem["status"] == 422 and fields_named(problem) == {"from"}
    status, headers, page = raw(
        "reporting", "GET", f"/dashboard?area={AREA}&from=0001-01-01&to=0001-01-05", headers=bearer(actors["kent"])
    )
    assert status == 422 and headers["content-type"].startswith("text/html")
    # The far end too: a window after tomorrow holds nothing and is refused, never an overflow.
    problem = problem_of(
        *raw(
            "reporting",
            "GET",
            f"/v1/reports/summary?area={AREA}&from=9999-12-25&to=9999-12-31",
            headers=bearer(actors["kent"]),
        )
    )
    assert problem["status"] == 422 and fields_named(problem) == {"to"}


def test_after_all_that_a_finding_still_reaches_the_reports(actors):
    assert all(alive(s) for s in ("intake", "alerts-api", "reporting"))
    pipeline_still_flows(actors["partner"], actors["kent"])
