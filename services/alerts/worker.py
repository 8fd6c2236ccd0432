"""The alerts stream worker (faust-streaming).

    python -m services.alerts worker

Consumes mapped events (co-partitioned by area with the intake topics), at least once, in
batches (up to CSP_BATCH_MAX records, or what arrived within CSP_BATCH_WITHIN_SECONDS). Each
batch is one PostgreSQL transaction (services.alerts.service): each area's state, its alerts,
the audit trail and both outboxes commit together, and a replayed event id changes nothing.
Changed alerts are then published to alerts.v1 from the outbox.
A timer re-evaluates areas that are due (group intervals, reminders, sliding windows) and
refreshes the alert gauges. Notifications are delivered by the alerts API process.
The timer also publishes commissioners' answers to recommendations (recorded by the alerts API
with an outbox row) to recommendations.responses.v1.
The clock is the settings' (``AlertsSettings.now``), which a test may move ahead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta, timezone

import asyncpg
import faust

from contracts.events import Alert, MappedEvent, RecommendationResponse
from contracts.peer_review import MappedPeerReview
from contracts.topics import (
    ALERTS,
    DEADLETTER,
    MAPPED,
    MAPPED_PEER_REVIEWS,
    RECOMMENDATION_RESPONSES,
    alert_headers,
    recommendation_response_headers,
)
from services.common.db import RETRYABLE, create_pool, until_done
from services.common.metrics import DEADLETTERS, inc_each
from services.common.migrate import require_current
from services.common.streams import (
    BATCH_RECORDS,
    RECORDS,
    apply_or_one_by_one,
    make_app,
    parse_each,
    raw_topic,
    send_dead_letter,
)
from services.common.upstream import each_batch

from .adapters import recommendations, store
from .config import AlertsSettings
from .metrics import AREA_FAILURES, TIMER_ERRORS, TURN_SECONDS, set_alert_counts
from .service import AlertsService

log = logging.getLogger("alerts")
GAUGES_EVERY_SECONDS, FORGET_EVERY_SECONDS = 5.0, 3600.0


def create_worker(settings: AlertsSettings | None = None) -> faust.App:
    """The faust app with its agent and timer; PostgreSQL is reached when they first run."""
    settings = settings or AlertsSettings()
    app = make_app("csp-alerts", settings, settings.alerts_port)
    worker = AlertsWorker(
        settings,
        raw_topic(app, ALERTS.name),
        raw_topic(app, DEADLETTER.name),
        raw_topic(app, RECOMMENDATION_RESPONSES.name),
    )
    DEADLETTERS.labels(MAPPED.name, "process")  # reads 0 until the first dead letter
    DEADLETTERS.labels(MAPPED_PEER_REVIEWS.name, "process")

    @app.agent(raw_topic(app, MAPPED.name), concurrency=1)
    async def evaluate(stream):
        """Mapped events in batches (take_events acks a batch's offsets after the body)."""
        s = await worker.service()
        await each_batch(
            stream, settings.batch_max, settings.batch_within_seconds, lambda events: worker.batch(s, events)
        )

    @app.agent(raw_topic(app, MAPPED_PEER_REVIEWS.name), concurrency=1)
    async def peer_reviews(stream):
        """Mapped peer review returns: stored, their recommendations opened (a replay opens none)."""
        s = await worker.service()
        await each_batch(
            stream,
            settings.batch_max,
            settings.batch_within_seconds,
            lambda events: worker.peer_review_batch(s, events),
        )

    @app.timer(interval=settings.alerts_tick_seconds)
    async def due_areas():
        await worker.due_areas()

    return app


class AlertsWorker:
    """The worker's state: one pool and service (made by whichever of the agent and timer asks
    first), the outbox relay, and the timer's bookkeeping."""

    def __init__(
        self,
        settings: AlertsSettings,
        alerts_topic: faust.TopicT,
        deadletters: faust.TopicT,
        responses_topic: faust.TopicT,
    ) -> None:
        self.settings, self.alerts_topic, self.deadletters = settings, alerts_topic, deadletters
        self.responses_topic = responses_topic
        self.now = settings.now
        self._service: AlertsService | None = None
        self._relay_lock, self._start_lock = asyncio.Lock(), asyncio.Lock()
        self._gauges_at = 0.0
        self._forgot_at: float | None = None

    async def service(self) -> AlertsService:
        async with self._start_lock:
            if self._service is None:
                await require_current(self.settings.pg_dsn)
                pool = await create_pool(self.settings.pg_dsn, 1, 4, schema="alerts", attempts=120)
                self._service = AlertsService(
                    pool,
                    self.settings.policy(),
                    self.settings.external_url,
                    timedelta(seconds=self.settings.alerts_reevaluate_seconds),
                )
        return self._service

    async def relay(self, pool: asyncpg.Pool, limit: int = 500) -> int:
        """Publish the alerts.v1 outbox in id order; marked published only once Kafka acknowledged."""
        return await self._publish(
            pool,
            4242003,
            store.pending_publications,
            store.mark_published,
            self.alerts_topic,
            lambda payload: alert_headers(Alert.model_validate_json(payload)),
            limit,
        )

    async def relay_answers(self, pool: asyncpg.Pool, limit: int = 500) -> int:
        """Publish the recommendations.responses.v1 outbox (answers the API recorded) the same way."""
        return await self._publish(
            pool,
            4242008,
            recommendations.pending_publications,
            recommendations.mark_published,
            self.responses_topic,
            lambda payload: recommendation_response_headers(RecommendationResponse.model_validate_json(payload)),
            limit,
        )

    async def _publish(
        self, pool: asyncpg.Pool, lock: int, pending, mark, topic: faust.TopicT, headers_of, limit: int
    ) -> int:
        """One outbox relay pass: rows (id, area, payload) sent keyed by area, then marked."""
        async with self._relay_lock, pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", lock)  # one relay per outbox at a time
            rows = await pending(conn, limit)
            futures = [
                await topic.send(key=r["area"].encode(), value=r["payload"].encode(), headers=headers_of(r["payload"]))
                for r in rows
            ]
            await asyncio.gather(*futures)
            await mark(conn, [r["id"] for r in rows])
        return len(rows)

    async def dead_letter(self, event, reason: str) -> None:
        await send_dead_letter(self.deadletters, event, reason, "alerts")
        DEADLETTERS.labels(event.message.topic, "process").inc()
        RECORDS.labels("alerts", event.message.topic, "deadletter").inc()

    async def batch(self, s: AlertsService, events) -> None:
        """One batch is one transaction, each area in it one turn. A batch PostgreSQL refuses is
        applied again event by event, so one unstorable record is dead-lettered and the rest are
        applied."""
        BATCH_RECORDS.labels("alerts").observe(len(events))
        parsed = await parse_each(events, MappedEvent, self.dead_letter)
        if not parsed:
            return
        with TURN_SECONDS.labels("batch").time():
            parsed, done = await apply_or_one_by_one(
                parsed, lambda batch: s.ingest(batch, self.now()), self.dead_letter
            )
        fresh = set().union(*(d.fresh for d in done))
        if sum(d.published for d in done):
            await until_done(lambda: self.relay(s.pool), f"batch of {len(parsed)}")
        outcomes = []
        logging_on = log.isEnabledFor(logging.INFO)
        for event, mapped in parsed:
            applied = mapped.event_id in fresh
            fresh.discard(mapped.event_id)  # a second copy in the batch is a duplicate
            outcomes.append((event.message.topic, "seen" if applied else "duplicate"))
            if logging_on:
                log.info(
                    "event %s",
                    "applied" if applied else "duplicate",
                    extra={"event_id": str(mapped.event_id), "area": mapped.event.area},
                )
        inc_each(lambda topic, outcome: RECORDS.labels("alerts", topic, outcome), outcomes)

    async def peer_review_batch(self, s: AlertsService, events) -> None:
        parsed = await parse_each(events, MappedPeerReview, self.dead_letter)
        if not parsed:
            return
        parsed, done = await apply_or_one_by_one(
            parsed, lambda batch: s.ingest_peer_reviews(batch, self.now()), self.dead_letter
        )
        fresh = set().union(*done)
        outcomes = []
        for event, mapped in parsed:
            applied = mapped.event_id in fresh
            fresh.discard(mapped.event_id)
            outcomes.append((event.message.topic, "seen" if applied else "duplicate"))
            log.info(
                "peer review %s",
                "applied" if applied else "duplicate",
                extra={"event_id": str(mapped.event_id), "area": mapped.event.area},
            )
        inc_each(lambda topic, outcome: RECORDS.labels("alerts", topic, outcome), outcomes)

    async def due_areas(self) -> None:
        """Areas whose groups come due or whose windows need another look; the relay; gauges."""
        s = await self.service()
        try:
            for area in await store.due_areas(s.pool, self.now(), s.reevaluate):
                await self.tick(s, area)
            await self.relay(s.pool)
            await self.relay_answers(s.pool)
            await self.refresh_gauges(s.pool)
            await self.forget_old(s.pool)
        except RETRYABLE as exc:
            log.warning("postgres unavailable, timer skipped", extra={"error": repr(exc)})
        except Exception:  # noqa: BLE001 - the timer must keep running; the next tick retries
            TIMER_ERRORS.labels("due_areas").inc()
            log.exception("alerts timer failed")

    async def tick(self, s: AlertsService, area: str) -> None:
        """One area's timer turn. A failure that is the area's own (bad stored state) is logged,
        counted and skipped, so every other due area is still evaluated; PostgreSQL being away is
        not the area's and ends the pass for the next tick to retry."""
        try:
            with TURN_SECONDS.labels("timer").time():
                await s.tick(area, self.now())
        except RETRYABLE:
            raise
        except Exception:  # noqa: BLE001 - one area's state must not stop the others
            AREA_FAILURES.labels("timer").inc()
            log.exception("area skipped by the timer", extra={"area": area})

    async def refresh_gauges(self, pool: asyncpg.Pool) -> None:
        """csp_alerts and csp_alerts_by_area from the alert store, at most every few seconds."""
        if time.monotonic() - self._gauges_at < GAUGES_EVERY_SECONDS:
            return
        self._gauges_at = time.monotonic()
        set_alert_counts(await store.counts_by_rule(pool), await store.counts_by_area(pool))

    async def forget_old(self, pool: asyncpg.Pool) -> None:
        """Hourly: drop event ids past the topic's retention and alerts.v1 rows long published."""
        if self._forgot_at is not None and time.monotonic() - self._forgot_at < FORGET_EVERY_SECONDS:
            return
        self._forgot_at = time.monotonic()
        t = datetime.now(timezone.utc)  # seen_at and published_at are PostgreSQL's own clock
        await store.forget_old(
            pool, t - timedelta(days=self.settings.alerts_seen_retention_days), t - timedelta(days=7)
        )
