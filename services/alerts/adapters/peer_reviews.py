"""PostgreSQL adapter for peer review returns: plain SQL, one statement per purpose."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeAlias
from uuid import UUID

import asyncpg

from contracts.peer_review import MappedPeerReview

from ..domain.recommendations import Recommendation

Conn: TypeAlias = asyncpg.Connection


async def record_new(conn: Conn, reviews: Sequence[MappedPeerReview], now: datetime) -> set[UUID]:
    """Store returns seen for the first time; the ids of those that were new."""
    fresh: set[UUID] = set()
    for m in reviews:
        got = await conn.fetchval(
            "INSERT INTO peer_reviews (id, area, organisation_id, reviewed_on, recorded_at, mapped) "
            "VALUES ($1, $2, $3, $4, $5, $6::jsonb) ON CONFLICT (id) DO NOTHING RETURNING id",
            m.event_id,
            m.event.area,
            m.event.source,
            m.event.data.reviewed_on,
            now,
            m.model_dump_json(),
        )
        if got is not None:
            fresh.add(got)
    return fresh


async def of_area(
    pool: asyncpg.Pool, area: str, limit: int = 20
) -> list[tuple[MappedPeerReview, list[Recommendation]]]:
    """The area's latest returns, newest review first, each with the recommendations it opened."""
    rows = await pool.fetch(
        "SELECT id, mapped FROM peer_reviews WHERE area = $1 ORDER BY reviewed_on DESC, id LIMIT $2", area, limit
    )
    ids = [r["id"] for r in rows]
    recs: dict[str, list[Recommendation]] = {str(i): [] for i in ids}
    for r in await pool.fetch(
        "SELECT record FROM recommendations WHERE area = $1 AND record->>'peer_review_id' = ANY($2::text[])",
        area,
        list(recs),
    ):
        rec = Recommendation.model_validate_json(r["record"])
        recs[str(rec.peer_review_id)].append(rec)
    return [(MappedPeerReview.model_validate_json(r["mapped"]), recs[str(r["id"])]) for r in rows]
