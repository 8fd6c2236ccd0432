"""The body guard in front of every write: media type, size (announced or streamed), and out of
the way of the router's own 404 and 405."""

from __future__ import annotations

import warnings

from fastapi import FastAPI, Request

from services.common import asgi

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _client(limit: int = 100) -> TestClient:
    app = FastAPI()

    @app.post("/write")
    async def write(body: dict):
        return body

    @app.get("/read")
    async def read():
        return {}

    app.add_middleware(asgi.BodyGuard, max_body_bytes=limit)
    return TestClient(app)


def test_json_within_the_limit_reaches_the_route():
    assert _client().post("/write", json={"a": 1}).json() == {"a": 1}


def test_a_body_that_is_not_json_is_415_as_a_problem():
    r = _client().post("/write", content=b"a=1", headers={"content-type": "text/plain"})
    assert r.status_code == 415 and r.headers["content-type"] == "application/problem+json"


def test_too_large_is_413_whether_announced_or_streamed_in_chunks():
    client = _client(100)
    announced = client.post("/write", content=b"{" + b" " * 150 + b"}", headers={"content-type": "application/json"})
    streamed = client.post(
        "/write", content=(b" " * 10 for _ in range(20)), headers={"content-type": "application/json"}
    )
    assert announced.status_code == 413 and streamed.status_code == 413
    assert streamed.json()["title"] == "Content too large"
    at_limit = client.post(
        "/write", content=(b'{"a":"' + b"x" * 88 + b'"}'[:2]), headers={"content-type": "application/json"}
    )
    assert at_limit.status_code == 200


def test_a_write_to_a_read_only_or_unknown_route_is_left_to_the_router():
    client = _client()
    assert client.put("/read", content=b"x", headers={"content-type": "text/plain"}).status_code == 405
    assert client.post("/nowhere", content=b"x", headers={"content-type": "text/plain"}).status_code == 404


# --- the web pages' form guard ------------------------------------------------------------------


def _form_app(limit: int = 100, seconds: float = 5.0):
    app = FastAPI()

    @app.post("/login")
    async def login(request: Request):
        return {"read": len(await request.body())}

    app.add_middleware(asgi.FormGuard, limits=lambda path: (limit, seconds, f"{path} takes {limit} bytes"))
    return app


def test_a_form_within_its_limit_reaches_the_route_whole():
    r = TestClient(_form_app()).post(
        "/login", content=b"a=1&b=2", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 200 and r.json() == {"read": 7}


def test_a_form_over_its_limit_is_413_announced_or_streamed_before_the_route_reads_it():
    client = TestClient(_form_app(100))
    announced = client.post("/login", content=b"a=" + b"x" * 150)
    streamed = client.post("/login", content=(b"x" * 10 for _ in range(20)))
    for r in (announced, streamed):
        assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
        assert "/login takes 100 bytes" in r.text


def test_a_form_trickled_past_its_deadline_is_408_and_closes_the_connection():
    import asyncio

    sent: list[dict] = []

    async def trickle():
        await asyncio.sleep(0.5)
        return {"type": "http.request", "body": b"a", "more_body": True}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/login", "headers": [], "query_string": b""}
    asyncio.run(_form_app(100, seconds=0.2)(scope, trickle, send))
    start = sent[0]
    assert start["status"] == 408 and (b"connection", b"close") in start["headers"]
    assert b"did not arrive within 0.2 seconds" in sent[1]["body"]


def test_reads_and_a_client_gone_away_are_left_alone():
    import asyncio

    client = TestClient(_form_app())
    assert client.get("/login").status_code == 405  # not a write: the router's answer
    reached: list[str] = []

    async def app(scope, receive, send):
        reached.append("app")

    async def gone():
        return {"type": "http.disconnect"}

    async def send(message):
        raise AssertionError("nothing is answered to a client that went away")

    scope = {"type": "http", "method": "POST", "path": "/login", "headers": []}
    asyncio.run(asgi.FormGuard(app, lambda p: (10, 1.0, ""))(scope, gone, send))
    assert reached == []
