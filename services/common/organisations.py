"""The organisation registry: which areas an organisation serves and which providers it reports for.

A partner key posts as its own organisation (auth.Principal.may_post_as); the registry says what
that organisation may report:

* an event's ``area`` must be one the organisation serves;
* a performance event's ``data.provider_id`` must not be registered to another organisation.
  A provider id is registered to an organisation when it is that organisation's own id or one of
  its ``provider_ids``. An alliance's lead body (Keep thinking differently, 004:282-294) reports
  for its members: their ids and provider ids count as its own. An id registered to nobody is
  accepted, so a partner can report a service the registry does not list yet; registering it to
  an organisation closes it to every other one.

Operators are not partners and are not restricted. :func:`refusals` is the rule (pure); the
:class:`Registry` reads and writes the tables (deploy/migrations/006_organisation_registry.sql).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import asyncpg


@dataclass(frozen=True)
class Registration:
    organisation_id: str
    name: str
    kind: str
    areas: frozenset[str] = frozenset()
    provider_ids: frozenset[str] = frozenset()
    members: frozenset[str] = frozenset()
    #: Provider ids it reports for: its own id and provider ids, and its members'.
    reports_for: frozenset[str] = field(default=frozenset())

    def as_dict(self) -> dict:
        return {"id": self.organisation_id, "name": self.name, "kind": self.kind,
                "areas": sorted(self.areas), "provider_ids": sorted(self.provider_ids),
                "members": sorted(self.members), "reports_for": sorted(self.reports_for)}


def refusals(registration: Registration | None, area: str, provider_id: str | None,
             owners: frozenset[str]) -> list[tuple[str, str]]:
    """(field, reason) for each thing the organisation may not report; ``owners`` are the
    organisations ``provider_id`` is registered to."""
    if registration is None:
        return [("source", "the organisation is not in the registry")]
    found = []
    if area not in registration.areas:
        served = ", ".join(sorted(registration.areas)) or "none"
        found.append(("area", f"the organisation does not serve area '{area}' (it serves: {served})"))
    if provider_id is not None and provider_id not in registration.reports_for and owners:
        found.append(("data.provider_id",
                      f"provider '{provider_id}' is registered to another organisation"))
    return found


_REGISTRATIONS = """
SELECT o.id, o.name, o.kind, o.areas, o.provider_ids,
       coalesce(array_agg(m.member_id) FILTER (WHERE m.member_id IS NOT NULL), '{}') AS members,
       coalesce((SELECT array_agg(DISTINCT p) FROM organisations x
                 CROSS JOIN LATERAL unnest(x.provider_ids || x.id) AS p
                 WHERE x.id = o.id OR x.id IN (SELECT member_id FROM organisation_members
                                               WHERE lead_id = o.id)), '{}') AS reports_for
FROM organisations o LEFT JOIN organisation_members m ON m.lead_id = o.id
WHERE $1::text IS NULL OR o.id = $1
GROUP BY o.id ORDER BY o.id"""


def _registration(row: asyncpg.Record) -> Registration:
    return Registration(row["id"], row["name"], row["kind"], frozenset(row["areas"]),
                        frozenset(row["provider_ids"]), frozenset(row["members"]),
                        frozenset(row["reports_for"]))


class Registry:
    """The registry in PostgreSQL, with registrations cached for ``cache_seconds`` (as keys are)."""

    def __init__(self, pool: asyncpg.Pool, cache_seconds: float = 5.0, max_entries: int = 10_000) -> None:
        self.pool, self.cache_seconds, self.max_entries = pool, cache_seconds, max_entries
        self._cache: dict[str, tuple[float, Registration | None]] = {}

    async def of(self, organisation_id: str) -> Registration | None:
        now = time.monotonic()
        hit = self._cache.get(organisation_id)
        if hit and now - hit[0] < self.cache_seconds:
            return hit[1]
        rows = await self.pool.fetch(_REGISTRATIONS, organisation_id)
        found = _registration(rows[0]) if rows else None
        if self.cache_seconds > 0:
            if len(self._cache) >= self.max_entries:
                self._cache.clear()
            self._cache[organisation_id] = (now, found)
        return found

    async def owners(self, provider_ids: set[str]) -> dict[str, frozenset[str]]:
        """The organisations each provider id is registered to (absent: to none)."""
        if not provider_ids:
            return {}
        rows = await self.pool.fetch(
            "SELECT p, array_agg(o.id) AS owners FROM organisations o "
            "CROSS JOIN LATERAL unnest(o.provider_ids || o.id) AS p "
            "WHERE p = ANY($1::text[]) GROUP BY p", sorted(provider_ids))
        return {r["p"]: frozenset(r["owners"]) for r in rows}

    async def all(self) -> list[Registration]:
        return [_registration(r) for r in await self.pool.fetch(_REGISTRATIONS, None)]

    async def register(self, organisation_id: str, *, name: str | None = None, kind: str | None = None,
                       areas: list[str] | None = None, provider_ids: list[str] | None = None,
                       members: list[str] | None = None, conn: asyncpg.Connection | None = None) -> None:
        """Create or update an organisation; arguments left None keep what is stored."""
        async def run(c: asyncpg.Connection) -> None:
            await c.execute(
                "INSERT INTO organisations (id, name, kind, areas, provider_ids) "
                "VALUES ($1, coalesce($2::text, $1), coalesce($3::text, 'vcse_provider'), "
                "coalesce($4::text[], '{}'), coalesce($5::text[], '{}')) "
                "ON CONFLICT (id) DO UPDATE SET name = coalesce($2::text, organisations.name), "
                "kind = coalesce($3::text, organisations.kind), areas = coalesce($4::text[], organisations.areas), "
                "provider_ids = coalesce($5::text[], organisations.provider_ids), updated_at = now()",
                organisation_id, name, kind, areas, provider_ids)
            if members is not None:
                await c.execute("DELETE FROM organisation_members WHERE lead_id = $1", organisation_id)
                for member in members:
                    await c.execute("INSERT INTO organisations (id, name, kind) VALUES ($1, $1, 'vcse_provider') "
                                    "ON CONFLICT (id) DO NOTHING", member)
                    await c.execute("INSERT INTO organisation_members (lead_id, member_id) VALUES ($1, $2)",
                                    organisation_id, member)
        if conn is not None:
            await run(conn)
        else:
            async with self.pool.acquire() as c, c.transaction():
                await run(c)
        self._cache.pop(organisation_id, None)
