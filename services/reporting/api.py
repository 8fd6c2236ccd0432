"""Composition root of the reporting API.

python -m services.reporting api --port 8084
"""

from __future__ import annotations

import secrets
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common import heap, logs
from services.common.asgi import FormGuard
from services.common.auth import KeyStore
from services.common.db import create_pool
from services.common.docs import api_app
from services.common.http import harden, ops_router, pg_ok
from services.common.metrics import set_build_info
from services.common.migrate import require_current

from . import delegate
from .adapters.store import ReportingStore
from .routes import router
from .dashboard import router as dashboard_router
from .portal import body_limits, router as portal_router
from .actions import router as actions_router
from .public import router as public_router
from .recommendation_pages import router as recommendation_pages_router
from .taxonomy_api import router as taxonomy_router
from .funding_chain import router as funding_chain_router
from .config import ReportingSettings


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    log = logs.configure("reporting", settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await require_current(settings.pg_dsn)
        pool = await create_pool(settings.pg_dsn, settings.pg_pool_min, settings.pg_pool_max, schema="reporting")
        app.state.pool = pool
        app.state.keys = KeyStore(pool, settings.key_cache_seconds, settings.key_cache_max)
        app.state.store = ReportingStore(pool)
        app.state.settings = settings
        if settings.reporting_session_secret:
            app.state.session_secret = settings.reporting_session_secret.encode()
        else:
            app.state.session_secret = secrets.token_bytes(32)
            log.warning("CSP_REPORTING_SESSION_SECRET is not set: dashboard sessions end when this process stops")
        heap.settle()
        try:
            yield
        finally:
            await delegate.close(app)
            await pool.close()

    app = api_app(
        title="Commissioning signals: reporting",
        version=settings.service_version,
        description="Rolling dashboards of where community engagement evidence lands in the "
        "commissioning cycle, for commissioners (their areas) and operators. "
        "HTML dashboard at /dashboard (sign in at /login).",
        lifespan=lifespan,
    )
    set_build_info("reporting", settings.service_version)

    async def checks() -> dict[str, bool]:
        return {"postgres": await pg_ok(app.state.pool)}

    app.include_router(router)
    app.include_router(dashboard_router)
    app.include_router(portal_router)
    app.include_router(actions_router)
    app.include_router(public_router)
    app.include_router(recommendation_pages_router)
    app.include_router(taxonomy_router)
    app.include_router(funding_chain_router)
    app.include_router(ops_router(checks, lambda: getattr(app.state, "pool", None)))
    app.add_middleware(FormGuard, limits=lambda path: body_limits(path, settings.body_seconds))
    return harden(app)


app = create_app()
