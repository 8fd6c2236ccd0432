"""PostgreSQL adapter for intake: API keys and the idempotency ledger. Plain parameterised SQL."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from services.common.coalesce import Coalescer


@dataclass(frozen=True)
class LedgerRow:
    event_id: str
    organisation_id: str
    body_sha256: bytes
    published: bool
    topic: str | None
    partition: int | None
    offset: int | None
    age_s: float  # since the row was reserved, by PostgreSQL's clock


class Ledger:
    """The idempotency ledger: one row per event_id, 'pending' until Kafka acknowledged it.
    Event ids are the UUIDs' canonical text (``str(UUID)``), both ways."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._reserve = Coalescer(self._insert_pending, "intake_ledger_reserve")
        self._mark = Coalescer(self._update_published, "intake_ledger_published")

    async def lookup(self, event_ids: list[str]) -> dict[str, LedgerRow]:
        rows = await self.pool.fetch(
            "SELECT event_id::text AS event_id, organisation_id, body_sha256, status, topic, kafka_partition, "
            "kafka_offset, extract(epoch FROM clock_timestamp() - received_at)::float8 AS age_s "
            "FROM intake_events WHERE event_id = ANY($1::uuid[])",
            event_ids,
        )
        return {
            r["event_id"]: LedgerRow(
                r["event_id"],
                r["organisation_id"],
                bytes(r["body_sha256"]),
                r["status"] == "published",
                r["topic"],
                r["kafka_partition"],
                r["kafka_offset"],
                r["age_s"],
            )
            for r in rows
        }

    async def reserve(self, rows: list[tuple[str, str, str, str, bytes]]) -> set[str]:
        """Insert pending rows; returns the ids this call inserted (others raced or existed).

        Calls in flight together share one INSERT (see services.common.coalesce); an id offered
        twice among them counts as inserted for the first offer only."""
        flags = await self._reserve(rows)
        return {row[0] for row, inserted in zip(rows, flags) if inserted}

    async def _insert_pending(self, rows: list[tuple[str, str, str, str, bytes]]) -> list[bool]:
        ids, orgs, types, areas, hashes = zip(*rows)
        inserted = {
            r["event_id"]
            for r in await self.pool.fetch(
                "INSERT INTO intake_events (event_id, organisation_id, type, area, body_sha256, status) "
                "SELECT * , 'pending' FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bytea[]) "
                "ON CONFLICT (event_id) DO NOTHING RETURNING event_id::text AS event_id",
                list(ids),
                list(orgs),
                list(types),
                list(areas),
                list(hashes),
            )
        }
        flags = []
        for event_id in ids:
            flags.append(event_id in inserted)
            inserted.discard(event_id)  # a second offer of the same id was not inserted by it
        return flags

    async def mark_published(self, rows: list[tuple[str, str, int, int]]) -> None:
        """Record where Kafka put each event; calls in flight together share one UPDATE."""
        await self._mark(rows)

    async def _update_published(self, rows: list[tuple[str, str, int, int]]) -> list[None]:
        ids, topics, partitions, offsets = zip(*rows)
        await self.pool.execute(
            "UPDATE intake_events AS e SET status = 'published', topic = u.topic, "
            "kafka_partition = u.p, kafka_offset = u.o, published_at = now() "
            "FROM unnest($1::uuid[], $2::text[], $3::int[], $4::bigint[]) AS u(id, topic, p, o) "
            "WHERE e.event_id = u.id",
            list(ids),
            list(topics),
            list(partitions),
            list(offsets),
        )
        return [None] * len(rows)
