"""The operational endpoints every FastAPI service exposes: /healthz, /readyz, /metrics."""
from __future__ import annotations

from typing import Awaitable, Callable

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, Response

from . import asgi, problems
from .metrics import exposition, observe_pool


def ops_router(checks: Callable[[], Awaitable[dict[str, bool]]], pool_of=lambda: None) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict:
        return {"status": "ok"}

    @router.get("/readyz", summary="Dependencies answer; 503 when one does not")
    async def readyz() -> JSONResponse:
        results = await checks()
        ok = all(results.values())
        return JSONResponse({"status": "ready" if ok else "not ready", "checks": results},
                            status_code=200 if ok else 503)

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        observe_pool(pool_of())
        body, ctype = exposition()
        return Response(body, media_type=ctype)

    return router


def harden(app: FastAPI, max_body_bytes: int | None = None) -> FastAPI:
    """Problem+json errors, request metrics and (for writers) the body guard."""
    problems.install(app)
    if max_body_bytes is not None:
        app.add_middleware(asgi.BodyGuard, max_body_bytes=max_body_bytes)
    app.add_middleware(asgi.HttpMetrics)
    return app


async def pg_ok(pool) -> bool:
    try:
        await pool.fetchval("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - readiness answers yes or no
        return False


async def authenticate(request) -> "Principal":
    """The caller's principal from ``Authorization: Bearer <key>``, or a 401 problem."""
    from .auth import Principal  # noqa: F401 - for the annotation
    from .problems import Problem

    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, "Unauthorized", "send 'Authorization: Bearer <API key>'",
                      headers={"WWW-Authenticate": 'Bearer realm="commissioning-signals"'})
    found = await request.app.state.keys.authenticate(token.strip())
    if found is None:
        raise Problem(401, "Unauthorized", "the API key is unknown or revoked",
                      headers={"WWW-Authenticate": 'Bearer realm="commissioning-signals", error="invalid_token"'})
    return found
