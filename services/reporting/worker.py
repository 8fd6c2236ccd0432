"""The reporting stream worker (faust-streaming): mapped events -> rollups in PostgreSQL, exactly
once in effect; alerts -> the alerts read model (latest state per fingerprint).

    python -m services.reporting worker
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import faust
from pydantic import ValidationError

from contracts.events import Alert, MappedEvent
from contracts.topics import ALERTS, DEADLETTER, MAPPED
from services.common.db import create_pool, until_done
from services.common.metrics import DEADLETTERS, inc_each
from services.common.streams import (
    BATCH_RECORDS,
    RECORDS,
    apply_or_one_by_one,
    make_app,
    parse_each,
    raw_topic,
    send_dead_letter,
)
from services.common.upstream import each_batch, held_on_failure

from .adapters.store import ReportingStore
from .config import ReportingSettings

log = logging.getLogger("reporting")


def create_worker(settings: ReportingSettings | None = None) -> faust.App:
    """The faust app with its two agents; PostgreSQL is reached when they first run."""
    settings = settings or ReportingSettings()
    app = make_app("csp-reporting", settings, settings.reporting_worker_port)
    alerts_topic = raw_topic(app, ALERTS.name)
    deadletters = raw_topic(app, DEADLETTER.name)
    DEADLETTERS.labels(MAPPED.name, "process")  # read 0 until the first dead letter
    DEADLETTERS.labels(ALERTS.name, "process")
    stores: list[ReportingStore] = []
    start_lock = asyncio.Lock()

    async def store() -> ReportingStore:
        async with start_lock:
            if not stores:
                pool = await create_pool(settings.pg_dsn, 1, 4, schema="reporting", attempts=120)
                stores.append(ReportingStore(pool))
        return stores[0]

    async def dead_letter(event, reason: str) -> None:
        await send_dead_letter(deadletters, event, reason, "reporting")
        DEADLETTERS.labels(event.message.topic, "process").inc()
        RECORDS.labels("reporting", event.message.topic, "deadletter").inc()

    @app.agent(raw_topic(app, MAPPED.name), concurrency=1)
    async def sink(stream):
        """Mapped events in batches: each batch is stored in one transaction (the ledger decides
        what is new, so a redelivered batch counts nothing twice), and take_events acks the
        batch's offsets only after the body. A batch PostgreSQL refuses is retried event by event,
        so one unstorable record is dead-lettered and the rest are stored."""
        s = await store()

        async def store_batch(events) -> None:
            BATCH_RECORDS.labels("reporting").observe(len(events))
            parsed = await parse_each(events, MappedEvent, dead_letter)
            if not parsed:
                return
            parsed, done = await apply_or_one_by_one(parsed, s.ingest_new, dead_letter)
            new = set().union(*done)
            outcomes = []
            logging_on = log.isEnabledFor(logging.INFO)
            for event, mapped in parsed:
                outcome = "stored" if mapped.event_id in new else "duplicate"
                new.discard(mapped.event_id)  # a second copy in the same batch is a duplicate
                outcomes.append((event.message.topic, outcome))
                if logging_on:
                    log.info("event %s", outcome, extra={"event_id": str(mapped.event_id)})
            inc_each(lambda topic, outcome: RECORDS.labels("reporting", topic, outcome), outcomes)

        await each_batch(stream, settings.batch_max, settings.batch_within_seconds, store_batch)

    @app.agent(alerts_topic, concurrency=1)
    async def alerts_sink(stream):
        """Alert state changes: the latest ``updated_at`` per fingerprint wins, so a redelivered or
        out-of-order older state never overwrites a newer one."""
        s = await store()
        async for event in stream.events():
            with held_on_failure([event]):
                try:
                    alert = Alert.model_validate_json(event.value or b"")
                except ValidationError as exc:
                    await dead_letter(event, str(exc.errors()[0].get("msg")))
                    continue
                try:
                    newer = await until_done(lambda alert=alert: s.upsert_alert(alert), alert.fingerprint)
                except asyncpg.DataError as exc:
                    await dead_letter(event, f"not storable: {exc}")
                    continue
                RECORDS.labels("reporting", event.message.topic, "stored" if newer else "stale").inc()
                log.info(
                    "alert %s",
                    "stored" if newer else "stale",
                    extra={"fingerprint": alert.fingerprint, "status": alert.status.value},
                )

    return app
