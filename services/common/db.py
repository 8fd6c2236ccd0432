"""asyncpg pool creation with retry, so a service waits for PostgreSQL instead of crashing, and
each service's view of the database: its own schema and the shared registry, nothing else."""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from .metrics import track_pool
from .migrate import search_path

log = logging.getLogger(__name__)


def session_settings(schema: str) -> dict[str, str]:
    """asyncpg's ``server_settings`` for a connection of that service. Sent when the session
    starts, so it wins over the database's default search_path (set for people and scripts by
    migration 016) and survives the pool's ``RESET ALL`` between users."""
    return {"search_path": search_path(schema)}


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Release without a reset query: asyncpg has already rolled back any open transaction."""


async def create_pool(
    dsn: str, min_size: int = 1, max_size: int = 10, *, schema: str, attempts: int = 30, session_state: bool = True
) -> asyncpg.Pool:
    """A pool that waits for PostgreSQL, whose connections see ``schema`` and the registry
    (:func:`search_path`). By default a released connection is reset (``RESET
    ALL; UNLISTEN *; ...``: one more round trip per query); ``session_state=False`` skips that
    for a pool whose users never set session state (no SET, LISTEN, session advisory locks,
    cursors outside a transaction)."""
    last: Exception | None = None
    for attempt in range(1, attempts + 1):
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                command_timeout=30,
                server_settings=session_settings(schema),
                reset=None if session_state else _keep_session,
            )
            track_pool(pool)  # csp_pg_pool_connections on this process's /metrics
            return pool
        except (OSError, asyncpg.PostgresError) as exc:
            last = exc
            log.warning("postgres not reachable, retrying", extra={"attempt": attempt, "error": str(exc)})
            await asyncio.sleep(min(2.0, 0.2 * attempt))
    raise RuntimeError(f"PostgreSQL not reachable after {attempts} attempts: {last}")


#: Errors that say PostgreSQL is away or busy, not that the write is wrong: worth retrying.
#: OperatorInterventionError is SQLSTATE class 57 (a session terminated by a restart or an
#: administrator, a crash shutdown, "cannot connect now", a cancelled statement);
#: InternalClientError is what asyncpg raises on a connection whose session was terminated
#: mid-operation (MagicStack/asyncpg#784, #1069). An error escaping a faust agent's body holds
#: its batch uncommitted (streams.held_on_failure) and stalls the worker's commits until it
#: restarts, so anything missing here turns a passing outage into a stalled worker.
RETRYABLE = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.OperatorInterventionError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)


async def until_done(write, event_id: str):
    """Run ``write`` (one transaction) until it succeeds. PostgreSQL down is no reason to skip an
    event: the stream offset must never pass a record that is not stored. Data errors (SQLSTATE
    class 22, e.g. a value PostgreSQL cannot hold) are raised: retrying would never succeed, and
    the caller dead-letters the record."""
    delay = 0.2
    while True:
        try:
            return await write()
        except RETRYABLE as exc:
            log.warning("postgres unavailable, retrying", extra={"event_id": event_id, "error": repr(exc)})
            await asyncio.sleep(delay)
            delay = min(5.0, delay * 2)
