"""PostgreSQL adapter for reporting: idempotent ingestion of mapped events and alerts, rollup queries.

Every dashboard figure is read from the rollups (migrations 004 and 012); the event ledger
``reporting_events`` is read only to list the findings behind a cell (drill-down).
SQL is parameterised throughout; the only pieces of SQL chosen at run time are an ORDER BY taken
from a fixed whitelist (``ORDER_BY``) and filter clauses from fixed fragments (``_filters``),
never from the caller's text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from uuid import UUID

import asyncpg

from contracts.events import Alert, CommunityEngagementFinding, MappedEvent, ProviderPerformanceEvent
from contracts.funding import FundingFlowEvent

from services.common.alert_rows import ALERT_COLUMNS, alert_values, placeholders

from ..domain.rollups import RollupBatch, cover, event_type, rollup
from ..domain.windows import Window

_EVENT_COLUMNS = (
    "event_id, type, source, region, area, occurred_at, day, community, theme, severity, "
    "people_affected, finding_source, summary, provider_id, provider_sector, indicator, "
    "value, target, stages, competencies, cdw_roles, plans, rule_ids, rules_version, mapped_at, "
    "funding"
)
_EVENT_COLUMN_LIST = [c.strip() for c in _EVENT_COLUMNS.split(",")]

_INSERT_EVENT = f"""
INSERT INTO reporting_events ({_EVENT_COLUMNS})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
    $21, $22, $23, $24, $25, $26)
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""
_STAGING = """
CREATE TEMPORARY TABLE IF NOT EXISTS reporting_events_staging
    (LIKE reporting_events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS
"""
_INSERT_STAGED = f"""
INSERT INTO reporting_events ({_EVENT_COLUMNS})
SELECT {_EVENT_COLUMNS} FROM reporting_events_staging
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""
_UPSERT_SIGNATURE = """
INSERT INTO rollup_signatures (signature_id, type, stages, competencies, cdw_roles)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT (signature_id) DO NOTHING
"""
_UPSERT_AREA = """
INSERT INTO rollup_area_daily (area, day, signature_id, region, events, people_affected, unmet_need)
SELECT * FROM unnest($1::text[], $2::date[], $3::bigint[], $4::text[], $5::int[], $6::bigint[], $7::int[])
ON CONFLICT (area, day, signature_id) DO UPDATE SET
    events = rollup_area_daily.events + excluded.events,
    people_affected = rollup_area_daily.people_affected + excluded.people_affected,
    unmet_need = rollup_area_daily.unmet_need + excluded.unmet_need
"""
_UPSERT_DETAIL = """
INSERT INTO rollup_detail_daily (area, day, signature_id, community, theme, region, events,
    people_affected, severity_weight, high_severity)
SELECT * FROM unnest($1::text[], $2::date[], $3::bigint[], $4::text[], $5::text[], $6::text[],
    $7::int[], $8::bigint[], $9::bigint[], $10::int[])
ON CONFLICT (area, day, signature_id, community, theme) DO UPDATE SET
    events = rollup_detail_daily.events + excluded.events,
    people_affected = rollup_detail_daily.people_affected + excluded.people_affected,
    severity_weight = rollup_detail_daily.severity_weight + excluded.severity_weight,
    high_severity = rollup_detail_daily.high_severity + excluded.high_severity
"""
_UPSERT_COMMUNITY_THEME = """
INSERT INTO rollup_community_theme (grain, bucket, area, community, theme, region, findings,
    people_affected, severity_weight, high_severity)
SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::text[], $5::text[], $6::text[],
    $7::int[], $8::bigint[], $9::bigint[], $10::int[])
ON CONFLICT (grain, bucket, area, community, theme) DO UPDATE SET
    findings = rollup_community_theme.findings + excluded.findings,
    people_affected = rollup_community_theme.people_affected + excluded.people_affected,
    severity_weight = rollup_community_theme.severity_weight + excluded.severity_weight,
    high_severity = rollup_community_theme.high_severity + excluded.high_severity
"""
_UPSERT_FRESHNESS = """
INSERT INTO reporting_freshness (area, region, last_ingested_at, last_event_day)
SELECT a, r, now(), d FROM unnest($1::text[], $2::text[], $3::date[]) AS t(a, r, d)
ON CONFLICT (area) DO UPDATE SET last_ingested_at = now(),
    last_event_day = greatest(reporting_freshness.last_event_day, excluded.last_event_day)
"""
_UPSERT_SERIES = """
INSERT INTO provider_indicator_series (area, provider_id, indicator, community, period_start, period_end,
    region, provider_name, sector, value, target, unit, numerator, denominator, population_share,
    funding_committed_gbp, funding_required_gbp, contract_end_date, renewal_recorded, event_id, occurred_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
ON CONFLICT (area, provider_id, indicator, community, period_start, period_end) DO UPDATE SET
    region = excluded.region, provider_name = excluded.provider_name, sector = excluded.sector,
    value = excluded.value, target = excluded.target, unit = excluded.unit,
    numerator = excluded.numerator, denominator = excluded.denominator,
    population_share = excluded.population_share,
    funding_committed_gbp = excluded.funding_committed_gbp,
    funding_required_gbp = excluded.funding_required_gbp,
    contract_end_date = excluded.contract_end_date, renewal_recorded = excluded.renewal_recorded,
    event_id = excluded.event_id, occurred_at = excluded.occurred_at, updated_at = now()
WHERE excluded.occurred_at >= provider_indicator_series.occurred_at
"""
_UPSERT_ALERT = (
    f"INSERT INTO reporting_alerts ({', '.join(ALERT_COLUMNS)}) VALUES ({placeholders(ALERT_COLUMNS)}) "
    "ON CONFLICT (fingerprint) DO UPDATE SET "
    + "".join(f"{c} = excluded.{c}, " for c in ALERT_COLUMNS if c != "fingerprint")
    + "received_at = now() WHERE excluded.updated_at > reporting_alerts.updated_at RETURNING fingerprint"
)
#: The dashboard's alert list: the contract's fields but the evidence.
_ALERT_LIST_COLUMNS = ", ".join(c for c in ALERT_COLUMNS if c != "evidence")

#: The sort orders callers may ask for, by name. Only these strings ever reach an ORDER BY.
ORDER_BY: dict[str, dict[str, str]] = {
    "alerts": {
        "age": "starts_at ASC, fingerprint",
        "newest": "starts_at DESC, fingerprint",
        "severity": "CASE severity WHEN 'red' THEN 0 ELSE 1 END, starts_at ASC, fingerprint",
        "area": "area, starts_at ASC, fingerprint",
        "rule": "rule, starts_at ASC, fingerprint",
        "updated": "updated_at DESC, fingerprint",
    },
    "findings": {
        "newest": "occurred_at DESC, event_id",
        "oldest": "occurred_at ASC, event_id",
        "severity": "CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'moderate' THEN 2 "
        "WHEN 'low' THEN 3 ELSE 4 END, occurred_at DESC, event_id",
        "people": "people_affected DESC NULLS LAST, occurred_at DESC, event_id",
        "area": "area, occurred_at DESC, event_id",
    },
}


def _row(m: MappedEvent) -> tuple:
    e = m.event
    day = e.occurred_at.date()
    common = (e.event_id, event_type(m), e.source, e.region.value, e.area, e.occurred_at, day)
    specific: tuple[object, ...]
    funding = None
    if isinstance(e, FundingFlowEvent):
        # The flow as the event carried it (migration 010), for the funding chain reports.
        flow = e.data
        funding = flow.model_dump_json()
        specific = (None, None, None, None, None, None, flow.payee.organisation_id, None, None, flow.amount_gbp, None)
    elif isinstance(e, CommunityEngagementFinding):
        finding = e.data
        specific = (
            finding.community.value,
            finding.theme.value,
            finding.severity.value,
            finding.people_affected,
            finding.finding_source.value,
            finding.summary,
            None,
            None,
            None,
            None,
            None,
        )
    else:
        performance = e.data
        specific = (
            performance.community.value if performance.community else None,
            None,
            None,
            None,
            None,
            None,
            performance.provider_id,
            performance.provider_sector.value,
            performance.indicator.value,
            performance.value,
            performance.target,
        )
    return (
        common
        + specific
        + (
            [int(s) for s in m.stages],
            [int(c) for c in m.competencies],
            [r.value for r in m.cdw_roles],
            [p.value for p in m.plans],
            m.rule_ids,
            m.rules_version,
            m.mapped_at,
            funding,
        )
    )


def _series_row(e: ProviderPerformanceEvent) -> tuple:
    """A series point holds the measure the platform judges (``PerformanceData.measured``: for
    ethnicity recording with counts, the share of records whose ethnicity is known)."""
    d = e.data
    numerator, denominator = d.measured_counts
    return (
        e.area,
        d.provider_id,
        d.indicator.value,
        d.community.value if d.community else "",
        d.period_start,
        d.period_end,
        e.region.value,
        d.provider_name,
        d.provider_sector.value,
        d.measured,
        d.target,
        d.unit.value if d.unit else None,
        numerator,
        denominator,
        d.population_share,
        d.funding_committed_gbp,
        d.funding_required_gbp,
        d.contract_end_date,
        d.renewal_recorded,
        e.event_id,
        e.occurred_at,
    )


#: The drill-down's columns (reporting_events as e).
_FINDING_COLUMNS = ", ".join(
    f"e.{c}"
    for c in (
        "event_id",
        "type",
        "occurred_at",
        "area",
        "region",
        "source",
        "community",
        "theme",
        "severity",
        "people_affected",
        "summary",
        "provider_id",
        "indicator",
        "value",
        "target",
        "stages",
        "competencies",
        "cdw_roles",
    )
)
#: Filter clauses by name, on the ledger (e) and on a rollup (r) with its signature (s). Only
#: these fixed fragments reach the SQL; ``{}`` becomes the value's parameter number.
_EVENT_FILTERS = {
    "stage": "{}::smallint = ANY(e.stages)",
    "competency": "{}::smallint = ANY(e.competencies)",
    "community": "e.community = {}",
    "theme": "e.theme = {}",
    "cdw_role": "{}::text = ANY(e.cdw_roles)",
    "event_type": "e.type = {}",
    "provider": "e.provider_id = {}",
}
_DETAIL_FILTERS = {
    "stage": "{}::smallint = ANY(s.stages)",
    "competency": "{}::smallint = ANY(s.competencies)",
    "community": "r.community = {}",
    "theme": "r.theme = {}",
    "cdw_role": "{}::text = ANY(s.cdw_roles)",
    "event_type": "s.type = {}",
}


def _filters(given: Mapping[str, object], fragments: Mapping[str, str], args: list) -> tuple[str, list]:
    """`` AND ...`` for each filter given a value (in ``fragments``), and ``args`` with the values
    appended in the same order."""
    clauses, out = "", list(args)
    for name, value in given.items():
        if value is not None and name in fragments:
            out.append(value)
            clauses += " AND " + fragments[name].format(f"${len(out)}")
    return clauses, out


#: Ended or expired session rows are kept this long as a record, then deleted (a local default).
_FORGET_OLD_SESSIONS = "DELETE FROM reporting_sessions WHERE expires_at < now() - interval '30 days'"


#: A dashboard or portal session reads only while it is live: session $1 not ended, not expired,
#: its key not revoked (``reporting_sessions s JOIN api_keys k``, migrations 007 and 011).
LIVE_SESSION = "s.session_sha256 = $1 AND s.ended_at IS NULL AND s.expires_at > now() AND k.revoked_at IS NULL"


class ReportingStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._known_signatures: set[int] = set()

    # -- ingestion -------------------------------------------------------------------------

    async def ingest(self, mapped: MappedEvent) -> bool:
        """Insert the event and add it to the rollups, once. False when it was already there."""
        return await self.ingest_many([mapped]) == 1

    async def ingest_many(self, events: Sequence[MappedEvent]) -> int:
        """Insert a batch and add only the events new to the ledger to the rollups, in one
        transaction. Returns how many were new."""
        return len(await self.ingest_new(events))

    async def ingest_new(self, events: Sequence[MappedEvent]) -> set[UUID]:
        """As :meth:`ingest_many`; returns the ids of the events that were new."""
        unique: dict[UUID, MappedEvent] = {}
        for m in events:
            unique.setdefault(m.event_id, m)
        if not unique:
            return set()
        rows = [_row(m) for m in unique.values()]
        async with self.pool.acquire() as conn, conn.transaction():
            if len(rows) == 1:
                new_ids = {r for r in [await conn.fetchval(_INSERT_EVENT, *rows[0])] if r is not None}
            else:
                await conn.execute(_STAGING)
                await conn.copy_records_to_table("reporting_events_staging", records=rows, columns=_EVENT_COLUMN_LIST)
                new_ids = {r["event_id"] for r in await conn.fetch(_INSERT_STAGED)}
            if not new_ids:
                return set()  # replays or redeliveries: counted already
            fresh = [m for i, m in unique.items() if i in new_ids]
            batch = rollup(fresh)
            added = await self._write_rollups(conn, batch)
            series = [_series_row(m.event) for m in fresh if isinstance(m.event, ProviderPerformanceEvent)]
            if series:
                # Oldest first, so within a batch the latest occurrence of a period wins.
                series.sort(key=lambda r: r[-1])
                await conn.executemany(_UPSERT_SERIES, series)
        self._known_signatures |= added
        return new_ids

    async def _write_rollups(self, conn: asyncpg.Connection, batch: RollupBatch) -> set[int]:
        added = set()
        for sid, sig in sorted(batch.signatures.items()):
            if sid not in self._known_signatures:
                await conn.execute(
                    _UPSERT_SIGNATURE, sid, sig.type, list(sig.stages), list(sig.competencies), list(sig.cdw_roles)
                )
                added.add(sid)
        area_keys = sorted(batch.area)
        await conn.execute(
            _UPSERT_AREA,
            [k[0] for k in area_keys],
            [k[1] for k in area_keys],
            [k[2] for k in area_keys],
            [batch.regions[k[0]] for k in area_keys],
            [batch.area[k].events for k in area_keys],
            [batch.area[k].people_affected for k in area_keys],
            [batch.area[k].unmet_need for k in area_keys],
        )
        keys = sorted(batch.detail)
        vals = [batch.detail[k] for k in keys]
        await conn.execute(
            _UPSERT_DETAIL,
            [k[0] for k in keys],
            [k[1] for k in keys],
            [k[2] for k in keys],
            [k[3] for k in keys],
            [k[4] for k in keys],
            [batch.regions[k[0]] for k in keys],
            [v.events for v in vals],
            [v.people_affected for v in vals],
            [v.severity_weight for v in vals],
            [v.high_severity for v in vals],
        )
        buckets = sorted(batch.community_theme)
        counts = [batch.community_theme[k] for k in buckets]
        await conn.execute(
            _UPSERT_COMMUNITY_THEME,
            [k[0] for k in buckets],
            [k[1] for k in buckets],
            [k[2] for k in buckets],
            [k[3] for k in buckets],
            [k[4] for k in buckets],
            [batch.regions[k[2]] for k in buckets],
            [c.events for c in counts],
            [c.people_affected for c in counts],
            [c.severity_weight for c in counts],
            [c.high_severity for c in counts],
        )
        areas = sorted(batch.last_day)
        await conn.execute(
            _UPSERT_FRESHNESS, areas, [batch.regions[a] for a in areas], [batch.last_day[a] for a in areas]
        )
        return added

    async def upsert_alert(self, alert: Alert) -> bool:
        """Keep the latest state per fingerprint. False when this state is not newer than the stored one."""
        return await self.pool.fetchval(_UPSERT_ALERT, *alert_values(alert)) is not None

    # -- queries ---------------------------------------------------------------------------

    async def data_as_of(self, areas: list[str]) -> datetime | None:
        return await self.pool.fetchval(
            "SELECT max(last_ingested_at) FROM reporting_freshness WHERE area = ANY($1::text[])", areas
        )

    async def area_totals(self, areas: list[str], cur: Window, prev: Window) -> list[dict]:
        """Per area and event type: events and people affected in the window and the one before."""
        rows = await self.pool.fetch(
            "SELECT r.area, s.type, "
            "  coalesce(sum(r.events) FILTER (WHERE r.day >= $4), 0)::bigint AS events, "
            "  coalesce(sum(r.events) FILTER (WHERE r.day < $4), 0)::bigint AS events_prev, "
            "  coalesce(sum(r.people_affected) FILTER (WHERE r.day >= $4), 0)::bigint AS people, "
            "  coalesce(sum(r.people_affected) FILTER (WHERE r.day < $4), 0)::bigint AS people_prev, "
            "  coalesce(sum(r.unmet_need) FILTER (WHERE r.day >= $4), 0)::bigint AS unmet_need, "
            "  coalesce(sum(r.unmet_need) FILTER (WHERE r.day < $4), 0)::bigint AS unmet_need_prev "
            "FROM rollup_area_daily r JOIN rollup_signatures s USING (signature_id) "
            "WHERE r.area = ANY($1::text[]) AND r.day BETWEEN $2 AND $3 GROUP BY r.area, s.type",
            areas,
            prev.start,
            cur.end,
            cur.start,
        )
        return [dict(r) for r in rows]

    async def signature_counts(
        self, areas: list[str], cur: Window, prev: Window, *, community: str | None = None, theme: str | None = None
    ) -> list[dict]:
        """Events per mapping signature in the window and the one before; the caller expands the
        signatures into stages, competencies and CDW roles."""
        if community is None and theme is None:
            sql = (
                "SELECT r.signature_id, s.type, s.stages, s.competencies, s.cdw_roles, "
                "  coalesce(sum(r.events) FILTER (WHERE r.day >= $4), 0)::bigint AS events, "
                "  coalesce(sum(r.events) FILTER (WHERE r.day < $4), 0)::bigint AS events_prev "
                "FROM rollup_area_daily r JOIN rollup_signatures s USING (signature_id) "
                "WHERE r.area = ANY($1::text[]) AND r.day BETWEEN $2 AND $3 "
                "GROUP BY r.signature_id, s.type, s.stages, s.competencies, s.cdw_roles"
            )
            args: list = [areas, prev.start, cur.end, cur.start]
        else:
            # Only the filters given (fixed fragments, values as parameters): a filter written as
            # "$5 IS NULL OR ..." would leave PostgreSQL's cached generic plan unable to use the
            # community and theme indexes (migration 012).
            clauses, args = _filters(
                {"community": community, "theme": theme}, _DETAIL_FILTERS, [areas, prev.start, cur.end, cur.start]
            )
            sql = (
                "SELECT r.signature_id, s.type, s.stages, s.competencies, s.cdw_roles, "
                "  coalesce(sum(r.events) FILTER (WHERE r.day >= $4), 0)::bigint AS events, "
                "  coalesce(sum(r.events) FILTER (WHERE r.day < $4), 0)::bigint AS events_prev "
                "FROM rollup_detail_daily r JOIN rollup_signatures s USING (signature_id) "
                f"WHERE r.area = ANY($1::text[]) AND r.day BETWEEN $2 AND $3{clauses} "
                "GROUP BY r.signature_id, s.type, s.stages, s.competencies, s.cdw_roles"
            )
        return [dict(r) for r in await self.pool.fetch(sql, *args)]

    async def community_theme(self, areas: list[str], cur: Window, prev: Window) -> list[dict]:
        """Findings per community and theme in the window and the one before, summed over the
        calendar buckets that tile each (``rollups.cover``, migration 012)."""
        tiles = [(grain, start, True) for grain, start in cover(cur.start, cur.end)]
        tiles += [(grain, start, False) for grain, start in cover(prev.start, prev.end)]
        rows = await self.pool.fetch(
            "SELECT r.community, r.theme, "
            "  coalesce(sum(r.findings) FILTER (WHERE t.current), 0)::bigint AS findings, "
            "  coalesce(sum(r.findings) FILTER (WHERE NOT t.current), 0)::bigint AS findings_prev, "
            "  coalesce(sum(r.people_affected) FILTER (WHERE t.current), 0)::bigint AS people, "
            "  coalesce(sum(r.people_affected) FILTER (WHERE NOT t.current), 0)::bigint AS people_prev, "
            "  coalesce(sum(r.severity_weight) FILTER (WHERE t.current), 0)::bigint AS severity_weight, "
            "  coalesce(sum(r.high_severity) FILTER (WHERE t.current), 0)::bigint AS high_severity "
            "FROM unnest($2::text[], $3::date[], $4::bool[]) AS t(grain, bucket, current) "
            "JOIN rollup_community_theme r ON r.grain = t.grain AND r.bucket = t.bucket "
            "WHERE r.area = ANY($1::text[]) "
            "GROUP BY r.community, r.theme",
            areas,
            [t[0] for t in tiles],
            [t[1] for t in tiles],
            [t[2] for t in tiles],
        )
        return [dict(r) for r in rows]

    # -- dashboard sessions (migration 007) ------------------------------------------------------

    async def start_session(self, session_sha256: bytes, key_id: str, seconds: int) -> None:
        """Record a signed-in session of ``key_id`` for ``seconds``; forget sessions long expired."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(_FORGET_OLD_SESSIONS)
            await conn.execute(
                "INSERT INTO reporting_sessions (session_sha256, key_id, expires_at) "
                "VALUES ($1, $2, now() + make_interval(secs => $3))",
                session_sha256,
                key_id,
                float(seconds),
            )

    async def session_principal(self, session_sha256: bytes) -> dict | None:
        """The key behind a live session: not ended, not expired, its key not revoked."""
        row = await self.pool.fetchrow(
            "SELECT k.key_id, k.organisation_id, k.role, k.areas "
            f"FROM reporting_sessions s JOIN api_keys k USING (key_id) WHERE {LIVE_SESSION}",
            session_sha256,
        )
        return dict(row) if row else None

    async def end_session(self, session_sha256: bytes) -> bool:
        """Sign a session out server-side: every copy of its cookie stops reading. False when it
        had already ended."""
        result = await self.pool.execute(
            "UPDATE reporting_sessions SET ended_at = now(), end_reason = 'signed_out' "
            "WHERE session_sha256 = $1 AND ended_at IS NULL",
            session_sha256,
        )
        return result.endswith(" 1")

    async def series(
        self, areas: list[str], until: date, since: date, *, indicator: str | None = None, provider: str | None = None
    ) -> list[dict]:
        """Provider indicator series ending between ``since`` and ``until``, oldest period first."""
        rows = await self.pool.fetch(
            "SELECT area, region, provider_id, provider_name, sector, indicator, community, period_start, "
            "  period_end, value, target, unit, numerator, denominator, population_share, "
            "  funding_committed_gbp, funding_required_gbp, contract_end_date, renewal_recorded, event_id "
            "FROM provider_indicator_series "
            "WHERE area = ANY($1::text[]) AND period_end BETWEEN $2 AND $3 "
            "  AND ($4::text IS NULL OR indicator = $4) AND ($5::text IS NULL OR provider_id = $5) "
            "ORDER BY area, provider_id, indicator, community, period_start, period_end",
            areas,
            since,
            until,
            indicator,
            provider,
        )
        return [dict(r) for r in rows]

    async def region_pools(self, regions: list[str], indicators: list[str], window: Window) -> dict:
        """Pooled numerator and denominator per (region, indicator) over periods ending in the window:
        the region benchmark (every provider in the region, aggregated)."""
        rows = await self.pool.fetch(
            "SELECT region, indicator, sum(numerator)::bigint AS numerator, sum(denominator)::bigint AS denominator "
            "FROM provider_indicator_series WHERE region = ANY($1::text[]) AND indicator = ANY($2::text[]) "
            "  AND period_end BETWEEN $3 AND $4 AND denominator > 0 GROUP BY region, indicator",
            regions,
            indicators,
            window.start,
            window.end,
        )
        return {(r["region"], r["indicator"]): (r["numerator"], r["denominator"]) for r in rows}

    async def funding(self, areas: list[str], as_of: date) -> list[dict]:
        """Per voluntary provider and area: its latest funding report, latest contract end date and
        latest payment overdue figure (days)."""
        rows = await self.pool.fetch(
            "WITH f AS (SELECT DISTINCT ON (area, provider_id) area, provider_id, provider_name, "
            "    funding_committed_gbp, funding_required_gbp, period_start, period_end, "
            "    contract_end_date, renewal_recorded, event_id "
            "  FROM provider_indicator_series WHERE area = ANY($1::text[]) AND sector = 'voluntary' "
            "    AND indicator = 'funding' AND period_start <= $2 "
            "  ORDER BY area, provider_id, period_end DESC, occurred_at DESC), "
            "c AS (SELECT DISTINCT ON (area, provider_id) area, provider_id, provider_name, "
            "    contract_end_date, renewal_recorded "
            "  FROM provider_indicator_series WHERE area = ANY($1::text[]) AND sector = 'voluntary' "
            "    AND contract_end_date IS NOT NULL AND period_start <= $2 "
            "  ORDER BY area, provider_id, period_end DESC, occurred_at DESC), "
            "p AS (SELECT DISTINCT ON (area, provider_id) area, provider_id, provider_name, "
            "    value AS payment_days_overdue "
            "  FROM provider_indicator_series WHERE area = ANY($1::text[]) AND sector = 'voluntary' "
            "    AND indicator = 'payment_overdue' AND period_start <= $2 "
            "  ORDER BY area, provider_id, period_end DESC, occurred_at DESC), "
            "fc AS (SELECT coalesce(f.area, c.area) AS area, coalesce(f.provider_id, c.provider_id) AS provider_id, "
            "  coalesce(f.provider_name, c.provider_name) AS provider_name, "
            "  f.funding_committed_gbp, f.funding_required_gbp, f.period_start, f.period_end, "
            "  c.contract_end_date, c.renewal_recorded, f.event_id "
            "  FROM f FULL JOIN c ON f.area = c.area AND f.provider_id = c.provider_id) "
            "SELECT coalesce(fc.area, p.area) AS area, coalesce(fc.provider_id, p.provider_id) AS provider_id, "
            "  coalesce(fc.provider_name, p.provider_name) AS provider_name, fc.funding_committed_gbp, "
            "  fc.funding_required_gbp, fc.period_start, fc.period_end, fc.contract_end_date, "
            "  fc.renewal_recorded, fc.event_id, p.payment_days_overdue "
            "FROM fc FULL JOIN p ON fc.area = p.area AND fc.provider_id = p.provider_id "
            "ORDER BY 1, 2",
            areas,
            as_of,
        )
        return [dict(r) for r in rows]

    async def provider_periods(self, areas: list[str], window: Window) -> list[dict]:
        """Per provider: the months it reported for in the window (for data completeness)."""
        rows = await self.pool.fetch(
            "SELECT area, provider_id, min(provider_name) AS provider_name, min(sector) AS sector, "
            "  array_agg(DISTINCT date_trunc('month', period_start)::date) AS months, "
            "  max(period_end) AS last_period_end, count(DISTINCT indicator)::int AS indicators "
            "FROM provider_indicator_series WHERE area = ANY($1::text[]) "
            "  AND period_end >= $2 AND period_start <= $3 GROUP BY area, provider_id ORDER BY area, provider_id",
            areas,
            window.start,
            window.end,
        )
        return [dict(r) for r in rows]

    async def alerts(
        self, areas: list[str], *, include_resolved: bool = False, sort: str = "age", limit: int = 500
    ) -> list[dict]:
        order = ORDER_BY["alerts"][sort]  # KeyError for anything not whitelisted
        rows = await self.pool.fetch(
            f"SELECT {_ALERT_LIST_COLUMNS}, evidence->>'provider_name' AS provider_name FROM reporting_alerts "
            "WHERE area = ANY($1::text[]) AND ($2 OR status <> 'resolved') "
            f"ORDER BY {order} LIMIT $3",
            areas,
            include_resolved,
            limit,
        )
        return [dict(r) for r in rows]

    async def open_alert_counts(self, areas: list[str]) -> dict[str, int]:
        rows = await self.pool.fetch(
            "SELECT area, count(*)::int AS n FROM reporting_alerts "
            "WHERE area = ANY($1::text[]) AND status <> 'resolved' GROUP BY area",
            areas,
        )
        return {r["area"]: r["n"] for r in rows}

    async def findings(
        self,
        areas: list[str],
        window: Window,
        *,
        stage: int | None = None,
        competency: int | None = None,
        community: str | None = None,
        theme: str | None = None,
        cdw_role: str | None = None,
        event_type: str | None = None,
        provider: str | None = None,
        sort: str = "newest",
        limit: int = 200,
        offset: int = 0,
    ) -> tuple[int, list[dict]]:
        """The events behind a dashboard cell (drill-down), with the total that match.

        The total is read from the rollups, which count exactly the ledger's events (both are
        written in one transaction), unless a provider is asked for, which they do not hold. A
        page is read area by area along an index in its order (migrations 012 and 017), so it
        costs its own rows rather than a sort of the whole window."""
        order = ORDER_BY["findings"][sort]
        given = {
            "stage": stage,
            "competency": competency,
            "community": community,
            "theme": theme,
            "cdw_role": cdw_role,
            "event_type": event_type,
            "provider": provider,
        }
        clauses, args = _filters(given, _EVENT_FILTERS, [areas, window.start, window.end])
        where = f"e.area = ANY($1::text[]) AND e.day BETWEEN $2 AND $3{clauses}"
        async with self.pool.acquire() as conn:
            if provider is None:
                table = "rollup_detail_daily" if community is not None or theme is not None else "rollup_area_daily"
                rclauses, rargs = _filters(given, _DETAIL_FILTERS, [areas, window.start, window.end])
                total = await conn.fetchval(
                    f"SELECT coalesce(sum(r.events), 0) FROM {table} r JOIN rollup_signatures s "
                    f"USING (signature_id) WHERE r.area = ANY($1::text[]) AND r.day BETWEEN $2 AND $3{rclauses}",
                    *rargs,
                )
            else:
                total = await conn.fetchval(f"SELECT count(*) FROM reporting_events e WHERE {where}", *args)
            n = len(args)
            # Each area's page is read along an index in the page's own order (migrations 012 and
            # 017), then the areas' pages are merged. A day is the event's own date, within two
            # days of UTC's either way. PostgreSQL underestimates how soon an area's rows meet a
            # filter and would rather gather the whole window into a bitmap and sort it; walking
            # the index is what keeps a page's cost to its own rows, so bitmaps are off for this
            # statement. A generic plan, blind to the window's dates, reads the whole window along
            # (area, day) and sorts it for orders led by severity or people; this statement is
            # planned for its own values each time.
            per_area = where.replace("e.area = ANY($1::text[])", "e.area = a.area")
            within_area = order.removeprefix("area, ")
            async with conn.transaction():
                await conn.execute("SET LOCAL enable_bitmapscan = off; SET LOCAL plan_cache_mode = force_custom_plan")
                rows = await conn.fetch(
                    f"SELECT x.* FROM unnest($1::text[]) AS a(area) CROSS JOIN LATERAL ("
                    f"  SELECT {_FINDING_COLUMNS} FROM reporting_events e WHERE {per_area} "
                    "   AND e.occurred_at >= $2::date - 2 AND e.occurred_at < $3::date + 3 "
                    f"  ORDER BY {within_area} LIMIT ${n + 1}::bigint + ${n + 2}::bigint) x "
                    f"ORDER BY {order} LIMIT ${n + 1} OFFSET ${n + 2}",
                    *args,
                    limit,
                    offset,
                )
        return total, [dict(r) for r in rows]
