"""Bulk loading for the reporting benchmark: millions of events generated inside PostgreSQL.

The benchmark's :class:`~tests.benchmarks.bench_reporting.Generator` builds each event in Python
and stores it through ``ReportingStore.ingest_many``: about 5,000 events/s, forty minutes for ten
million. Here the same events are generated set-based, a chunk at a time:

* the templates are the Generator's own (mapped once by the real rule set) and become rows through
  the store's own row builders (``store._row``, ``store._series_row``);
* ``generate_series`` draws, per event, what the Generator draws: area, day in the last 365 and
  minute of the day, 2% provider performance events (provider-0..39, the month's period, a value
  of 70-95), otherwise a finding template with a community, severity and 1-59 people affected;
* the rollups are then added from the staged events by :func:`add_rollups`: the reporting
  worker's counting rules (``services.reporting.domain.rollups``) written as GROUP BY, with the
  signature ids computed by the worker's own function and the same additive upserts. A test
  (tests/integration/test_bulk_load.py) shows they give the rows the worker's path gives.

Every connection here is the reporting service's own (``session_settings("reporting")``): its
search_path, so the tables are found wherever the reporting migrations put them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import asyncpg

from contracts.events import ProviderPerformanceEvent
from contracts.vocabulary import SEVERITY_WEIGHTS, UNMET_NEED_THEMES, Community, Severity
from services.common.db import session_settings
from services.reporting.adapters.store import _EVENT_COLUMN_LIST, _EVENT_COLUMNS, _UPSERT_SERIES, _row, _series_row
from services.reporting.domain.rollups import GRAINS, HIGH_SEVERITIES, signature

STAGING = "bulk_staging"
_TEMPLATES = "bulk_templates"

_CREATE = f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING} (LIKE reporting_events INCLUDING DEFAULTS);
CREATE TEMPORARY TABLE IF NOT EXISTS {_TEMPLATES} (tidx int PRIMARY KEY, LIKE reporting_events INCLUDING DEFAULTS);
CREATE TEMPORARY TABLE IF NOT EXISTS bulk_signatures (
    type text, stages smallint[], competencies smallint[], cdw_roles text[], signature_id bigint);
CREATE TEMPORARY TABLE IF NOT EXISTS bulk_rows (
    area text, day date, region text, type text, theme text, severity text, people_affected int,
    signature_id bigint, c text, th text);
"""

#: One chunk of events, numbered $1..$2 (the event id is the number, as the Generator's). The
#: template -1 is the performance event; 0..$5-1 the findings; $3 the areas, $4 their regions.
#: Draws as the Generator's.
_GENERATE = f"""
INSERT INTO {STAGING} ({_EVENT_COLUMNS})
SELECT lpad(to_hex(g.n), 32, '0')::uuid, t.type, t.source, ($4::text[])[g.ai], ($3::text[])[g.ai],
       g.at, (g.at AT TIME ZONE 'UTC')::date,
       CASE WHEN g.perf THEN t.community ELSE ($6::text[])[g.ci] END, t.theme,
       CASE WHEN g.perf THEN NULL ELSE ($7::text[])[g.si] END,
       CASE WHEN g.perf THEN NULL ELSE g.people END, t.finding_source, t.summary,
       CASE WHEN g.perf THEN 'provider-' || g.prov END, t.provider_sector, t.indicator,
       CASE WHEN g.perf THEN 70 + g.v * 25 END, t.target, t.stages, t.competencies, t.cdw_roles,
       t.plans, t.rule_ids, t.rules_version, t.mapped_at, t.funding
FROM (SELECT n, random() < 0.02 AS perf, 1 + floor(random() * array_length($3::text[], 1))::int AS ai,
             $8::timestamptz - make_interval(days => floor(random() * 365)::int,
                                             mins => floor(random() * 1440)::int) AS at,
             floor(random() * $5::int)::int AS ti, 1 + floor(random() * array_length($6::text[], 1))::int AS ci,
             1 + floor(random() * array_length($7::text[], 1))::int AS si,
             1 + floor(random() * 59)::int AS people, floor(random() * 40)::int AS prov, random() AS v
      FROM generate_series($1::bigint, $2::bigint) AS n) g
JOIN {_TEMPLATES} t ON t.tidx = CASE WHEN g.perf THEN -1 ELSE g.ti END
"""

_INSERT_LEDGER = f"""
INSERT INTO reporting_events ({_EVENT_COLUMNS})
SELECT {_EVENT_COLUMNS} FROM {STAGING} ON CONFLICT (event_id) DO NOTHING
"""


def _literal(value: str) -> str:
    """A vocabulary value as an SQL literal (slugs only: the vocabulary's, never a caller's)."""
    if not re.fullmatch(r"[a-z_]+", value):
        raise ValueError(f"not a vocabulary slug: {value!r}")
    return f"'{value}'"


#: The rollups of the staged events, as ``rollups.contribution`` and ``RollupBatch.add`` count
#: them: every event not a funding flow; people, severity weight and high severity from findings
#: only; community and theme '' when an event has none. The vocabulary's constants
#: (``UNMET_NEED_THEMES``, ``SEVERITY_WEIGHTS``, ``HIGH_SEVERITIES``) are written in as literals.
_ROWS = f"""
INSERT INTO bulk_rows
SELECT s.area, s.day, s.region, s.type, s.theme, s.severity, s.people_affected, b.signature_id,
       coalesce(s.community, ''), coalesce(s.theme, '')
FROM {STAGING} s JOIN bulk_signatures b
  ON b.type = s.type AND b.stages = s.stages AND b.competencies = s.competencies AND b.cdw_roles = s.cdw_roles
WHERE s.type <> 'funding'
"""
#: The staged events' rows as the rollups read them, each with its signature id (computed once).
_STAGED = "bulk_rows"
_FINDING_PEOPLE = "CASE WHEN x.type = 'finding' THEN coalesce(x.people_affected, 0) ELSE 0 END"
_WEIGHT = (
    "CASE WHEN x.type <> 'finding' THEN 0 "
    + " ".join(f"WHEN x.severity = {_literal(s.value)} THEN {w}" for s, w in SEVERITY_WEIGHTS.items())
    + " ELSE 0 END"
)
_HIGH = (
    f"CASE WHEN x.type = 'finding' AND x.severity IN ({', '.join(_literal(s.value) for s in HIGH_SEVERITIES)}) "
    "THEN 1 ELSE 0 END"
)
_UNMET = f"x.type = 'finding' AND x.theme IN ({', '.join(_literal(t.value) for t in UNMET_NEED_THEMES)})"
_GRAINS = ", ".join(f"({_literal(g)})" for g in GRAINS)

_ROLLUP_SIGNATURES = """
INSERT INTO rollup_signatures (signature_id, type, stages, competencies, cdw_roles)
SELECT DISTINCT ON (b.signature_id) b.signature_id, b.type, b.stages, b.competencies, b.cdw_roles
FROM (SELECT signature_id, type,
             ARRAY(SELECT DISTINCT v FROM unnest(stages) v ORDER BY v) AS stages,
             ARRAY(SELECT DISTINCT v FROM unnest(competencies) v ORDER BY v) AS competencies,
             ARRAY(SELECT DISTINCT v FROM unnest(cdw_roles) v ORDER BY v) AS cdw_roles
      FROM bulk_signatures WHERE type <> 'funding') b
ON CONFLICT (signature_id) DO NOTHING
"""
_ROLLUP_AREA = f"""
INSERT INTO rollup_area_daily (area, day, signature_id, region, events, people_affected, unmet_need)
SELECT x.area, x.day, x.signature_id, min(x.region), count(*), sum({_FINDING_PEOPLE}),
       count(*) FILTER (WHERE {_UNMET})
FROM {_STAGED} x GROUP BY x.area, x.day, x.signature_id
ON CONFLICT (area, day, signature_id) DO UPDATE SET
    events = rollup_area_daily.events + excluded.events,
    people_affected = rollup_area_daily.people_affected + excluded.people_affected,
    unmet_need = rollup_area_daily.unmet_need + excluded.unmet_need
"""
_ROLLUP_DETAIL = f"""
INSERT INTO rollup_detail_daily (area, day, signature_id, community, theme, region, events,
    people_affected, severity_weight, high_severity)
SELECT x.area, x.day, x.signature_id, x.c, x.th, min(x.region), count(*), sum({_FINDING_PEOPLE}),
       sum({_WEIGHT}), sum({_HIGH})
FROM {_STAGED} x GROUP BY x.area, x.day, x.signature_id, x.c, x.th
ON CONFLICT (area, day, signature_id, community, theme) DO UPDATE SET
    events = rollup_detail_daily.events + excluded.events,
    people_affected = rollup_detail_daily.people_affected + excluded.people_affected,
    severity_weight = rollup_detail_daily.severity_weight + excluded.severity_weight,
    high_severity = rollup_detail_daily.high_severity + excluded.high_severity
"""
#: Findings per calendar bucket of each grain (weeks from Monday, as ``rollups.bucket_start``).
_ROLLUP_COMMUNITY_THEME = f"""
INSERT INTO rollup_community_theme (grain, bucket, area, community, theme, region, findings,
    people_affected, severity_weight, high_severity)
SELECT g.grain, CASE g.grain WHEN 'day' THEN x.day WHEN 'week' THEN date_trunc('week', x.day)::date
                             ELSE date_trunc('month', x.day)::date END,
       x.area, x.c, x.th, min(x.region), count(*), sum({_FINDING_PEOPLE}), sum({_WEIGHT}), sum({_HIGH})
FROM {_STAGED} x CROSS JOIN (VALUES {_GRAINS}) AS g(grain)
WHERE x.type = 'finding'
GROUP BY 1, 2, x.area, x.c, x.th
ON CONFLICT (grain, bucket, area, community, theme) DO UPDATE SET
    findings = rollup_community_theme.findings + excluded.findings,
    people_affected = rollup_community_theme.people_affected + excluded.people_affected,
    severity_weight = rollup_community_theme.severity_weight + excluded.severity_weight,
    high_severity = rollup_community_theme.high_severity + excluded.high_severity
"""
_FRESHNESS = f"""
INSERT INTO reporting_freshness (area, region, last_ingested_at, last_event_day)
SELECT x.area, min(x.region), now(), max(x.day) FROM {_STAGED} x GROUP BY x.area
ON CONFLICT (area) DO UPDATE SET last_ingested_at = now(),
    last_event_day = greatest(reporting_freshness.last_event_day, excluded.last_event_day)
"""


class Templates:
    """The Generator's templates as ledger rows, and the performance template's series fields."""

    def __init__(self, gen) -> None:
        self.now: datetime = gen.now
        self.areas = [a.code for a in gen.areas]
        self.regions = [a.region.value for a in gen.areas]
        self.rows = [(i, *_row(mapped)) for i, (_, mapped) in enumerate(gen.templates)]
        perf_event, perf_mapped = gen.perf_template
        self.rows.append((-1, *_row(perf_mapped)))
        assert isinstance(perf_event, ProviderPerformanceEvent)
        assert perf_event.data.ethnicity is None  # so the series' measure is the value drawn
        self.series = _series_row(perf_event)
        self.findings = len(gen.templates)


async def connect(dsn: str, search_path: str | None = None) -> asyncpg.Connection:
    """A connection as the reporting service's own (its search_path unless another is given, as
    a test's scratch schema), with bulk-friendly settings, and the staging tables."""
    settings = session_settings("reporting") if search_path is None else {"search_path": search_path}
    conn = await asyncpg.connect(dsn, server_settings={**settings, "synchronous_commit": "off", "work_mem": "256MB"})
    await conn.execute(_CREATE)
    return conn


async def _signatures(conn: asyncpg.Connection) -> None:
    """bulk_signatures: each (type, stages, competencies, cdw_roles) staged, with the id the
    worker gives it (``rollups.signature``)."""
    rows = await conn.fetch(
        f"SELECT DISTINCT type, stages, competencies, cdw_roles FROM {STAGING} "
        "EXCEPT SELECT type, stages, competencies, cdw_roles FROM bulk_signatures"
    )
    await conn.copy_records_to_table(
        "bulk_signatures",
        records=[
            (
                r["type"],
                r["stages"],
                r["competencies"],
                r["cdw_roles"],
                signature(r["type"], r["stages"], r["competencies"], r["cdw_roles"]).id,
            )
            for r in rows
        ],
    )
    await conn.execute("ANALYZE bulk_signatures")


async def add_rollups(conn: asyncpg.Connection) -> None:
    """Add the events held in bulk_rows (by :func:`store_staged`) to every rollup, as the
    reporting worker would for the same events arriving new, then empty it; in the caller's
    transaction. One pass for many chunks: each rollup row is written once, not once a chunk."""
    await conn.execute("ANALYZE bulk_rows")
    for statement in (_ROLLUP_SIGNATURES, _ROLLUP_AREA, _ROLLUP_DETAIL, _ROLLUP_COMMUNITY_THEME, _FRESHNESS):
        await conn.execute(statement)
    await conn.execute("TRUNCATE bulk_rows")


async def add_staged_series(conn: asyncpg.Connection, t: Templates) -> None:
    """The staged performance events' series points: per period the latest occurrence, which
    replaces a stored point that occurred no later (the worker's ``_UPSERT_SERIES`` rule)."""
    (
        _,
        _,
        _,
        _,
        _,
        _,
        _,
        provider_name,
        sector,
        _,
        target,
        unit,
        numerator,
        denominator,
        share,
        committed,
        required,
        contract_end,
        renewal,
        _,
        _,
    ) = t.series
    rows = await conn.fetch(
        "SELECT DISTINCT ON (area, provider_id, indicator, coalesce(community, ''), "
        "  date_trunc('month', occurred_at AT TIME ZONE 'UTC')) "
        "  area, provider_id, indicator, coalesce(community, '') AS community, "
        "  date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date AS period_start, region, value, "
        "  event_id, occurred_at "
        f"FROM {STAGING} WHERE type = 'performance' "
        "ORDER BY area, provider_id, indicator, coalesce(community, ''), "
        "  date_trunc('month', occurred_at AT TIME ZONE 'UTC'), occurred_at DESC"
    )
    await conn.executemany(
        _UPSERT_SERIES,
        [
            (
                r["area"],
                r["provider_id"],
                r["indicator"],
                r["community"],
                r["period_start"],
                r["period_start"] + timedelta(days=27),
                r["region"],
                provider_name,
                sector,
                r["value"],
                target,
                unit,
                numerator,
                denominator,
                share,
                committed,
                required,
                contract_end,
                renewal,
                r["event_id"],
                r["occurred_at"],
            )
            for r in rows
        ],
    )


async def store_staged(conn: asyncpg.Connection, t: Templates) -> int:
    """The staged events into the ledger and their series points, and their rollup rows kept
    in bulk_rows for :func:`add_rollups`; in the caller's transaction. Raises unless every staged
    event was new (the loader's ids are)."""
    staged = await conn.fetchval(f"SELECT count(*) FROM {STAGING}")
    stored = int((await conn.execute(_INSERT_LEDGER)).split()[-1])
    if stored != staged:
        raise RuntimeError(f"stored {stored} of {staged} staged events: the ids were not new")
    await _signatures(conn)
    await conn.execute(_ROWS)
    await add_staged_series(conn, t)
    return stored


#: The tables whose secondary indexes are dropped while loading and built again after: building
#: an index once is far cheaper than adding millions of rows to it one by one.
_REINDEXED = ("reporting_events", "rollup_area_daily", "rollup_detail_daily")


async def _drop_secondary_indexes(conn: asyncpg.Connection) -> list[str]:
    """Drop the tables' indexes other than their keys; the statements that build them again."""
    rows = await conn.fetch(
        "SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition "
        "FROM pg_index i WHERE i.indrelid = ANY($1::regclass[]) AND NOT i.indisprimary AND NOT i.indisunique",
        list(_REINDEXED),
    )
    for r in rows:
        await conn.execute(f"DROP INDEX {r['name']}")  # names read from the catalogue
    return [r["definition"] for r in rows]


async def load(
    dsn: str,
    gen,
    first: int,
    count: int,
    chunk: int = 500_000,
    log: Callable[[str], None] = print,
    search_path: str | None = None,
) -> dict:
    """Events numbered ``first`` .. ``first + count - 1`` generated and stored, one transaction per
    ``chunk``; then added to the rollups in one pass, and the secondary indexes built again. For
    a benchmark's database, which nothing else writes to meanwhile. Returns the counts and rates."""
    t = Templates(gen)
    conn = await connect(dsn, search_path)
    started, done = time.perf_counter(), 0
    phases = {"generate": 0.0, "ledger": 0.0, "rollups": 0.0, "indexes": 0.0}
    try:
        await conn.execute(f"TRUNCATE {_TEMPLATES}, bulk_rows")
        await conn.copy_records_to_table(_TEMPLATES, records=t.rows, columns=["tidx", *_EVENT_COLUMN_LIST])
        communities = [c.value for c in Community]
        severities = [s.value for s in Severity]
        indexes = await _drop_secondary_indexes(conn)
        try:
            while done < count:
                n = min(chunk, count - done)
                lo = first + done
                async with conn.transaction():
                    t0 = time.perf_counter()
                    await conn.execute(f"TRUNCATE {STAGING}")
                    await conn.execute(
                        _GENERATE, lo, lo + n - 1, t.areas, t.regions, t.findings, communities, severities, t.now
                    )
                    await conn.execute(f"ANALYZE {STAGING}")  # temporary tables get no autovacuum
                    t1 = time.perf_counter()
                    await store_staged(conn, t)
                    t2 = time.perf_counter()
                phases["generate"] += t1 - t0
                phases["ledger"] += t2 - t1
                done += n
                seconds = time.perf_counter() - started
                log(
                    f"bulk load: {done:,} of {count:,} events in the ledger ({done / seconds:,.0f} events/s; "
                    f"generate {phases['generate']:.0f}s, ledger {phases['ledger']:.0f}s)"
                )
            t0 = time.perf_counter()
            async with conn.transaction():
                await add_rollups(conn)
            phases["rollups"] = time.perf_counter() - t0
            log(f"bulk load: rollups added in {phases['rollups']:.0f}s")
        finally:
            t0 = time.perf_counter()
            await conn.execute("SET maintenance_work_mem = '1GB'")
            for definition in indexes:
                await conn.execute(definition)
                log(f"bulk load: built {definition.split(' ON ')[0].removeprefix('CREATE INDEX ')}")
            phases["indexes"] = time.perf_counter() - t0
    finally:
        await conn.close()
    seconds = time.perf_counter() - started
    return {
        "method": "bulk: generated in PostgreSQL (generate_series), ledger one transaction per "
        f"{chunk:,} events, rollups in one set-based pass, secondary indexes built after",
        "events": count,
        "seconds": round(seconds, 1),
        "events_per_s": round(count / seconds, 1),
        "phase_seconds": {k: round(v, 1) for k, v in phases.items()},
    }
