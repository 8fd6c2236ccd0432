"""The operational endpoints every FastAPI service exposes: /healthz, /readyz, /metrics."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Awaitable, Callable

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, Response

from . import asgi, problems
from .limits import Buckets
from .metrics import exposition, track_pool
from .settings import CommonSettings

if TYPE_CHECKING:
    from .auth import Principal


def ops_router(checks: Callable[[], Awaitable[dict[str, bool]]], pool_of=lambda: None) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict:
        return {"status": "ok"}

    @router.get("/readyz", summary="Dependencies answer; 503 when one does not")
    async def readyz() -> JSONResponse:
        results = await checks()
        ok = all(results.values())
        return JSONResponse(
            {"status": "ready" if ok else "not ready", "checks": results}, status_code=200 if ok else 503
        )

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        track_pool(pool_of())
        body, ctype = exposition()
        return Response(body, media_type=ctype)

    return router


def harden(app: FastAPI, max_body_bytes: int | None = None) -> FastAPI:
    """Problem+json errors, request metrics, the read and failed-authentication limits of
    :func:`authenticate`, and (for writers) the body guard."""
    settings = CommonSettings()
    app.state.read_limits = Buckets(settings.reads_per_second, settings.reads_burst)
    app.state.auth_failures = Buckets(settings.auth_failures_per_second, settings.auth_failures_burst)
    problems.install(app)
    if max_body_bytes is not None:
        app.add_middleware(asgi.BodyGuard, max_body_bytes=max_body_bytes, body_seconds=settings.body_seconds)
    app.add_middleware(asgi.HttpMetrics)
    return app


async def pg_ok(pool) -> bool:
    try:
        await pool.fetchval("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - readiness answers yes or no
        return False


async def authenticate(request) -> Principal:
    """The caller's principal from ``Authorization: Bearer <key>``, or a 401 problem."""
    from .problems import Problem

    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(
            401,
            "Unauthorized",
            "send 'Authorization: Bearer <API key>'",
            headers={"WWW-Authenticate": 'Bearer realm="commissioning-signals"'},
        )
    state, now = request.app.state, time.monotonic()
    # An address over its failed-authentication limit is refused before its key is looked up, so
    # that guessing past the limit learns nothing.
    wait = auth_failure_wait(request, now)
    if wait > 0:
        raise too_many("this address has failed to authenticate too often", wait)
    found = await state.keys.authenticate(token.strip())
    if found is None:
        wait = note_auth_failure(request, now)
        if wait > 0:
            raise too_many("this address has failed to authenticate too often", wait)
        raise Problem(
            401,
            "Unauthorized",
            "the API key is unknown or revoked",
            headers={"WWW-Authenticate": 'Bearer realm="commissioning-signals", error="invalid_token"'},
        )
    if request.method == "GET" and hasattr(state, "read_limits"):
        wait = state.read_limits.take(found.key_id, now)
        if wait > 0:
            raise too_many("this key is over its read limit", wait)
    return found


def _client(request) -> str:
    return request.client.host if request.client else "unknown"


def auth_failure_wait(request, now: float) -> float:
    """Seconds until the caller's address may try a key again (0: now); see :func:`harden`."""
    failures = getattr(request.app.state, "auth_failures", None)
    return failures.wait(_client(request), now) if failures is not None else 0.0


def note_auth_failure(request, now: float) -> float:
    """Count a failed authentication (an unknown, malformed or revoked key, here or at the
    dashboard's sign-in) against the caller's address: 0 while it is within its limit, else the
    seconds to wait."""
    failures = getattr(request.app.state, "auth_failures", None)
    return failures.take(_client(request), now) if failures is not None else 0.0


def too_many(detail: str, wait: float) -> problems.Problem:
    """429 naming the credential that is over its limit, with Retry-After in whole seconds."""
    return problems.Problem(
        429,
        "Too many requests",
        detail,
        errors=[{"field": "authorization", "pointer": "#", "reason": detail}],
        headers={"Retry-After": str(max(1, math.ceil(wait)))},
    )
