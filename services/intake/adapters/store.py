"""PostgreSQL adapter for intake: API keys and the idempotency ledger. Plain parameterised SQL."""
from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg

@dataclass(frozen=True)
class LedgerRow:
    event_id: UUID
    organisation_id: str
    body_sha256: bytes
    published: bool
    topic: str | None
    partition: int | None
    offset: int | None


class Ledger:
    """The idempotency ledger: one row per event_id, 'pending' until Kafka acknowledged it."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def lookup(self, event_ids: list[UUID]) -> dict[UUID, LedgerRow]:
        rows = await self.pool.fetch(
            "SELECT event_id, organisation_id, body_sha256, status, topic, kafka_partition, kafka_offset "
            "FROM intake_events WHERE event_id = ANY($1::uuid[])", event_ids)
        return {r["event_id"]: LedgerRow(r["event_id"], r["organisation_id"], bytes(r["body_sha256"]),
                                         r["status"] == "published", r["topic"], r["kafka_partition"],
                                         r["kafka_offset"]) for r in rows}

    async def reserve(self, rows: list[tuple[UUID, str, str, str, bytes]]) -> set[UUID]:
        """Insert pending rows; returns the ids this call inserted (others raced or existed)."""
        if not rows:
            return set()
        ids, orgs, types, areas, hashes = zip(*rows)
        inserted = await self.pool.fetch(
            "INSERT INTO intake_events (event_id, organisation_id, type, area, body_sha256, status) "
            "SELECT * , 'pending' FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bytea[]) "
            "ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
            list(ids), list(orgs), list(types), list(areas), list(hashes))
        return {r["event_id"] for r in inserted}

    async def mark_published(self, rows: list[tuple[UUID, str, int, int]]) -> None:
        if not rows:
            return
        ids, topics, partitions, offsets = zip(*rows)
        await self.pool.execute(
            "UPDATE intake_events AS e SET status = 'published', topic = u.topic, "
            "kafka_partition = u.p, kafka_offset = u.o, published_at = now() "
            "FROM unnest($1::uuid[], $2::text[], $3::int[], $4::bigint[]) AS u(id, topic, p, o) "
            "WHERE e.event_id = u.id", list(ids), list(topics), list(partitions), list(offsets))
