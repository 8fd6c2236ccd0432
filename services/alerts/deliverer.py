"""Delivery loop of notifications, run inside the alerts API process.

Why here and not in the worker: delivery waits on commissioners' endpoints and SMTP relays,
which must never stall the stream; the worker scales by partition, delivery by claiming rows
(``FOR UPDATE SKIP LOCKED`` with a lease), so any number of API replicas share the outbox.
The worker's commit wakes this loop through ``LISTEN csp_alert_outbox``; a poll catches the
rest (retries coming due, a lost connection).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from datetime import datetime, timedelta, timezone

import asyncpg

from services.common.db import RETRYABLE

from .adapters import outbox
from .adapters.listener import Listener
from .adapters.senders import EmailSender, Sent, WebhookSender
from .config import AlertsSettings
from .domain.delivery import backoff
from .metrics import DELIVERY_SECONDS, NOTIFICATIONS

log = logging.getLogger("alerts.delivery")


class Deliverer:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: AlertsSettings,
        listener: Listener,
        webhooks: WebhookSender,
        email: EmailSender,
        jitter=random.random,
    ) -> None:
        self.pool, self.settings, self.listener = pool, settings, listener
        self.webhooks, self.email, self.jitter = webhooks, email, jitter

    async def run(self) -> None:
        s = self.settings
        while True:
            try:
                await self.listener.ensure()
                self.listener.outbox_ready.clear()
                if await self.deliver_due() >= s.alerts_delivery_concurrency:
                    continue  # more may be waiting
            except (*RETRYABLE, asyncpg.PostgresError) as exc:
                # InternalClientError among them: asyncpg raises it on a pooled connection whose
                # session a PostgreSQL restart ended mid-operation; the pool replaces it.
                log.warning("postgres unavailable, delivery paused", extra={"error": repr(exc)})
            except Exception:  # noqa: BLE001 - the loop outlives any one failure, or nothing is delivered
                log.exception("delivery round failed; trying again at the next poll")
            try:
                await asyncio.wait_for(self.listener.outbox_ready.wait(), s.alerts_delivery_poll_seconds)
            except TimeoutError:
                pass

    async def deliver_due(self) -> int:
        s = self.settings
        rows = await outbox.claim(self.pool, s.alerts_delivery_concurrency, s.alerts_delivery_lease_seconds)
        await asyncio.gather(*(self.deliver(row) for row in rows))
        return len(rows)

    async def deliver(self, row) -> None:
        started = time.perf_counter()
        nid, channel = row["id"], row["channel"]
        if not row["active"]:
            await outbox.record(
                self.pool, nid, row["attempts"], "failed", None, "subscription deleted", 0.0, None, cancelled=True
            )
            return
        body = row["payload"].encode()
        if channel == "webhook":
            sent = await self.webhooks.send(row["target"], row["secret"], body, str(nid))
        else:
            sent = await self.email.send(row["target"], body)
        await self._settle(row, sent, (time.perf_counter() - started) * 1000)

    async def _settle(self, row, sent: Sent, duration_ms: float) -> None:
        s, nid, channel, attempt = self.settings, row["id"], row["channel"], row["attempts"]
        facts = {
            "notification_id": str(nid),
            "subscription_id": str(row["subscription_id"]),
            "channel": channel,
            "attempt": attempt,
            "status_code": sent.status_code,
        }
        if sent.ok:
            await outbox.record(self.pool, nid, attempt, "delivered", sent.status_code, None, duration_ms, None)
            NOTIFICATIONS.labels(channel, "delivered").inc()
            DELIVERY_SECONDS.labels(channel).observe((datetime.now(timezone.utc) - row["created_at"]).total_seconds())
            log.info("notification delivered", extra=facts)
            return
        if sent.permanent or attempt >= s.alerts_max_attempts:
            await outbox.record(self.pool, nid, attempt, "failed", sent.status_code, sent.error, duration_ms, None)
            NOTIFICATIONS.labels(channel, "failed").inc()
            log.warning("notification failed", extra={**facts, "error": sent.error})
            return
        delay = backoff(attempt, base=s.alerts_retry_base_seconds, cap=s.alerts_retry_cap_seconds, jitter=self.jitter())
        if sent.retry_after is not None:
            delay = max(delay, min(sent.retry_after, s.alerts_retry_cap_seconds))
        due = datetime.now(timezone.utc) + timedelta(seconds=delay)
        await outbox.record(self.pool, nid, attempt, "retry", sent.status_code, sent.error, duration_ms, due)
        NOTIFICATIONS.labels(channel, "retried").inc()
        log.info(
            "notification retry scheduled", extra={**facts, "error": sent.error, "retry_in_seconds": round(delay, 2)}
        )
