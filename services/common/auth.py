"""API keys: issued per organisation, stored as SHA-256, carrying a role and granted areas.

Shared by every service that answers HTTP: intake (partners post), alerts and reporting
(commissioners read their areas), operators everywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum

import asyncpg


class Role(str, Enum):
    PARTNER = "partner"
    COMMISSIONER = "commissioner"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Principal:
    key_id: str
    organisation_id: str
    role: Role
    areas: frozenset[str] = frozenset()

    def may_post_as(self, source: str) -> bool:
        """A partner posts only as its own organisation; an operator may post for anyone."""
        if self.role is Role.OPERATOR:
            return True
        return self.role is Role.PARTNER and source == self.organisation_id

    def may_read_area(self, area: str) -> bool:
        return self.role is Role.OPERATOR or area in self.areas


KEY_PREFIX = "csp"


def new_secret() -> tuple[str, str, bytes]:
    """(key_id, full bearer token, sha256 of the secret part)."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return key_id, f"{KEY_PREFIX}_{key_id}_{secret}", hashlib.sha256(secret.encode()).digest()


#: The shapes :func:`new_secret` makes (hex id, URL-safe secret); anything else is refused before the
#: database sees it.
_KEY_ID = re.compile(r"[0-9a-f]{1,64}")
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def parse_token(token: str) -> tuple[str, str] | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not _KEY_ID.fullmatch(parts[1]) or not _SECRET.fullmatch(parts[2]):
        return None
    return parts[1], parts[2]


class KeyStore:
    def __init__(self, pool: asyncpg.Pool, cache_seconds: float = 5.0, max_entries: int = 10_000) -> None:
        self.pool = pool
        self.cache_seconds = cache_seconds
        self.max_entries = max_entries
        # Least recently used first; unknown tokens are cached too, so a bound is needed.
        self._cache: OrderedDict[str, tuple[float, Principal | None]] = OrderedDict()

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
            "SELECT secret_sha256, organisation_id, role, areas FROM api_keys WHERE key_id = $1 AND revoked_at IS NULL",
            key_id,
        )
        principal = None
        if row is not None and hmac.compare_digest(bytes(row["secret_sha256"]), digest):
            principal = Principal(key_id, row["organisation_id"], Role(row["role"]), frozenset(row["areas"] or ()))
        if self.cache_seconds > 0:
            self._cache[cache_key] = (now, principal)
            self._cache.move_to_end(cache_key)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return principal

    async def create(
        self,
        organisation_id: str,
        role: Role,
        areas: list[str],
        label: str = "",
        organisation_name: str | None = None,
        kind: str = "vcse_provider",
    ) -> tuple[str, str]:
        key_id, token, digest = new_secret()
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO organisations (id, name, kind) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
                organisation_id,
                organisation_name or organisation_id,
                kind,
            )
            await conn.execute(
                "INSERT INTO api_keys (key_id, secret_sha256, organisation_id, role, areas, label) "
                "VALUES ($1, $2, $3, $4, $5, $6)",
                key_id,
                digest,
                organisation_id,
                role.value,
                areas,
                label,
            )
        return key_id, token

    async def revoke(self, key_id: str) -> bool:
        result = await self.pool.execute(
            "UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL", key_id
        )
        self._cache.clear()
        return result.endswith(" 1")

    async def list(self) -> list[asyncpg.Record]:
        return await self.pool.fetch(
            "SELECT key_id, organisation_id, role, areas, label, created_at, revoked_at "
            "FROM api_keys ORDER BY created_at"
        )
