"""Fixtures and helpers for the hostile-input tests: keys of their own, raw HTTP, table counts.

These tests post only into Kent (KENT) and Hampshire (HAMP), areas no other test reads, so what
they send never shifts another test's figures.
"""

from __future__ import annotations

import asyncio
import copy
import http.client
import json
import re
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import urlencode

import asyncpg
import pytest
from kafka import KafkaConsumer, TopicPartition

from contracts.events import AlertRule
from services.alerts.domain.conditions import fingerprint
from contracts.examples import FINDING
from services.common.migrate import SCHEMAS
from tests.conftest import TEST_ENV, bearer, create_key, http_json, url, wait_until

PARTNER_ORG = "medway-community-voice"
OTHER_ORG = "hampshire-carers-network"
AREA, REGION = "KENT", "south_east_coast"
OTHER_AREA, OTHER_REGION = "HAMP", "south_central"

#: Tables only an explicit request changes: an injection must leave their rows exactly as they were.
STATIC_TABLES = ("organisations", "api_keys", "alert_silences", "alert_subscriptions", "alert_thresholds")
#: Append-only tables (the workers may still be adding to them): they must not shrink.
GROWING_TABLES = ("intake_events", "reporting_events", "alerts", "alert_audit")


@pytest.fixture(scope="session")
def actors(stack) -> dict[str, dict]:
    """Keys of the organisations these tests act as, made with the project's key CLI."""
    return {
        "partner": create_key(PARTNER_ORG, "partner", areas=AREA, name="Medway Community Voice"),
        "other_partner": create_key(OTHER_ORG, "partner", areas=OTHER_AREA, name="Hampshire Carers Network"),
        "kent": create_key("kent-medway-icb", "commissioner", areas=AREA, name="Kent and Medway ICB"),
        "hamp": create_key("hampshire-icb", "commissioner", areas=OTHER_AREA, name="Hampshire ICB"),
        "operator": create_key("hostile-input-ops", "operator", name="Platform operations"),
    }


def finding(source: str = PARTNER_ORG, area: str = AREA, region: str = REGION, **data) -> dict:
    body = copy.deepcopy(FINDING)
    body.update(
        event_id=str(uuid.uuid4()),
        source=source,
        area=area,
        region=region,
        occurred_at=datetime.now(timezone.utc).isoformat(),
    )
    body["data"].update(data)
    return body


def raw(
    service: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> tuple[int, dict[str, str], bytes]:
    """One request with exactly these bytes; (status, lower-cased headers, body)."""
    port = int(TEST_ENV[f"CSP_{service.upper().replace('-', '_')}_PORT"])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        headers: dict[str, str] = {}
        for k, v in response.getheaders():  # repeated headers (Set-Cookie) joined with ", "
            headers[k.lower()] = headers[k.lower()] + ", " + v if k.lower() in headers else v
        return response.status, headers, response.read()
    finally:
        conn.close()


def problem_of(status: int, headers: dict[str, str], body: bytes) -> dict:
    """The problem+json document of a 4xx answer (asserting that it is one)."""
    assert 400 <= status < 500, (status, body[:300])
    assert headers.get("content-type", "").startswith("application/problem+json"), (headers, body[:300])
    problem = json.loads(body)
    assert problem["status"] == status and problem["title"], problem
    return problem


def fields_named(problem: dict) -> set[str]:
    return {e["field"] for e in problem.get("errors") or []}


def alive(service: str) -> bool:
    status, _, _ = http_json("GET", url(service, "/healthz"), timeout=5)
    return status == 200


def sql(statement: str, *args) -> list:
    """One statement against the test stack's PostgreSQL, as the platform's own tables hold it."""

    async def run():
        conn = await asyncpg.connect(TEST_ENV["CSP_PG_DSN"])
        try:
            return await conn.fetch(statement, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def database_snapshot() -> dict:
    """Every table in the services' schemas; row counts of the append-only tables; the static tables' rows."""

    async def take() -> dict:
        conn = await asyncpg.connect(TEST_ENV["CSP_PG_DSN"])
        try:
            tables = {
                r["tablename"]
                for r in await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = ANY($1::text[])", list(SCHEMAS.values())
                )
            }
            counts = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in GROWING_TABLES}
            rows = {
                t: sorted(
                    json.dumps(dict(r), default=str, sort_keys=True) for r in await conn.fetch(f"SELECT * FROM {t}")
                )
                for t in STATIC_TABLES
            }
            return {"tables": tables, "counts": counts, "rows": rows}
        finally:
            await conn.close()

    return asyncio.run(take())


def assert_database_untouched(before: dict, after: dict) -> None:
    assert after["tables"] == before["tables"], "a table appeared or disappeared"
    assert set(STATIC_TABLES) | set(GROWING_TABLES) <= after["tables"]
    for table in GROWING_TABLES:
        assert after["counts"][table] >= before["counts"][table], f"rows vanished from {table}"
    for table in STATIC_TABLES:
        assert after["rows"][table] == before["rows"][table], f"rows of {table} changed"


def reported(key: dict, event_id: str, area: str = AREA) -> bool:
    """The finding is in the reporting drill-down (so the reporting sink stored it)."""
    status, _, body = http_json(
        "GET", url("reporting", f"/v1/reports/findings?area={area}&days=7&limit=1000"), headers=bearer(key)
    )
    assert status == 200, body
    return any(item.get("event_id") == event_id for item in body["items"])


def pipeline_still_flows(partner: dict, reader: dict, timeout: float = 120) -> None:
    """A fresh finding posted now reaches the reporting rollups: no earlier record stopped a worker."""
    canary = finding(summary="Carers at the Gillingham drop-in asked for evening sessions.")
    status, _, answer = http_json("POST", url("intake", "/v1/findings"), canary, bearer(partner))
    assert status == 202, answer
    started = time.monotonic()
    wait_until(
        lambda: reported(reader, canary["event_id"]),
        timeout,
        what="a finding posted after the hostile input to reach the reports",
    )
    assert time.monotonic() - started < timeout


def end_offsets(topic: str) -> dict[int, int]:
    """The log end offset of every partition of ``topic`` now."""
    consumer = KafkaConsumer(bootstrap_servers=TEST_ENV["CSP_KAFKA_BOOTSTRAP"], enable_auto_commit=False, group_id=None)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(parts).items()}
    finally:
        consumer.close()


def records_since(topic: str, since: dict[int, int], timeout: float = 30) -> list:
    """Every record written to ``topic`` after the offsets ``since`` (from :func:`end_offsets`)."""
    consumer = KafkaConsumer(
        bootstrap_servers=TEST_ENV["CSP_KAFKA_BOOTSTRAP"],
        enable_auto_commit=False,
        group_id=None,
        consumer_timeout_ms=1000,
    )
    try:
        parts = [TopicPartition(topic, p) for p in sorted(since)]
        consumer.assign(parts)
        for tp in parts:
            consumer.seek(tp, since[tp.partition])
        ends = consumer.end_offsets(parts)
        out, deadline = [], time.monotonic() + timeout
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            assert time.monotonic() < deadline, "could not read the topic to its end in time"
            for batch in consumer.poll(timeout_ms=500).values():
                out.extend(batch)
        return out
    finally:
        consumer.close()


def event_ids(recs: list) -> set[str]:
    return {dict(r.headers or []).get("ce_id", b"").decode() for r in recs}


def set_cookie(headers: dict[str, str], name: str) -> str | None:
    """``name=value`` of the Set-Cookie header for ``name`` (http.client joins repeats with ', ')."""
    match = re.search(rf"(?:^|, ){re.escape(name)}=([^;,]*)", headers.get("set-cookie", ""))
    return f"{name}={match.group(1)}" if match else None


def sign_in(key: dict, expect: int = 303) -> str | None:
    """The dashboard session cookie (``csp_session=...``) for an API key, through the login form;
    None when the form answers ``expect`` other than 303 (a refused key)."""
    status, headers, page = raw("reporting", "GET", "/login")
    assert status == 200, page[:300]
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
    form = urlencode({"csrf_token": token, "next": "/dashboard", "api_key": key["api_key"]}).encode()
    status, headers, page = raw(
        "reporting",
        "POST",
        "/login",
        form,
        {"content-type": "application/x-www-form-urlencoded", "cookie": set_cookie(headers, "csp_login_csrf")},
    )
    assert status == expect, (status, page[:300])
    if expect != 303:
        assert set_cookie(headers, "csp_session") is None
        return None
    cookie = set_cookie(headers, "csp_session")
    assert cookie, headers
    return cookie


def unmet_need_alert(partner: dict, reader: dict, community: str, area: str = AREA, region: str = REGION) -> str:
    """Fire an unmet-need alert for ``community`` in ``area`` (two high-severity findings about 100
    people each score 18, over the amber threshold of 15); its fingerprint once ``reader`` sees it."""
    events = [
        finding(
            source=partner["organisation"],
            area=area,
            region=region,
            community=community,
            theme="unmet_need",
            severity="high",
            people_affected=100,
            summary="Families said there is no culturally appropriate support after discharge.",
        )
        for _ in range(2)
    ]
    status, _, answer = http_json(
        "POST", url("intake", "/v1/findings:batch"), {"events": events}, bearer(partner), timeout=60
    )
    assert status == 200 and answer["counts"] == {"accepted": 2}, answer
    fp = fingerprint(AlertRule.UNMET_NEED, area, f"community:{community}")
    wait_until(
        lambda: http_json("GET", url("alerts-api", f"/v1/alerts/{fp}"), headers=bearer(reader))[0] == 200,
        90,
        what=f"the unmet-need alert for {community} in {area}",
    )
    return fp
