"""Composition root of the intake service.

python -m services.intake api --port 8081 [--workers N]
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Callable
from datetime import timedelta

from fastapi import FastAPI

from services.common import heap, logs
from services.common.db import create_pool
from services.common.docs import api_app
from services.common.http import harden, ops_router, pg_ok
from services.common.metrics import set_build_info
from services.common.migrate import require_current

from .adapters.producer import Publisher
from services.common.auth import KeyStore
from services.common.limits import Buckets
from services.common.organisations import Registry

from .organisations import router as organisations_router

from .adapters.store import Ledger
from .routes import router
from .config import IntakeSettings
from .service import IntakeService

DESCRIPTION = """
The front door for partner organisations: voluntary and community sector providers, community
development workers, faith and community groups and NHS trusts post **community engagement
findings** and **provider performance events**.

* Authenticate with `Authorization: Bearer <API key>`; a partner posts only as its own organisation,
  for the areas it serves and the providers it reports for (the organisation registry; 403 otherwise).
* `event_id` is the idempotency key: a replay answers 200 `duplicate`, a different body 409.
* A 202 means the event is durable in the event store (Kafka acknowledged it, acks=all).
* Errors are `application/problem+json` naming the field and the reason.
* No personal data: NHS numbers, emails, phone numbers, full postcodes and dates of birth are refused.
"""


def create_app(
    settings: IntakeSettings | None = None, publisher_factory: Callable[[IntakeSettings], Publisher] | None = None
) -> FastAPI:
    """``publisher_factory`` exists for the benchmark's no-Kafka baseline; the service uses Kafka."""
    settings = settings or IntakeSettings()
    publisher_factory = publisher_factory or (lambda s: Publisher(s.kafka_bootstrap, s.produce_timeout_seconds))
    log = logs.configure("intake", settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await require_current(settings.pg_dsn)
        # Intake's queries (keys, ledger) set no session state: no reset round trip on release.
        pool = await create_pool(
            settings.pg_dsn, settings.pg_pool_min, settings.pg_pool_max, schema="intake", session_state=False
        )
        publisher = publisher_factory(settings)
        app.state.pool = pool
        app.state.keys = KeyStore(pool, settings.key_cache_seconds, settings.key_cache_max)
        app.state.registry = Registry(pool, settings.key_cache_seconds, settings.key_cache_max)
        app.state.intake = IntakeService(
            Ledger(pool),
            publisher,
            app.state.registry,
            timedelta(seconds=settings.clock_skew_seconds),
            in_flight_s=settings.produce_timeout_seconds + 1.0,
        )
        app.state.publisher = publisher
        await publisher.ready()  # connect early when Kafka is up; serve 503s when it is not
        heap.settle()
        log.info("intake started", extra={"kafka": settings.kafka_bootstrap})
        try:
            yield
        finally:
            await app.state.intake.close()
            await publisher.close()
            await pool.close()
            log.info("intake stopped")

    app = api_app(
        title="Commissioning signals: intake",
        version=settings.service_version,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.post_limits = Buckets(settings.rate_limit_per_second, settings.rate_limit_burst)
    set_build_info("intake", settings.service_version)

    async def checks() -> dict[str, bool]:
        return {"postgres": await pg_ok(app.state.pool), "kafka": await app.state.publisher.ready()}

    app.include_router(router)
    app.include_router(organisations_router)
    app.include_router(ops_router(checks, lambda: getattr(app.state, "pool", None)))
    return harden(app, settings.max_body_bytes)


app = create_app()
