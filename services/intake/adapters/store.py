"""PostgreSQL adapter for intake: API keys and the idempotency ledger. Plain parameterised SQL."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from ..domain.admission import Principal, Role

KEY_PREFIX = "csp"


def new_secret() -> tuple[str, str, bytes]:
    """(key_id, full bearer token, sha256 of the secret part)."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return key_id, f"{KEY_PREFIX}_{key_id}_{secret}", hashlib.sha256(secret.encode()).digest()


def parse_token(token: str) -> tuple[str, str] | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


@dataclass(frozen=True)
class LedgerRow:
    event_id: UUID
    organisation_id: str
    body_sha256: bytes
    published: bool
    topic: str | None
    partition: int | None
    offset: int | None


class KeyStore:
    def __init__(self, pool: asyncpg.Pool, cache_seconds: float = 5.0) -> None:
        self.pool = pool
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def authenticate(self, token: str) -> Principal | None:
        parsed = parse_token(token)
        if parsed is None:
            return None
        key_id, secret = parsed
        digest = hashlib.sha256(secret.encode()).digest()
        cache_key = key_id + ":" + digest.hex()
        now = time.monotonic()
        hit = self._cache.get(cache_key)
        if hit and now - hit[0] < self.cache_seconds:
            return hit[1]
        row = await self.pool.fetchrow(
            "SELECT secret_sha256, organisation_id, role, areas FROM api_keys "
            "WHERE key_id = $1 AND revoked_at IS NULL", key_id)
        principal = None
        if row is not None and hmac.compare_digest(bytes(row["secret_sha256"]), digest):
            principal = Principal(key_id, row["organisation_id"], Role(row["role"]),
                                  frozenset(row["areas"] or ()))
        if self.cache_seconds > 0:
            self._cache[cache_key] = (now, principal)
        return principal

    async def create(self, organisation_id: str, role: Role, areas: list[str], label: str = "",
                     organisation_name: str | None = None, kind: str = "vcse_provider") -> tuple[str, str]:
        key_id, token, digest = new_secret()
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO organisations (id, name, kind) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
                organisation_id, organisation_name or organisation_id, kind)
            await conn.execute(
                "INSERT INTO api_keys (key_id, secret_sha256, organisation_id, role, areas, label) "
                "VALUES ($1, $2, $3, $4, $5, $6)", key_id, digest, organisation_id, role.value, areas, label)
        return key_id, token

    async def revoke(self, key_id: str) -> bool:
        result = await self.pool.execute(
            "UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL", key_id)
        self._cache.clear()
        return result.endswith(" 1")

    async def list(self) -> list[asyncpg.Record]:
        return await self.pool.fetch(
            "SELECT key_id, organisation_id, role, areas, label, created_at, revoked_at "
            "FROM api_keys ORDER BY created_at")


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
