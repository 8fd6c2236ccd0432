"""Rate limits (services.common.limits) and their use by authenticate(): per-key reads and
per-address failed authentications answer 429 naming the credential, with Retry-After; the key
cache and the buckets stay bounded however many distinct callers come."""
from __future__ import annotations

import asyncio

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from services.common.auth import KeyStore, Principal, Role
from services.common.http import authenticate, harden
from services.common.limits import Buckets

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


def test_reads_over_a_keys_limit_are_a_429_naming_the_credential(monkeypatch):
    client = app(monkeypatch, reads_per_second="0.01", reads_burst="3")
    answers = [client.get("/v1/thing", headers={"authorization": f"Bearer {GOOD}"}) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    problem = answers[-1].json()
    assert problem["errors"][0]["field"] == "authorization" and int(answers[-1].headers["retry-after"]) >= 1


def test_failed_authentications_from_one_address_are_limited(monkeypatch):
    client = app(monkeypatch, auth_failures_per_second="0.01", auth_failures_burst="4")
    codes = [client.get("/v1/thing", headers={"authorization": f"Bearer csp_abc123_guess{i}"}).status_code
             for i in range(6)]
    assert codes == [401, 401, 401, 401, 429, 429]


def test_buckets_forget_the_least_recent_caller_past_their_bound():
    buckets = Buckets(rate=1.0, capacity=1.0, max_callers=100)
    for i in range(1000):
        buckets.take(f"client-{i}", now=0.0)
    assert len(buckets) == 100


def test_the_key_cache_stays_bounded_over_unknown_tokens():
    class Pool:
        async def fetchrow(self, *args):
            return None

    store = KeyStore(Pool(), cache_seconds=60, max_entries=50)   # type: ignore[arg-type]

    async def guess():
        for i in range(500):
            assert await store.authenticate(f"csp_{i:06x}_guess") is None
    asyncio.run(guess())
    assert len(store._cache) == 50


@pytest.mark.parametrize("ctype", ["application/evil+json", "text/json", "application/json-seq",
                                   "application/x-www-form-urlencoded"])
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
