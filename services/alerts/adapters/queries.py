"""Read side of the alert API: listing and showing alerts, silences, subscriptions.

Filters are bind parameters; the sort order is chosen from :data:`SORTS`, whose statements are
fixed when this module loads, so no request text ever reaches the SQL.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.common.alert_rows import ALERT_COLUMNS

SORTS: dict[str, str] = {
    "-updated_at": "updated_at DESC, fingerprint",
    "updated_at": "updated_at ASC, fingerprint",
    "-starts_at": "starts_at DESC, fingerprint",
    "starts_at": "starts_at ASC, fingerprint",
    "-severity": "(severity = 'red') DESC, updated_at DESC, fingerprint",
    "severity": "(severity = 'red') ASC, updated_at DESC, fingerprint",
    "area": "area ASC, updated_at DESC, fingerprint",
}
#: A listed alert: the contract's fields but its evidence and events (counted instead), and
#: who acted on it.
_LIST_COLUMNS = ", ".join(
    (
        *(c for c in ALERT_COLUMNS if c not in ("evidence", "event_ids")),
        "acknowledged_by",
        "acknowledged_at",
        "resolved_by",
        "silenced",
        "inhibited_by",
        "cardinality(event_ids) AS events",
    )
)
#: One alert shown whole: the contract's fields and the lifecycle's bookkeeping.
_SHOW_COLUMNS = ", ".join(
    (
        *("evidence::text AS evidence" if c == "evidence" else c for c in ALERT_COLUMNS),
        "acknowledged_by",
        "acknowledged_at",
        "acknowledgement_note",
        "resolved_by",
        "resolution_note",
        "silenced",
        "inhibited_by",
    )
)
_LIST = f"""
SELECT {_LIST_COLUMNS}, count(*) OVER () AS total
FROM alerts
WHERE area = ANY($1::text[])
  AND ($2::text IS NULL OR rule = $2)
  AND ($3::text IS NULL OR status = $3)
  AND ($4::text IS NULL OR severity = $4)
ORDER BY {{order}}
LIMIT $5 OFFSET $6
"""
LIST_SQL: dict[str, str] = {key: _LIST.format(order=order) for key, order in SORTS.items()}


def _plain(row: asyncpg.Record, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        if key in drop:
            continue
        out[key] = str(value) if isinstance(value, UUID) else value
    return out


async def list_alerts(
    pool: asyncpg.Pool,
    areas: list[str],
    rule: str | None,
    status: str | None,
    severity: str | None,
    sort: str,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    rows = await pool.fetch(LIST_SQL[sort], areas, rule, status, severity, limit, offset)
    total = rows[0]["total"] if rows else 0
    if not rows and offset:
        total = await pool.fetchval(
            "SELECT count(*) FROM alerts WHERE area = ANY($1::text[]) AND ($2::text IS NULL OR "
            "rule = $2) AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR "
            "severity = $4)",
            areas,
            rule,
            status,
            severity,
        )
    return [_plain(r, ("total",)) for r in rows], total


async def alert(pool: asyncpg.Pool, fingerprint: str) -> dict[str, Any] | None:
    row = await pool.fetchrow(f"SELECT {_SHOW_COLUMNS} FROM alerts WHERE fingerprint = $1", fingerprint)
    if row is None:
        return None
    out = _plain(row)
    out["evidence"] = json.loads(row["evidence"])
    out["event_ids"] = [str(e) for e in row["event_ids"]]
    return out


async def audit(pool: asyncpg.Pool, fingerprint: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT at, action, from_status, to_status, severity, actor AS by, note FROM alert_audit "
        "WHERE fingerprint = $1 ORDER BY id",
        fingerprint,
    )
    return [_plain(r) for r in rows]


async def notifications(pool: asyncpg.Pool, fingerprint: str, organisation_id: str | None) -> list[dict[str, Any]]:
    """Notifications about the alert with their delivery log; ``organisation_id`` None = all."""
    rows = await pool.fetch(
        "SELECT n.id, n.subscription_id, n.channel, n.reason, n.status, n.state, n.attempts, "
        "n.created_at, n.delivered_at, n.last_error FROM alert_notifications n "
        "JOIN alert_subscriptions s ON s.id = n.subscription_id "
        "WHERE n.fingerprints @> ARRAY[$1]::text[] AND ($2::text IS NULL OR s.organisation_id = $2) "
        "ORDER BY n.created_at",
        fingerprint,
        organisation_id,
    )
    ids = [r["id"] for r in rows]
    log = await pool.fetch(
        "SELECT notification_id, attempt, at, outcome, status_code, error, duration_ms "
        "FROM alert_deliveries WHERE notification_id = ANY($1) ORDER BY id",
        ids,
    )
    by_id: dict[UUID, list[dict[str, Any]]] = {}
    for entry in log:
        by_id.setdefault(entry["notification_id"], []).append(_plain(entry, ("notification_id",)))
    return [{**_plain(r), "deliveries": by_id.get(r["id"], [])} for r in rows]


# --- silences -------------------------------------------------------------------------------

_SILENCE_COLUMNS = "id, created_by, reason, starts_at, ends_at, area, rule, subject, fingerprint, created_at"


async def insert_silence(pool: asyncpg.Pool, values: dict[str, Any], key_id: str) -> dict[str, Any]:
    row = await pool.fetchrow(
        "INSERT INTO alert_silences (id, created_by, key_id, reason, starts_at, ends_at, area, "
        "rule, subject, fingerprint) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
        f"RETURNING {_SILENCE_COLUMNS}",
        UUID(values["id"]),
        values["created_by"],
        key_id,
        values["reason"],
        values["starts_at"],
        values["ends_at"],
        values["area"],
        values["rule"],
        values["subject"],
        values["fingerprint"],
    )
    return _plain(row)


async def silences(
    pool: asyncpg.Pool, areas: list[str] | None, include_expired: bool, now: datetime
) -> list[dict[str, Any]]:
    """``areas`` None: every silence (operators); otherwise those scoped to these areas."""
    rows = await pool.fetch(
        f"SELECT {_SILENCE_COLUMNS} FROM alert_silences "
        "WHERE ($1::text[] IS NULL OR area = ANY($1::text[])) AND ($2 OR ends_at > $3) "
        "ORDER BY created_at DESC LIMIT 500",
        areas,
        include_expired,
        now,
    )
    return [_plain(r) for r in rows]


async def silence(pool: asyncpg.Pool, silence_id: UUID) -> dict[str, Any] | None:
    row = await pool.fetchrow(f"SELECT {_SILENCE_COLUMNS} FROM alert_silences WHERE id = $1", silence_id)
    return _plain(row) if row else None


async def expire_silence(pool: asyncpg.Pool, silence_id: UUID, now: datetime) -> dict[str, Any]:
    row = await pool.fetchrow(
        "UPDATE alert_silences SET ends_at = GREATEST(starts_at + interval '1 millisecond', "
        f"LEAST(ends_at, $2)) WHERE id = $1 RETURNING {_SILENCE_COLUMNS}",
        silence_id,
        now,
    )
    if row["area"] is not None:
        await pool.execute("UPDATE alert_area_state SET next_check_at = now() WHERE area = $1", row["area"])
    return _plain(row)


# --- subscriptions --------------------------------------------------------------------------

_SUB_COLUMNS = "id, organisation_id, areas, min_severity, rules, channel, target, active, created_at, deleted_at"


async def insert_subscription(pool: asyncpg.Pool, values: dict[str, Any]) -> dict[str, Any]:
    row = await pool.fetchrow(
        "INSERT INTO alert_subscriptions (id, organisation_id, created_by_key, areas, "
        "min_severity, rules, channel, target, secret) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        f"RETURNING {_SUB_COLUMNS}",
        values["id"],
        values["organisation_id"],
        values["key_id"],
        values["areas"],
        values["min_severity"],
        values["rules"],
        values["channel"],
        values["target"],
        values["secret"],
    )
    return _plain(row)


async def subscriptions(pool: asyncpg.Pool, organisation_id: str | None) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        f"SELECT {_SUB_COLUMNS} FROM alert_subscriptions WHERE active "
        "AND ($1::text IS NULL OR organisation_id = $1) ORDER BY created_at",
        organisation_id,
    )
    return [_plain(r) for r in rows]


async def subscription(pool: asyncpg.Pool, sub_id: UUID) -> dict[str, Any] | None:
    row = await pool.fetchrow(f"SELECT {_SUB_COLUMNS} FROM alert_subscriptions WHERE id = $1", sub_id)
    return _plain(row) if row else None


async def delete_subscription(pool: asyncpg.Pool, sub_id: UUID) -> None:
    await pool.execute(
        "UPDATE alert_subscriptions SET active = false, deleted_at = now() WHERE id = $1 AND active", sub_id
    )
