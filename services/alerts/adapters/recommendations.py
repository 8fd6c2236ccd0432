"""PostgreSQL adapter for community recommendations and their answers: plain SQL, one statement
per purpose. Functions taking ``conn`` run inside the caller's transaction, which holds the
area's row lock (:func:`..store.lock_area`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg

from contracts.events import RecommendationResponse

from ..domain.recommendations import Recommendation

Conn: TypeAlias = asyncpg.Connection


def _row(rec: Recommendation, now: datetime) -> tuple:
    return (
        rec.id,
        rec.area,
        rec.organisation_id,
        rec.community.value,
        rec.status,
        rec.open,
        rec.made_at,
        rec.due_date,
        now,
        rec.model_dump_json(),
    )


UPSERT = """
INSERT INTO recommendations (id, area, organisation_id, community, status, is_open, made_at,
    due_date, updated_at, record)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)
"""


async def open_new(conn: Conn, recs: Sequence[Recommendation], now: datetime) -> None:
    """Record recommendations seen for the first time; one already recorded stays as it is."""
    if recs:
        await conn.executemany(UPSERT + " ON CONFLICT (id) DO NOTHING", [_row(r, now) for r in recs])


async def save(conn: Conn, rec: Recommendation, now: datetime) -> None:
    await conn.execute(
        "UPDATE recommendations SET status = $2, is_open = $3, due_date = $4, updated_at = $5, "
        "record = $6::jsonb WHERE id = $1",
        rec.id,
        rec.status,
        rec.open,
        rec.due_date,
        now,
        rec.model_dump_json(),
    )


async def open_in(conn: Conn, areas: Sequence[str]) -> dict[str, list[Recommendation]]:
    """The areas' open recommendations (awaiting a response or an action), which the rules read."""
    out: dict[str, list[Recommendation]] = {a: [] for a in areas}
    for r in await conn.fetch(
        "SELECT area, record FROM recommendations WHERE is_open AND area = ANY($1::text[]) ORDER BY made_at, id",
        list(areas),
    ):
        out[r["area"]].append(Recommendation.model_validate_json(r["record"]))
    return out


async def locked(conn: Conn, area: str, rec_id: UUID) -> Recommendation | None:
    row = await conn.fetchrow("SELECT record FROM recommendations WHERE id = $1 AND area = $2 FOR UPDATE", rec_id, area)
    return Recommendation.model_validate_json(row["record"]) if row else None


async def answer_of(conn: Conn | asyncpg.Pool, response_id: UUID) -> RecommendationResponse | None:
    row = await conn.fetchrow("SELECT event FROM recommendation_responses WHERE id = $1", response_id)
    return RecommendationResponse.model_validate_json(row["event"]) if row else None


async def append_answer(conn: Conn, response: RecommendationResponse, key_id: str) -> None:
    """The audit trail and the outbox, in the caller's transaction."""
    payload = response.model_dump_json()
    await conn.execute(
        "INSERT INTO recommendation_responses (id, recommendation_id, area, actor, key_id, at, event) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
        response.event_id,
        response.data.recommendation_id,
        response.area,
        response.source,
        key_id,
        response.occurred_at,
        payload,
    )
    await conn.execute(
        "INSERT INTO recommendation_publications (area, response_id, payload) VALUES ($1, $2, $3::jsonb)",
        response.area,
        response.event_id,
        payload,
    )


# --- recommendations.responses.v1 relay ------------------------------------------------------


async def pending_publications(conn: Conn, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, area, payload::text AS payload FROM recommendation_publications "
        "WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        limit,
    )


async def mark_published(conn: Conn, ids: list[int]) -> None:
    await conn.execute("UPDATE recommendation_publications SET published_at = now() WHERE id = ANY($1)", ids)


# --- the read side -------------------------------------------------------------------------


def view(rec: Recommendation) -> dict[str, Any]:
    """A recommendation as the API shows it."""
    return {**json.loads(rec.model_dump_json()), "status": rec.status, "open": rec.open}


async def listing(
    pool: asyncpg.Pool, area: str, status: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    rows = await pool.fetch(
        "SELECT record, count(*) OVER () AS total FROM recommendations WHERE area = $1 "
        "AND ($2::text IS NULL OR status = $2) ORDER BY made_at DESC, id LIMIT $3 OFFSET $4",
        area,
        status,
        limit,
        offset,
    )
    total = (
        rows[0]["total"]
        if rows
        else await pool.fetchval(
            "SELECT count(*) FROM recommendations WHERE area = $1 AND ($2::text IS NULL OR status = $2)", area, status
        )
    )
    return [view(Recommendation.model_validate_json(r["record"])) for r in rows], total


async def one(pool: asyncpg.Pool, area: str, rec_id: UUID) -> dict[str, Any] | None:
    row = await pool.fetchrow("SELECT record FROM recommendations WHERE id = $1 AND area = $2", rec_id, area)
    if row is None:
        return None
    answers = await pool.fetch(
        "SELECT actor, key_id, at, event FROM recommendation_responses "
        "WHERE recommendation_id = $1 ORDER BY at, recorded_at",
        rec_id,
    )
    return {
        **view(Recommendation.model_validate_json(row["record"])),
        "answers": [
            {
                "response_id": json.loads(a["event"])["event_id"],
                "by": a["actor"],
                "key_id": a["key_id"],
                "at": a["at"],
                **json.loads(a["event"])["data"],
            }
            for a in answers
        ],
    }


async def made_since(pool: asyncpg.Pool, area: str, since: datetime) -> list[Recommendation]:
    rows = await pool.fetch("SELECT record FROM recommendations WHERE area = $1 AND made_at > $2", area, since)
    return [Recommendation.model_validate_json(r["record"]) for r in rows]


async def _answers_to(pool: asyncpg.Pool, ids: list[UUID]) -> dict[UUID, list[RecommendationResponse]]:
    out: dict[UUID, list[RecommendationResponse]] = {i: [] for i in ids}
    for a in await pool.fetch(
        "SELECT recommendation_id, event FROM recommendation_responses "
        "WHERE recommendation_id = ANY($1::uuid[]) ORDER BY at, recorded_at",
        ids,
    ):
        out[a["recommendation_id"]].append(RecommendationResponse.model_validate_json(a["event"]))
    return out


async def of_organisation(
    pool: asyncpg.Pool, organisation_id: str, area: str | None, status: str | None, limit: int, offset: int
) -> tuple[list[tuple[Recommendation, list[RecommendationResponse]]], int]:
    """The recommendations an organisation made, newest first, each with its answers."""
    where = "organisation_id = $1 AND ($2::text IS NULL OR area = $2) AND ($3::text IS NULL OR status = $3)"
    rows = await pool.fetch(
        f"SELECT id, record FROM recommendations WHERE {where} ORDER BY made_at DESC, id LIMIT $4 OFFSET $5",
        organisation_id,
        area,
        status,
        limit,
        offset,
    )
    total = await pool.fetchval(f"SELECT count(*) FROM recommendations WHERE {where}", organisation_id, area, status)
    answers = await _answers_to(pool, [r["id"] for r in rows])
    return [(Recommendation.model_validate_json(r["record"]), answers[r["id"]]) for r in rows], total


async def one_of_organisation(
    pool: asyncpg.Pool, organisation_id: str, rec_id: UUID
) -> tuple[Recommendation, list[RecommendationResponse]] | None:
    """One recommendation the organisation made, or None (another's is not told apart from none)."""
    row = await pool.fetchrow(
        "SELECT record FROM recommendations WHERE id = $1 AND organisation_id = $2", rec_id, organisation_id
    )
    if row is None:
        return None
    return Recommendation.model_validate_json(row["record"]), (await _answers_to(pool, [rec_id]))[rec_id]


async def public_listing(pool: asyncpg.Pool, area: str, limit: int, offset: int) -> tuple[list[Recommendation], int]:
    rows = await pool.fetch(
        "SELECT record FROM recommendations WHERE area = $1 ORDER BY made_at DESC, id LIMIT $2 OFFSET $3",
        area,
        limit,
        offset,
    )
    total = await pool.fetchval("SELECT count(*) FROM recommendations WHERE area = $1", area)
    return [Recommendation.model_validate_json(r["record"]) for r in rows], total
