"""Rate limits (services.common.limits) and their use by authenticate(): per-key reads and
per-address failed authentications answer 429 naming the credential, with Retry-After; the key
cache and the buckets stay bounded however many distinct callers come."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from hypothesis import given, strategies as st

from services.common.asgi import BodyGuard, is_json_write
from services.common.auth import KeyStore, Principal, Role
from services.common.http import authenticate, harden
from services.common.limits import Buckets, TokenBucket

GOOD = "csp_abc123_goodsecret"


class Keys:
    async def authenticate(self, token: str):
        return Principal("abc123", "bsol-icb", Role.COMMISSIONER, frozenset({"BSOL"})) if token == GOOD else None


def app(monkeypatch, **limits: str) -> TestClient:
    for name, value in limits.items():
        monkeypatch.setenv(f"CSP_{name.upper()}", value)
    api = FastAPI()

    async def caller(request: Request) -> Principal:
        return await authenticate(request)

    @api.get("/v1/thing")
    async def thing(who: Principal = Depends(caller)) -> dict:
        return {"org": who.organisation_id}

    api.state.keys = Keys()
    return TestClient(harden(api))


def test_token_bucket_allows_burst_then_asks_to_wait():
    bucket = TokenBucket(rate=2.0, capacity=3.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = bucket.take(0.0)
    assert wait == 0.5  # one token at 2/s
    assert bucket.take(0.5) == 0.0  # refilled after waiting
    assert bucket.take(0.5) > 0


def test_batch_bigger_than_burst_waits_for_a_full_bucket_not_forever():
    bucket = TokenBucket(rate=10.0, capacity=5.0)
    assert bucket.take(0.0, cost=50) == 0.0  # full bucket admits it
    assert 0 < bucket.take(0.0, cost=50) <= 0.5


@given(st.lists(st.tuples(st.floats(0, 5), st.floats(0.1, 4)), max_size=50))
def test_admitted_never_exceeds_burst_plus_rate_times_elapsed(steps):
    bucket = TokenBucket(rate=3.0, capacity=4.0)
    now, admitted = 0.0, 0.0
    for dt, cost in steps:
        now += dt
        if bucket.take(now, cost) == 0.0:
            admitted += cost
    assert admitted <= 4.0 + 3.0 * now + 1e-9


def test_waiting_is_told_without_taking():
    bucket = TokenBucket(rate=2.0, capacity=2.0)
    assert bucket.wait(0.0) == 0.0  # a new bucket is full
    bucket.take(0.0), bucket.take(0.0)
    assert bucket.wait(0.0) == 0.5 and bucket.wait(0.0) == 0.5  # asking twice takes nothing
    assert bucket.wait(0.5) == 0.0 and bucket.take(0.5) == 0.0
    buckets = Buckets(rate=1.0, capacity=1.0)
    assert buckets.wait("never-seen", 0.0) == 0.0 and len(buckets) == 0


def test_reads_over_a_keys_limit_are_a_429_naming_the_credential(monkeypatch):
    client = app(monkeypatch, reads_per_second="0.01", reads_burst="3")
    answers = [client.get("/v1/thing", headers={"authorization": f"Bearer {GOOD}"}) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    problem = answers[-1].json()
    assert problem["errors"][0]["field"] == "authorization" and int(answers[-1].headers["retry-after"]) >= 1


def test_failed_authentications_from_one_address_are_limited(monkeypatch):
    client = app(monkeypatch, auth_failures_per_second="0.01", auth_failures_burst="4")
    codes = [
        client.get("/v1/thing", headers={"authorization": f"Bearer csp_abc123_guess{i}"}).status_code for i in range(6)
    ]
    assert codes == [401, 401, 401, 401, 429, 429]
    # Past the limit the address is refused before its key is looked up: a right key learns
    # nothing either, until the bucket refills.
    late = client.get("/v1/thing", headers={"authorization": f"Bearer {GOOD}"})
    assert late.status_code == 429 and late.json()["errors"][0]["field"] == "authorization"
    assert int(late.headers["retry-after"]) >= 1


def test_reads_and_failures_are_not_counted_against_each_other(monkeypatch):
    client = app(
        monkeypatch,
        auth_failures_per_second="0.01",
        auth_failures_burst="1",
        reads_per_second="0.01",
        reads_burst="100",
    )
    good = {"authorization": f"Bearer {GOOD}"}
    assert [client.get("/v1/thing", headers=good).status_code for _ in range(20)] == [200] * 20
    assert client.get("/v1/thing", headers={"authorization": "Bearer nonsense"}).status_code == 401


def test_buckets_forget_the_least_recent_caller_past_their_bound():
    buckets = Buckets(rate=1.0, capacity=1.0, max_callers=100)
    for i in range(1000):
        buckets.take(f"client-{i}", now=0.0)
    assert len(buckets) == 100


def test_the_key_cache_stays_bounded_over_unknown_tokens():
    class Pool:
        async def fetchrow(self, *args):
            return None

    store = KeyStore(Pool(), cache_seconds=60, max_entries=50)  # type: ignore[arg-type]

    async def guess():
        for i in range(500):
            assert await store.authenticate(f"csp_{i:06x}_guess") is None

    asyncio.run(guess())
    assert len(store._cache) == 50


@pytest.mark.parametrize(
    "ctype", ["application/evil+json", "text/json", "application/json-seq", "application/x-www-form-urlencoded"]
)
def test_a_write_that_is_not_json_is_a_415_naming_the_content_type(ctype):
    api = FastAPI()

    @api.post("/v1/thing")
    async def thing() -> dict:
        return {}

    client = TestClient(harden(api, max_body_bytes=100))
    answer = client.post("/v1/thing", content=b"{}", headers={"content-type": ctype})
    assert answer.status_code == 415 and answer.json()["errors"][0]["field"] == "content-type"
    big = client.post("/v1/thing", content=b"[" + b"1," * 100 + b"1]", headers={"content-type": "application/json"})
    assert big.status_code == 413 and big.json()["errors"][0]["field"] == "body"


@pytest.mark.parametrize(
    "ctype, ok",
    [
        (b"application/json", True),
        (b"Application/JSON", True),
        (b"application/json; charset=utf-8", True),
        (b'application/json;charset="UTF-8"', True),
        (b"application/cloudevents+json; charset=utf-8", True),
        (b"application/json; charset=latin-1", False),
        (b"application/json; boundary=x", False),
        (b"application/json; charset", False),
        (b"application/evil+json", False),
        (b"application/problem+json", False),
        (b"text/json", False),
        (b"application/json-seq", False),
        (b"application/jsonx", False),
        (b"", False),
    ],
)
def test_a_write_is_json_only_when_its_media_type_says_exactly_so(ctype, ok):
    assert is_json_write(ctype) is ok


def test_a_body_slower_than_its_deadline_is_a_408_naming_the_body():
    """The guard answers once the deadline passes, however the body trickles."""
    reached, sent = [], []

    async def route(scope, receive, send):
        reached.append(True)

    async def trickle():
        await asyncio.sleep(0.05)
        return {"type": "http.request", "body": b" ", "more_body": True}

    async def send(message):
        sent.append(message)

    guard = BodyGuard(route, max_body_bytes=1000, body_seconds=0.3)
    scope = {"type": "http", "method": "POST", "path": "/x", "headers": [(b"content-type", b"application/json")]}

    async def run():
        loop = asyncio.get_running_loop()
        start = loop.time()
        await guard(scope, trickle, send)
        return loop.time() - start

    took = asyncio.run(run())
    assert 0.3 <= took < 1.0 and not reached
    assert sent[0]["status"] == 408 and (b"connection", b"close") in sent[0]["headers"]
    assert b'"field": "body"' in sent[1]["body"]
