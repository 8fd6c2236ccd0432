"""asyncpg pool creation with retry, so a service waits for PostgreSQL instead of crashing."""
from __future__ import annotations

import asyncio
import logging

import asyncpg

from .metrics import track_pool

log = logging.getLogger(__name__)


async def create_pool(dsn: str, min_size: int = 1, max_size: int = 10,
                      attempts: int = 30) -> asyncpg.Pool:
    last: Exception | None = None
    for attempt in range(1, attempts + 1):
        try:
            pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size,
                                             command_timeout=30)
            track_pool(pool)  # csp_pg_pool_connections on this process's /metrics
            return pool
        except (OSError, asyncpg.PostgresError) as exc:
            last = exc
            log.warning("postgres not reachable, retrying", extra={"attempt": attempt, "error": str(exc)})
            await asyncio.sleep(min(2.0, 0.2 * attempt))
    raise RuntimeError(f"PostgreSQL not reachable after {attempts} attempts: {last}")
