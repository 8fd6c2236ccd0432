"""A store that is away is a 503 problem the client may retry, never a bare 500."""

from __future__ import annotations

import warnings

import asyncpg
import pytest
from fastapi import FastAPI

from services.common import problems

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.InternalClientError("session terminated"),
        ConnectionRefusedError(111, "Connection refused"),
    ],
)
def test_postgres_away_is_a_503_problem_with_retry_after(error):
    app = FastAPI()
    problems.install(app)

    @app.get("/x")
    async def x():
        raise error

    r = TestClient(app, raise_server_exceptions=False).get("/x")
    assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
    assert r.headers["retry-after"] == "5" and r.json()["title"] == "Service unavailable"


def test_other_errors_stay_500():
    app = FastAPI()
    problems.install(app)

    @app.get("/x")
    async def x():
        raise ValueError("a bug")

    assert TestClient(app, raise_server_exceptions=False).get("/x").status_code == 500
