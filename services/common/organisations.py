"""The organisation registry: which areas an organisation serves and which providers it reports for.

A partner key posts as its own organisation (auth.Principal.may_post_as); the registry says what
that organisation may report (:func:`may_report`):

* an event's ``area`` must be one the organisation serves;
* a performance event's ``data.provider_id`` must be one it reports for: its own id, one of its
  registered ``provider_ids``, or, for an alliance's lead body, a member's id or provider id
  ("funding flowed from the CCG, to the Trust and then to Rethink Mental Illness as the accountable
  organisation for the VCSE alliance", Keep thinking differently, 004:282).

An organisation registered with no area reports nothing: the registry fails closed. Operators are
not partners and are not restricted. :func:`may_report` is the rule (pure); :class:`Registry`
reads and writes the tables (services/common/migrations/006_organisation_registry.sql, in the
registry schema every service reads).
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import asyncpg

from contracts.funding import PARTY_FIELDS


@dataclass(frozen=True)
class Registration:
    organisation_id: str
    name: str
    kind: str
    areas: frozenset[str] = frozenset()
    provider_ids: frozenset[str] = frozenset()
    members: frozenset[str] = frozenset()
    #: Provider ids it reports for: its own id and provider ids, and its members'.
    reports_for: frozenset[str] = frozenset()
    #: An alliance lead's members with the share of the alliance's money each is due (0 to 1);
    #: a member whose share is not set is left out.
    shares: Mapping[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "id": self.organisation_id,
            "name": self.name,
            "kind": self.kind,
            "areas": sorted(self.areas),
            "provider_ids": sorted(self.provider_ids),
            "members": sorted(self.members),
            "reports_for": sorted(self.reports_for),
            "shares": dict(sorted(self.shares.items())),
        }


@dataclass(frozen=True)
class NotReportable:
    """Why an organisation may not report an event: one problem+json error per field."""

    errors: tuple[dict[str, str], ...]

    @property
    def fields(self) -> list[str]:
        return [e["field"] for e in self.errors]


def _error(field: str, reason: str) -> dict[str, str]:
    return {"field": field, "pointer": "#/" + field.replace(".", "/"), "reason": reason}


def may_report(
    registration: Registration | None, area: str, provider_id: str | None, parties: tuple[str, ...] | None = None
) -> NotReportable | None:
    """None when the organisation may report an event for ``area`` (for a performance event,
    about ``provider_id``; for a funding flow, one whose ``parties``, payer and payee, include
    the organisation itself); otherwise what it may not, naming each field."""
    if registration is None:
        return NotReportable((_error("source", "the organisation is not in the registry"),))
    errors = []
    if area not in registration.areas:
        served = ", ".join(sorted(registration.areas)) or "none"
        errors.append(_error("area", f"the organisation does not serve area '{area}' (it serves: {served})"))
    if provider_id is not None and provider_id not in registration.reports_for:
        errors.append(
            _error(
                "data.provider_id",
                f"the organisation does not report for provider '{provider_id}'; "
                "an operator registers the providers it reports for",
            )
        )
    if parties is not None and registration.organisation_id not in parties:
        for field, party in zip(PARTY_FIELDS, parties):
            errors.append(
                _error(
                    field,
                    f"the organisation '{registration.organisation_id}' is not a party "
                    f"to this flow ('{party}' is); a funding flow is posted by its "
                    "payer or its payee",
                )
            )
    return NotReportable(tuple(errors)) if errors else None


class UnknownOrganisations(LookupError):
    """Members named that are not registered organisations."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__(f"no organisation {', '.join(ids)}")
        self.ids = ids


def check_shares(members: Sequence[str], shares: Mapping[str, float]) -> None:
    """Raises ValueError unless each share is of a member, between 0 and 1, and together at most 1."""
    strangers = sorted(set(shares) - set(members))
    if strangers:
        raise ValueError(f"shares name organisations that are not members: {', '.join(strangers)}")
    for member, share in shares.items():
        if not 0 <= share <= 1:
            raise ValueError(f"the share of {member} must be between 0 and 1")
    if sum(shares.values()) > 1 + 1e-9:
        raise ValueError("the members' shares add up to more than the whole")


def _not_its_own_member(organisation_id: str, members: Sequence[str]) -> None:
    if organisation_id in members:
        raise ValueError(f"{organisation_id} cannot be its own member")


_REGISTRATIONS = """
SELECT o.id, o.name, o.kind, o.areas, o.provider_ids,
       coalesce(array_agg(m.member_id) FILTER (WHERE m.member_id IS NOT NULL), '{}') AS members,
       coalesce((SELECT array_agg(DISTINCT p) FROM organisations x
                 CROSS JOIN LATERAL unnest(x.provider_ids || x.id) AS p
                 WHERE x.id = o.id OR x.id IN (SELECT member_id FROM organisation_members
                                               WHERE lead_id = o.id)), '{}') AS reports_for,
       coalesce(jsonb_object_agg(m.member_id, m.share) FILTER (WHERE m.share IS NOT NULL), '{}')
           AS shares
FROM organisations o LEFT JOIN organisation_members m ON m.lead_id = o.id
WHERE $1::text IS NULL OR o.id = $1
GROUP BY o.id ORDER BY o.id"""

_UPSERT = """
INSERT INTO organisations (id, name, kind, areas, provider_ids)
VALUES ($1, coalesce($2::text, $1), coalesce($3::text, 'vcse_provider'),
        coalesce($4::text[], '{}'), coalesce($5::text[], '{}'))
ON CONFLICT (id) DO UPDATE SET name = coalesce($2::text, organisations.name),
    kind = coalesce($3::text, organisations.kind), areas = coalesce($4::text[], organisations.areas),
    provider_ids = coalesce($5::text[], organisations.provider_ids), updated_at = now()"""


def _registration(row: asyncpg.Record) -> Registration:
    shares = row["shares"]
    return Registration(
        row["id"],
        row["name"],
        row["kind"],
        frozenset(row["areas"]),
        frozenset(row["provider_ids"]),
        frozenset(row["members"]),
        frozenset(row["reports_for"]),
        {k: float(v) for k, v in (json.loads(shares) if isinstance(shares, str) else shares).items()},
    )


#: Every alliance with a share set: lead id -> member id -> share.
_ALLIANCE_SHARES = """
SELECT lead_id, member_id, share FROM organisation_members WHERE share IS NOT NULL
ORDER BY lead_id, member_id"""


async def alliance_shares(conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, dict[str, float]]:
    """Every alliance lead's members and the share each is due, for the funding rules."""
    out: dict[str, dict[str, float]] = {}
    for r in await conn.fetch(_ALLIANCE_SHARES):
        out.setdefault(r["lead_id"], {})[r["member_id"]] = float(r["share"])
    return out


class Registry:
    """The registry in PostgreSQL. Registrations are cached for ``cache_seconds`` (as keys are, so
    a change bites everywhere within that time), at most ``max_entries``, least recently used
    forgotten first."""

    def __init__(self, pool: asyncpg.Pool, cache_seconds: float = 5.0, max_entries: int = 10_000) -> None:
        self.pool, self.cache_seconds, self.max_entries = pool, cache_seconds, max_entries
        self._cache: OrderedDict[str, tuple[float, Registration | None]] = OrderedDict()

    async def of(self, organisation_id: str) -> Registration | None:
        now = time.monotonic()
        hit = self._cache.get(organisation_id)
        if hit and now - hit[0] < self.cache_seconds:
            self._cache.move_to_end(organisation_id)
            return hit[1]
        rows = await self.pool.fetch(_REGISTRATIONS, organisation_id)
        found = _registration(rows[0]) if rows else None
        if self.cache_seconds > 0:
            self._cache[organisation_id] = (now, found)
            self._cache.move_to_end(organisation_id)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return found

    async def all(self) -> list[Registration]:
        return [_registration(r) for r in await self.pool.fetch(_REGISTRATIONS, None)]

    async def register(
        self,
        organisation_id: str,
        *,
        name: str | None = None,
        kind: str | None = None,
        areas: list[str] | None = None,
        provider_ids: list[str] | None = None,
        members: list[str] | None = None,
        shares: Mapping[str, float] | None = None,
    ) -> Registration:
        """Create or update an organisation in one transaction; an argument left None keeps what is
        stored, a list given replaces it. Members must be registered organisations
        (:class:`UnknownOrganisations` otherwise, and nothing is written); ``shares`` (with
        ``members``) gives each member's share of the alliance's money (:func:`check_shares`)."""
        _not_its_own_member(organisation_id, members or ())
        if shares is not None:
            if members is None:
                raise ValueError("shares are given with the members they belong to")
            check_shares(members, shares)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(_UPSERT, organisation_id, name, kind, areas, provider_ids)
            if members is not None:
                await self._check_known(conn, members)
                await conn.execute("DELETE FROM organisation_members WHERE lead_id = $1", organisation_id)
                await conn.executemany(
                    "INSERT INTO organisation_members (lead_id, member_id, share) VALUES ($1, $2, $3)",
                    [(organisation_id, m, (shares or {}).get(m)) for m in sorted(set(members))],
                )
        return await self._fresh(organisation_id)

    async def add(
        self,
        organisation_id: str,
        *,
        areas: Sequence[str] = (),
        provider_ids: Sequence[str] = (),
        members: Sequence[str] = (),
    ) -> Registration:
        """Add areas, provider ids or members to a registered organisation, keeping what it has."""
        _not_its_own_member(organisation_id, members)
        async with self.pool.acquire() as conn, conn.transaction():
            await self._check_known(conn, [organisation_id, *members])
            await conn.execute(
                "UPDATE organisations SET areas = ARRAY(SELECT DISTINCT unnest(areas || $2::text[]) ORDER BY 1), "
                "provider_ids = ARRAY(SELECT DISTINCT unnest(provider_ids || $3::text[]) ORDER BY 1), "
                "updated_at = now() WHERE id = $1",
                organisation_id,
                list(areas),
                list(provider_ids),
            )
            await conn.executemany(
                "INSERT INTO organisation_members (lead_id, member_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                [(organisation_id, m) for m in members],
            )
        return await self._fresh(organisation_id)

    async def remove_member(self, lead_id: str, member_id: str) -> bool:
        result = await self.pool.execute(
            "DELETE FROM organisation_members WHERE lead_id = $1 AND member_id = $2", lead_id, member_id
        )
        self._cache.pop(lead_id, None)
        return result.endswith(" 1")

    async def _fresh(self, organisation_id: str) -> Registration:
        self._cache.pop(organisation_id, None)
        found = await self.of(organisation_id)
        assert found is not None
        return found

    @staticmethod
    async def _check_known(conn: asyncpg.Connection, ids: Sequence[str]) -> None:
        known = {
            r["id"] for r in await conn.fetch("SELECT id FROM organisations WHERE id = ANY($1::text[])", list(ids))
        }
        unknown = sorted(set(ids) - known)
        if unknown:
            raise UnknownOrganisations(unknown)
