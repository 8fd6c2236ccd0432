"""Composition root of the alerts API, which also delivers notifications.

python -m services.alerts api --port 8086
"""

from __future__ import annotations

import asyncio
from collections import Counter
import contextlib
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from fastapi import FastAPI

from services.common import heap, logs
from services.common.auth import KeyStore
from services.common.db import create_pool
from services.common.docs import api_app
from services.common.http import harden, ops_router, pg_ok
from services.common.metrics import set_build_info
from services.common.migrate import require_current

from .adapters.listener import Listener
from .adapters.senders import EmailSender, SmtpRelay, WebhookSender
from .recommendation_routes import router as recommendation_router
from .routes import router
from .voice_routes import router as voice_router
from .config import AlertsSettings
from .deliverer import Deliverer
from .domain.targets import receivers
from .metrics import start_delivery_series
from .service import AlertsService

DESCRIPTION = """
Risk alerts for mental health commissioners: unmet need, funding gaps of voluntary providers,
provider performance below target, race equality data gaps and silent providers.

* Authenticate with `Authorization: Bearer <API key>`; a commissioner sees the areas its key grants.
* Alerts go firing -> acknowledged -> resolved, with a full audit trail.
* Subscriptions deliver by signed webhook (Alertmanager-shaped payload, HMAC-SHA256 over
  `<X-CSP-Timestamp>.<body>` in `X-CSP-Signature: sha256=<hex>`) or by email;
  `GET /v1/alerts/stream` is a live server-sent events view.
* Community recommendations (findings that carry one) are listed per area under
  `/v1/areas/{area}/recommendations`; the area's commissioners answer each one (accepted, partly
  accepted, not accepted with the reason; then progress on the action). A recommendation left
  without a response, or an action past its due date, raises an alert of its own kind.
* A partner reads the answers to its own recommendations at `/v1/partners/me/recommendations`
  (another organisation's is a 404). `/v1/public/areas/{area}/you-said-we-did` needs no key: what
  communities recommended in the area and what was done, and the area's peer review returns,
  without organisations, people or keys.
* Errors are `application/problem+json` naming the field and the reason.
"""


def senders(settings: AlertsSettings) -> tuple[httpx.AsyncClient, WebhookSender, EmailSender]:
    client = httpx.AsyncClient(timeout=settings.alerts_webhook_timeout_seconds, follow_redirects=False)
    relay = SmtpRelay(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_from,
        settings.smtp_starttls,
        settings.smtp_username,
        settings.smtp_password,
        settings.smtp_timeout_seconds,
    )
    return client, WebhookSender(client, receivers=receivers(settings.alerts_webhook_receivers)), EmailSender(relay)


def create_app(settings: AlertsSettings | None = None) -> FastAPI:
    settings = settings or AlertsSettings()
    log = logs.configure("alerts-api", settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await require_current(settings.pg_dsn)
        pool = await create_pool(settings.pg_dsn, settings.pg_pool_min, settings.pg_pool_max, schema="alerts")
        listener = Listener(settings.pg_dsn)
        await listener.ensure()
        client, webhooks, email = senders(settings)
        app.state.pool, app.state.listener = pool, listener
        app.state.webhook_receivers = receivers(settings.alerts_webhook_receivers)
        app.state.settings, app.state.open_streams = settings, Counter()
        app.state.keys = KeyStore(pool, settings.key_cache_seconds, settings.key_cache_max)
        app.state.service = AlertsService(
            pool, settings.policy(), settings.external_url, timedelta(seconds=settings.alerts_reevaluate_seconds)
        )
        deliverer = Deliverer(pool, settings, listener, webhooks, email)
        task = asyncio.create_task(deliverer.run(), name="alert-delivery")
        heap.settle()
        log.info("alerts api started", extra={"smtp": f"{settings.smtp_host}:{settings.smtp_port}"})
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await client.aclose()
            await listener.close()
            await pool.close()
            log.info("alerts api stopped")

    app = api_app(
        title="Commissioning signals: alerts",
        version=settings.service_version,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    set_build_info("alerts-api", settings.service_version)
    start_delivery_series()

    async def checks() -> dict[str, bool]:
        return {"postgres": await pg_ok(app.state.pool)}

    app.include_router(router)
    app.include_router(recommendation_router)
    app.include_router(voice_router)
    app.include_router(ops_router(checks, lambda: getattr(app.state, "pool", None)))
    return harden(app, max_body_bytes=100_000)


app = create_app()
