"""PostgreSQL adapter for the partner portal and the delegated calls: the sealed key of a
signed-in session (migration 011) and what a partner organisation sent (``reporting_events``).

The session row itself is started and ended by :class:`~.store.ReportingStore`; this adapter only
adds the sealed key to a live row and reads it back under the same liveness test.
"""

from __future__ import annotations

import asyncpg

from .store import LIVE_SESSION


class PortalStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def seal_session_key(self, session_sha256: bytes, sealed: bytes) -> bool:
        """Keep ``sealed`` with a live session; forget the sealed keys of sessions that expired
        without being signed out. False when the session is not live."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE reporting_sessions SET sealed_key = NULL WHERE sealed_key IS NOT NULL AND expires_at <= now()"
            )
            result = await conn.execute(
                "UPDATE reporting_sessions SET sealed_key = $2 "
                "WHERE session_sha256 = $1 AND ended_at IS NULL AND expires_at > now()",
                session_sha256,
                sealed,
            )
        return result.endswith(" 1")

    async def sealed_key(self, session_sha256: bytes) -> bytes | None:
        """The sealed key of a live session; None when the session is not live or holds none."""
        value = await self.pool.fetchval(
            f"SELECT s.sealed_key FROM reporting_sessions s JOIN api_keys k USING (key_id) WHERE {LIVE_SESSION}",
            session_sha256,
        )
        return bytes(value) if value is not None else None

    async def submissions(self, organisation: str, limit: int, offset: int) -> tuple[list[dict], int]:
        """What ``organisation`` sent, as mapped and stored, newest first; and how many in all."""
        async with self.pool.acquire() as conn:
            total = await conn.fetchval("SELECT count(*) FROM reporting_events WHERE source = $1", organisation)
            rows = await conn.fetch(
                "SELECT event_id, type, area, occurred_at, community, theme, severity, people_affected, "
                "finding_source, summary, provider_id, indicator, value, target, stages, competencies, "
                "cdw_roles, plans, rule_ids, rules_version, ingested_at "
                "FROM reporting_events WHERE source = $1 "
                "ORDER BY ingested_at DESC, event_id LIMIT $2 OFFSET $3",
                organisation,
                limit,
                offset,
            )
        return [dict(r) for r in rows], int(total or 0)
