"""PostgreSQL adapter of the alerts service: plain parameterised SQL, one statement per purpose.

Functions taking ``conn`` run inside the caller's transaction; the caller holds the area's row
lock (:func:`lock_area`) before it reads or writes anything else of that area.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg
from pydantic import ValidationError

from contracts.events import Alert

from ..domain.delivery import Subscription
from ..domain.lifecycle import AlertRecord, AuditEntry, GroupRecord, Silence
from ..domain.recommendations import Recommendation
from ..domain.state import AreaState, new_state
from ..domain.thresholds import DEFAULT_THRESHOLDS, AreaThresholds
from ..metrics import INVALID_THRESHOLDS
from .recommendations import open_in as open_recommendations
from services.common.alert_rows import ALERT_COLUMNS, alert_values, placeholders
from services.common.organisations import alliance_shares

log = logging.getLogger("alerts.store")

Conn: TypeAlias = asyncpg.Connection


# --- area state --------------------------------------------------------------------------------


async def lock_areas(conn: Conn, areas: Sequence[str]) -> dict[str, AreaState]:
    """The areas' states under row locks (each created empty on first use), in name order.

    Every caller locks in name order (rows are inserted sorted and locked by ``ORDER BY ...
    FOR UPDATE``), so two transactions that share areas wait for each other, never deadlock."""
    names = sorted(set(areas))
    await conn.execute(
        "INSERT INTO alert_area_state (area, state) "
        "SELECT a, s::jsonb FROM unnest($1::text[], $2::text[]) AS t(a, s) ORDER BY a "
        "ON CONFLICT (area) DO NOTHING",
        names,
        [new_state(a).to_json() for a in names],
    )
    rows = await conn.fetch(
        "SELECT area, state FROM alert_area_state WHERE area = ANY($1::text[]) ORDER BY area FOR UPDATE", names
    )
    return {r["area"]: AreaState.from_json(r["state"]) for r in rows}


async def lock_area(conn: Conn, area: str) -> AreaState:
    return (await lock_areas(conn, [area]))[area]


async def save_area(conn: Conn, state: AreaState, changed: bool, next_check_at: datetime, now: datetime) -> None:
    if changed:
        await conn.execute(
            "UPDATE alert_area_state SET state = $2::jsonb, version = version + 1, "
            "next_check_at = $3, updated_at = $4 WHERE area = $1",
            state.area,
            state.to_json(),
            next_check_at,
            now,
        )
    else:
        await conn.execute("UPDATE alert_area_state SET next_check_at = $2 WHERE area = $1", state.area, next_check_at)


async def first_sights(conn: Conn, events: Sequence[tuple[UUID, str]]) -> set[UUID]:
    """The ids among ``events`` (event id, area) never applied before; records them all.
    A copy of an id inside ``events`` is a duplicate of the first."""
    unique = dict(events)
    rows = await conn.fetch(
        "INSERT INTO alert_events_seen (event_id, area) "
        "SELECT * FROM unnest($1::uuid[], $2::text[]) "
        "ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
        list(unique),
        list(unique.values()),
    )
    return {r["event_id"] for r in rows}


async def due_areas(pool: asyncpg.Pool, now: datetime, reevaluate: timedelta, limit: int = 100) -> list[str]:
    """Areas whose next check has come, and any whose next check lies further ahead than a
    re-evaluation interval: the clock was stepped back since it was set (or a test's clock
    moved back), and the area must not go unwatched until the old clock's time returns."""
    rows = await pool.fetch(
        "SELECT area FROM alert_area_state WHERE next_check_at <= $1 OR next_check_at > $2 "
        "ORDER BY next_check_at LIMIT $3",
        now,
        now + reevaluate,
        limit,
    )
    return [r["area"] for r in rows]


async def overrides_of(conn: Conn | asyncpg.Pool, area: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT thresholds, updated_by, updated_at FROM alert_thresholds WHERE area = $1", area)


async def put_thresholds(conn: Conn, area: str, thresholds: AreaThresholds, by: str) -> None:
    await conn.execute(
        "INSERT INTO alert_thresholds (area, thresholds, updated_by) VALUES ($1, $2::jsonb, $3) "
        "ON CONFLICT (area) DO UPDATE SET thresholds = EXCLUDED.thresholds, "
        "updated_by = EXCLUDED.updated_by, updated_at = now()",
        area,
        thresholds.model_dump_json(exclude_defaults=True),
        by,
    )
    # Re-evaluate at the next tick with the new figures.
    await conn.execute("UPDATE alert_area_state SET next_check_at = now() WHERE area = $1", area)


# --- what a turn reads ------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaInputs:
    """Everything a turn of one area reads besides its state."""

    records: dict[str, AlertRecord]
    groups: dict[str, GroupRecord]
    thresholds: AreaThresholds
    silences: list[Silence]
    #: Open recommendations (awaiting a response or an action), for the follow-up rules.
    recommendations: list[Recommendation] = field(default_factory=list)
    #: Every alliance lead's members and their shares (organisation registry), for the funding rules.
    alliances: dict[str, dict[str, float]] = field(default_factory=dict)


def stored_thresholds(area: str, text: str) -> tuple[AreaThresholds, bool]:
    """An area's thresholds in force from its stored overrides, and whether those read back. A
    row that does not (written before the API refused such values, or by hand) leaves the area on
    the defaults, logged and counted, so the area is still watched and no other area's turn
    depends on it."""
    try:
        return AreaThresholds.model_validate_json(text), True
    except ValidationError as exc:
        INVALID_THRESHOLDS.inc()
        log.error(
            "stored thresholds are not valid; the area is evaluated on the defaults",
            extra={"area": area, "error": str(exc)[:300]},
        )
        return DEFAULT_THRESHOLDS, False


async def inputs_of(conn: Conn, areas: Sequence[str], now: datetime) -> dict[str, AreaInputs]:
    """The alerts, groups, thresholds, silences in force and open recommendations of several
    areas: five queries whatever the number of areas (the caller holds their row locks)."""
    names = sorted(set(areas))
    records: dict[str, dict[str, AlertRecord]] = {a: {} for a in names}
    for r in await conn.fetch("SELECT area, record FROM alerts WHERE area = ANY($1::text[])", names):
        rec = AlertRecord.model_validate_json(r["record"])
        records[r["area"]][rec.fingerprint] = rec
    groups: dict[str, dict[str, GroupRecord]] = {a: {} for a in names}
    for r in await conn.fetch("SELECT area, record FROM alert_groups WHERE area = ANY($1::text[])", names):
        g = GroupRecord.model_validate_json(r["record"])
        groups[r["area"]][g.key] = g
    thresholds = {
        r["area"]: stored_thresholds(r["area"], r["thresholds"])[0]
        for r in await conn.fetch("SELECT area, thresholds FROM alert_thresholds WHERE area = ANY($1::text[])", names)
    }
    silences: dict[str, list[Silence]] = {a: [] for a in names}
    for r in await conn.fetch(
        "SELECT * FROM alert_silences WHERE (area IS NULL OR area = ANY($1::text[])) "
        "AND ends_at > $2 AND starts_at <= $2 ORDER BY created_at, id",
        names,
        now,
    ):
        for a in [r["area"]] if r["area"] is not None else names:
            silences[a].append(_silence(r))
    recommendations = await open_recommendations(conn, names)
    alliances = await alliance_shares(conn)
    return {
        a: AreaInputs(
            records[a], groups[a], thresholds.get(a, DEFAULT_THRESHOLDS), silences[a], recommendations[a], alliances
        )
        for a in names
    }


# --- alerts and groups -------------------------------------------------------------------------


async def area_of(conn: Conn | asyncpg.Pool, fingerprint: str) -> str | None:
    return await conn.fetchval("SELECT area FROM alerts WHERE fingerprint = $1", fingerprint)


#: The alerts table: the contract's fields, the lifecycle's bookkeeping, and the whole record.
_RECORD_COLUMNS = (
    *ALERT_COLUMNS,
    "acknowledged_by",
    "acknowledged_at",
    "acknowledgement_note",
    "resolved_by",
    "resolution_note",
    "inhibited_by",
)
_ALERT_TABLE_COLUMNS = (*_RECORD_COLUMNS, "silenced", "record")
UPSERT_ALERT = (
    f"INSERT INTO alerts ({', '.join(_ALERT_TABLE_COLUMNS)}) VALUES ({placeholders(_ALERT_TABLE_COLUMNS)}) "
    "ON CONFLICT (fingerprint) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _ALERT_TABLE_COLUMNS if c != "fingerprint")
)


def _alert_row(r: AlertRecord) -> list[Any]:
    return [*alert_values(r, _RECORD_COLUMNS), bool(r.silenced_by), r.model_dump_json()]


async def save_records(conn: Conn, records: Iterable[AlertRecord]) -> None:
    rows = [_alert_row(r) for r in records]
    if rows:
        await conn.executemany(UPSERT_ALERT, rows)


async def save_groups(conn: Conn, area: str, groups: dict[str, GroupRecord]) -> None:
    await conn.execute("DELETE FROM alert_groups WHERE area = $1 AND NOT (group_key = ANY($2))", area, list(groups))
    rows = [(g.key, area, json.dumps(g.labels), g.model_dump_json()) for g in groups.values()]
    if rows:
        await conn.executemany(
            "INSERT INTO alert_groups (group_key, area, labels, record) "
            "VALUES ($1, $2, $3::jsonb, $4::jsonb) ON CONFLICT (group_key) DO UPDATE SET "
            "record = EXCLUDED.record, updated_at = now()",
            rows,
        )


async def append_audit(conn: Conn, entries: Sequence[AuditEntry], key_id: str | None = None) -> None:
    rows = [
        (
            a.fingerprint,
            a.at,
            a.action,
            a.from_status.value if a.from_status else None,
            a.to_status.value,
            a.severity.value,
            a.by,
            key_id if a.by else None,
            a.note,
        )
        for a in entries
    ]
    if rows:
        await conn.executemany(
            "INSERT INTO alert_audit (fingerprint, at, action, from_status, to_status, severity, "
            "actor, key_id, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            rows,
        )


async def enqueue_publications(conn: Conn, alerts: Sequence[Alert]) -> None:
    rows = [(a.area, a.fingerprint, a.model_dump_json()) for a in alerts]
    if rows:
        await conn.executemany(
            "INSERT INTO alert_publications (area, fingerprint, payload) VALUES ($1, $2, $3::jsonb)", rows
        )


async def announce(conn: Conn, alerts: Sequence[Alert], notifications: int) -> None:
    """Wake the API's live streams and delivery loop once this transaction commits."""
    for a in alerts:
        await conn.execute(
            "SELECT pg_notify('csp_alert_changes', $1)",
            json.dumps(
                {
                    "fingerprint": a.fingerprint,
                    "rule": a.rule.value,
                    "area": a.area,
                    "subject": a.subject,
                    "severity": a.severity.value,
                    "status": a.status.value,
                    "summary": a.summary[:2000],
                    "updated_at": a.updated_at.isoformat(),
                }
            ),
        )
    if notifications:
        await conn.execute("SELECT pg_notify('csp_alert_outbox', '')")


# --- silences and subscriptions -------------------------------------------------------------


def _silence(row: asyncpg.Record) -> Silence:
    return Silence(
        id=str(row["id"]),
        created_by=row["created_by"],
        reason=row["reason"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        area=row["area"],
        rule=row["rule"],
        subject=row["subject"],
        fingerprint=row["fingerprint"],
    )


def subscription_of(row: asyncpg.Record) -> Subscription:
    return Subscription(
        id=row["id"],
        organisation_id=row["organisation_id"],
        areas=frozenset(row["areas"]),
        min_severity=row["min_severity"],
        rules=frozenset(row["rules"]),
        channel=row["channel"],
        target=row["target"],
    )


async def subscriptions_for(conn: Conn, area: str) -> list[Subscription]:
    rows = await conn.fetch("SELECT * FROM alert_subscriptions WHERE active AND $1 = ANY(areas)", area)
    return [subscription_of(r) for r in rows]


async def enqueue_notifications(conn: Conn, rows: Sequence[tuple[Any, ...]]) -> None:
    """rows: (id, subscription_id, channel, area, group_key, reason, status, fingerprints, payload)."""
    if rows:
        await conn.executemany(
            "INSERT INTO alert_notifications (id, subscription_id, channel, area, group_key, "
            "reason, status, fingerprints, payload) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)",
            rows,
        )


# --- alerts.v1 relay ---------------------------------------------------------------------------


async def pending_publications(conn: Conn, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, area, payload FROM alert_publications WHERE published_at IS NULL "
        "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        limit,
    )


async def mark_published(conn: Conn, ids: list[int]) -> None:
    await conn.execute("UPDATE alert_publications SET published_at = now() WHERE id = ANY($1)", ids)


async def forget_old(pool: asyncpg.Pool, seen_before: datetime, published_before: datetime) -> None:
    """Event ids older than the topics' retention cannot come back; published rows are done."""
    await pool.execute("DELETE FROM alert_events_seen WHERE seen_at < $1", seen_before)
    await pool.execute("DELETE FROM alert_publications WHERE published_at < $1", published_before)


# --- gauges ---------------------------------------------------------------------------------


async def counts_by_rule(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT rule, status, count(*) AS n FROM alerts GROUP BY rule, status")


async def counts_by_area(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT area, status, count(*) AS n FROM alerts GROUP BY area, status")
