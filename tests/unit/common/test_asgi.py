"""The body guard in front of every write: media type, size (announced or streamed), and out of
the way of the router's own 404 and 405."""
from __future__ import annotations

import warnings

from fastapi import FastAPI

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
    announced = client.post("/write", content=b"{" + b" " * 150 + b"}",
                            headers={"content-type": "application/json"})
    streamed = client.post("/write", content=(b" " * 10 for _ in range(20)),
                           headers={"content-type": "application/json"})
    assert announced.status_code == 413 and streamed.status_code == 413
    assert streamed.json()["title"] == "Content too large"
    at_limit = client.post("/write", content=(b'{"a":"' + b"x" * 88 + b'"}'[:2]),
                           headers={"content-type": "application/json"})
    assert at_limit.status_code == 200


def test_a_write_to_a_read_only_or_unknown_route_is_left_to_the_router():
    client = _client()
    assert client.put("/read", content=b"x", headers={"content-type": "text/plain"}).status_code == 405
    assert client.post("/nowhere", content=b"x", headers={"content-type": "text/plain"}).status_code == 404
