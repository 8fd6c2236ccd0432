"""Intake against a real Kafka broker and a real PostgreSQL, through its HTTP API."""

from __future__ import annotations

import copy
import http.client
import json
import os
import subprocess
import sys
import urllib.request
import uuid

import pytest
from aiokafka.partitioner import DefaultPartitioner

from contracts.places import AREAS
from contracts.topics import FINDINGS, PERFORMANCE
from contracts.examples import FINDING, PERFORMANCE as PERFORMANCE_EXAMPLE
from tests.conftest import REPO, TEST_ENV, TEST_HOME, bearer, create_key, http_json, url
from tests.integration.kafka_probe import between, with_header

pytestmark = pytest.mark.integration


def finding(source="pattigift", area="BSOL", region="west_midlands", **data) -> dict:
    body = copy.deepcopy(FINDING)
    body.update(event_id=str(uuid.uuid4()), source=source, area=area, region=region)
    body["data"].update(data)
    return body


def post(path, body, key, **kw):
    return http_json("POST", url("intake", path), body, bearer(key), **kw)


def test_accepted_event_is_in_kafka_keyed_by_area_with_cloudevents_headers(keys):
    body = finding()
    status, _, answer = post("/v1/findings", body, keys["pattigift"])
    assert status == 202, answer
    assert answer["status"] == "accepted" and answer["event_id"] == body["event_id"]
    found = with_header(FINDINGS.name, "ce_id", body["event_id"])
    assert len(found) == 1
    record = found[0]
    assert record.key == b"BSOL"
    assert json.loads(record.value)["data"]["summary"] == body["data"]["summary"]
    # Everything about one area lands in one partition.
    second = finding()
    assert post("/v1/findings", second, keys["pattigift"])[0] == 202
    assert with_header(FINDINGS.name, "ce_id", second["event_id"])[0].partition == record.partition


def test_replay_is_a_duplicate_and_is_not_published_again(keys):
    body = finding()
    first = post("/v1/findings", body, keys["pattigift"])
    again = post("/v1/findings", body, keys["pattigift"])
    assert (first[0], again[0]) == (202, 200)
    assert again[2]["status"] == "duplicate"
    where = ("topic", "partition", "offset")
    assert [again[2][k] for k in where] == [first[2][k] for k in where]  # the original acceptance
    assert len(with_header(FINDINGS.name, "ce_id", body["event_id"])) == 1


def test_same_id_different_body_is_a_conflict(keys):
    body = finding()
    assert post("/v1/findings", body, keys["pattigift"])[0] == 202
    changed = copy.deepcopy(body)
    changed["data"]["people_affected"] = 41
    status, headers, problem = post("/v1/findings", changed, keys["pattigift"])
    assert status == 409 and headers["content-type"].startswith("application/problem+json")
    assert problem["status"] == 409


def test_a_partner_cannot_post_as_another_organisation(keys):
    body = finding(source="black-country-cdw", area="BLKC")
    status, _, problem = post("/v1/findings", body, keys["pattigift"])
    assert status == 403 and "black-country-cdw" in problem["detail"]
    assert with_header(FINDINGS.name, "ce_id", body["event_id"]) == []


def test_commissioner_keys_cannot_post(keys):
    status, _, _ = post("/v1/findings", finding(source="bsol-icb"), keys["bsol-commissioner"])
    assert status == 403


def test_missing_malformed_and_revoked_keys_are_401(stack):
    body = finding()
    assert http_json("POST", url("intake", "/v1/findings"), body)[0] == 401
    assert (
        http_json("POST", url("intake", "/v1/findings"), body, {"authorization": "Bearer csp_nothing_here"})[0] == 401
    )
    key = create_key("pattigift", "partner", areas="BSOL")
    assert post("/v1/findings", body, key)[0] == 202
    env = {**os.environ, **TEST_ENV}
    subprocess.run(
        [sys.executable, "-m", "services.common.keys", "revoke", key["key_id"]],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    status, _, problem = post("/v1/findings", finding(), key)
    assert status == 401 and problem["status"] == 401


def test_personal_data_is_refused_naming_the_field_never_the_value(keys):
    nhs = "943 476 5919"
    body = finding(summary=f"Client {nhs} was discharged without follow-up")
    status, headers, problem = post("/v1/findings", body, keys["pattigift"])
    assert status == 422 and headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in problem["errors"]] == ["data.summary"]
    assert "NHS number" in problem["errors"][0]["reason"]
    assert nhs not in json.dumps(problem) and "9434765919" not in json.dumps(problem)
    assert with_header(FINDINGS.name, "ce_id", body["event_id"]) == []
    log = (TEST_HOME / "logs" / "intake.log").read_text()
    assert nhs not in log and "9434765919" not in log


@pytest.mark.parametrize(
    "change, field",
    [
        ({"theme": "vibes"}, "data.theme"),
        ({"people_affected": -3}, "data.people_affected"),
        ({"surprise": 1}, "data.surprise"),
    ],
)
def test_bad_fields_are_named(keys, change, field):
    status, _, problem = post("/v1/findings", finding(**change), keys["pattigift"])
    assert status == 422 and field in [e["field"] for e in problem["errors"]]


def test_future_dates_beyond_the_skew_are_refused(keys):
    body = finding()
    body["occurred_at"] = "2099-01-01T00:00:00+00:00"
    status, _, problem = post("/v1/findings", body, keys["pattigift"])
    assert status == 422 and problem["errors"][0]["field"] == "occurred_at"


def _raw(path, data: bytes, key, content_type="application/json"):
    req = urllib.request.Request(
        url("intake", path), data=data, method="POST", headers={"content-type": content_type, **bearer(key)}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("content-type"), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type"), json.loads(e.read())


def test_malformed_json_wrong_type_and_oversized_bodies(keys):
    status, ctype, problem = _raw("/v1/findings", b'{"event_id": ', keys["pattigift"])
    assert status == 400 and ctype.startswith("application/problem+json")
    assert _raw("/v1/findings", b"event_id=1", keys["pattigift"], "text/plain")[0] == 415
    # A client announcing 3 MB is answered 413 before the body is read (no 3 MB upload needed).
    conn = http.client.HTTPConnection("127.0.0.1", int(TEST_ENV["CSP_INTAKE_PORT"]), timeout=10)
    conn.putrequest("POST", "/v1/findings")
    for k, v in {"content-type": "application/json", "content-length": "3000000", **bearer(keys["pattigift"])}.items():
        conn.putheader(k, v)
    conn.endheaders(b'{"pad": "' + b"z" * 65536)
    response = conn.getresponse()
    assert response.status == 413
    assert response.getheader("content-type").startswith("application/problem+json")
    conn.close()


def test_batch_answers_each_item(keys):
    good, dup = finding(), finding()
    assert post("/v1/findings", dup, keys["pattigift"])[0] == 202
    bad = finding(theme="vibes")
    other_org = finding(source="black-country-cdw", area="BLKC")
    status, _, answer = post("/v1/findings:batch", {"events": [good, dup, bad, other_org]}, keys["pattigift"])
    assert status == 200, answer
    assert [r["status"] for r in answer["results"]] == ["accepted", "duplicate", "rejected", "rejected"]
    assert [r["http_status"] for r in answer["results"]] == [202, 200, 422, 403]
    assert answer["counts"] == {"accepted": 1, "duplicate": 1, "rejected": 2}
    assert len(with_header(FINDINGS.name, "ce_id", good["event_id"])) == 1
    assert with_header(FINDINGS.name, "ce_id", bad["event_id"]) == []


def test_a_batch_is_where_its_answers_say_in_order_per_area_on_the_area_partition(keys):
    """Intake writes a request's records as record batches per partition and derives each
    record's offset from its batch's: every answer must point at its own event, each area's
    events must keep the batch's order in one partition, and that partition must be the one the
    Java client's partitioner (murmur2 of the key) gives the area, as for any other producer."""
    areas = list(AREAS.values())[:5]
    bodies = [finding(area=areas[i % 5].code, region=areas[i % 5].region.value) for i in range(150)]
    status, _, answer = post("/v1/findings:batch", {"events": bodies}, keys["pattigift"])
    assert status == 200 and answer["counts"] == {"accepted": 150}, answer["counts"]
    partitions = list(range(FINDINGS.partitions))
    for area in areas:
        mine = [(b, r) for b, r in zip(bodies, answer["results"]) if b["area"] == area.code]
        partition = DefaultPartitioner()(area.code.encode(), partitions, partitions)
        assert {r["partition"] for _, r in mine} == {partition}
        offsets = [r["offset"] for _, r in mine]
        assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
        on_log = between(FINDINGS.name, partition, offsets[0], offsets[-1])
        assert [dict(on_log[o].headers)["ce_id"].decode() if o in on_log else None for o in offsets] == [
            b["event_id"] for b, _ in mine
        ]


def test_batch_over_the_limit_is_413(keys):
    status, _, problem = post("/v1/findings:batch", {"events": [finding() for _ in range(501)]}, keys["pattigift"])
    assert status == 413 and problem["errors"][0]["field"] == "events"


def test_performance_events_go_to_their_own_topic(keys):
    body = copy.deepcopy(PERFORMANCE_EXAMPLE)
    body.update(event_id=str(uuid.uuid4()), source="pattigift", area="BSOL", region="west_midlands")
    body["data"].update(provider_id="pattigift", provider_name="Pattigift")  # its own service
    status, _, answer = post("/v1/performance-events", body, keys["pattigift"])
    assert status == 202, answer
    assert len(with_header(PERFORMANCE.name, "ce_id", body["event_id"])) == 1


def test_openapi_docs_are_served_with_seed_examples(stack):
    status, _, doc = http_json("GET", url("intake", "/openapi.json"))
    assert status == 200
    text = json.dumps(doc)
    assert "/v1/findings:batch" in doc["paths"] and "Revolving Door" in text
    with urllib.request.urlopen(url("intake", "/docs"), timeout=5) as r:
        assert r.status == 200 and b"swagger" in r.read().lower()


def test_marking_events_published_is_a_heap_only_update(infra):
    """The ledger's second write ('published', with where Kafka put the event) adds no index
    entries: migration 005 leaves room on each page for the row's new version (HOT update)."""
    import asyncio

    import asyncpg

    from services.intake.adapters.store import Ledger

    async def updates(pool) -> tuple[int, int]:
        row = await pool.fetchrow(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'intake_events'"
        )
        return row["n_tup_upd"], row["n_tup_hot_upd"]

    async def go() -> tuple[int, int, str]:
        # One connection: the backend that updates is the one asked to flush its statistics.
        pool = await asyncpg.create_pool(TEST_ENV["CSP_PG_DSN"], min_size=1, max_size=1)
        try:
            ledger = Ledger(pool)
            ids = [str(uuid.uuid4()) for _ in range(400)]
            before = await updates(pool)
            inserted = await ledger.reserve([(i, "pattigift", FINDING["type"], "BSOL", bytes(32)) for i in ids])
            assert inserted == set(ids)
            await ledger.mark_published([(i, FINDINGS.name, 0, n) for n, i in enumerate(ids)])
            await pool.execute("SELECT pg_stat_force_next_flush()")
            await pool.execute("SELECT 1")  # the flush happens once the backend is idle
            after = await updates(pool)
            options = await pool.fetchval(
                "SELECT array_to_string(reloptions, ',') FROM pg_class WHERE relname = 'intake_events'"
            )
            published = await pool.fetchval(
                "SELECT count(*) FROM intake_events WHERE event_id = ANY($1::uuid[]) AND status = 'published'", ids
            )
            assert published == len(ids)
            return after[0] - before[0], after[1] - before[1], options
        finally:
            await pool.close()

    updated, hot, options = asyncio.run(go())
    assert options == "fillfactor=40"
    assert updated >= 400
    assert hot >= 0.95 * updated, (hot, updated)  # 330 of 400 at fillfactor 50
