"""The notification outbox as the delivery loop sees it: claim due rows, record each attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import asyncpg

CLAIM = """
WITH due AS (
    SELECT id FROM alert_notifications
    WHERE state = 'pending' AND next_attempt_at <= now()
      AND (lease_until IS NULL OR lease_until < now())
    ORDER BY created_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED)
UPDATE alert_notifications n
SET lease_until = now() + make_interval(secs => $2), attempts = n.attempts + 1
FROM due, alert_subscriptions s
WHERE n.id = due.id AND s.id = n.subscription_id
RETURNING n.id, n.subscription_id, n.channel, n.payload::text AS payload, n.attempts,
          n.created_at, s.target, s.secret, s.active
"""


async def claim(pool: asyncpg.Pool, limit: int, lease_seconds: float) -> list[asyncpg.Record]:
    """Due notifications, leased to this process; a crash lets the lease lapse and retries."""
    return await pool.fetch(CLAIM, limit, lease_seconds)


async def record(
    pool: asyncpg.Pool,
    notification_id: UUID,
    attempt: int,
    outcome: Literal["delivered", "retry", "failed"],
    status_code: int | None,
    error: str | None,
    duration_ms: float,
    next_attempt_at: datetime | None,
    cancelled: bool = False,
) -> None:
    state = {"delivered": "delivered", "retry": "pending", "failed": "failed"}[outcome]
    if cancelled:
        state = "cancelled"
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO alert_deliveries (notification_id, attempt, outcome, status_code, error, "
            "duration_ms) VALUES ($1, $2, $3, $4, $5, $6)",
            notification_id,
            attempt,
            outcome,
            status_code,
            error,
            duration_ms,
        )
        await conn.execute(
            "UPDATE alert_notifications SET state = $2, lease_until = NULL, last_error = $3, "
            "next_attempt_at = COALESCE($4, next_attempt_at), "
            "delivered_at = CASE WHEN $2 = 'delivered' THEN now() ELSE delivered_at END "
            "WHERE id = $1",
            notification_id,
            state,
            error,
            next_attempt_at,
        )
