"""The reporting benchmark's bulk loader (tests/benchmarks/bulk_load.py) stores what the reporting
worker stores: the same events through ``ReportingStore.ingest_many`` (the worker's sink) into one
scratch schema and through the loader's set-based SQL into another give identical ledgers,
rollups, freshness and provider series. And the loader's own generated events are counted once
by every rollup. The benchmark's 1M and 10M figures stand on both.

Scratch schemas copy the reporting tables (``LIKE ... INCLUDING ALL``) and are dropped after;
the session's reporting schema is not touched.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from contracts.places import AREAS
from services.reporting.adapters.store import _EVENT_COLUMN_LIST, ReportingStore, _row
from tests.benchmarks import bulk_load
from tests.benchmarks.bench_reporting import Generator
from tests.conftest import TEST_ENV

pytestmark = pytest.mark.integration

#: Each table the worker writes, with the columns compared (all but the time of writing).
TABLES = {
    "reporting_events": ", ".join(c for c in _EVENT_COLUMN_LIST),
    "rollup_signatures": "signature_id, type, stages, competencies, cdw_roles",
    "rollup_area_daily": "area, day, signature_id, region, events, people_affected, unmet_need",
    "rollup_detail_daily": "area, day, signature_id, community, theme, region, events, people_affected, "
    "severity_weight, high_severity",
    "rollup_community_theme": "grain, bucket, area, community, theme, region, findings, people_affected, "
    "severity_weight, high_severity",
    "reporting_freshness": "area, region, last_event_day",
    "provider_indicator_series": "area, provider_id, indicator, community, period_start, period_end, region, "
    "provider_name, sector, value, target, unit, numerator, denominator, "
    "population_share, funding_committed_gbp, funding_required_gbp, "
    "contract_end_date, renewal_recorded, event_id, occurred_at",
}
SCHEMAS = ("bulk_check_worker", "bulk_check_sql", "bulk_check_generated")


async def _scratch(conn: asyncpg.Connection) -> None:
    for schema in SCHEMAS:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
        for table in TABLES:
            await conn.execute(f"CREATE TABLE {schema}.{table} (LIKE reporting.{table} INCLUDING ALL)")


async def _contents(conn: asyncpg.Connection, schema: str) -> dict[str, list[tuple]]:
    return {
        table: [tuple(r) for r in await conn.fetch(f"SELECT {cols} FROM {schema}.{table} ORDER BY {cols}")]
        for table, cols in TABLES.items()
    }


async def _both_paths() -> tuple[dict, dict, int]:
    dsn = TEST_ENV["CSP_PG_DSN"]
    gen = Generator(seed=11)
    events = [gen.event() for _ in range(3000)]
    admin = await asyncpg.connect(dsn)
    try:
        await _scratch(admin)
        # The worker's sink, batch by batch: later batches add to rows the earlier ones wrote.
        pool = await asyncpg.create_pool(
            dsn, min_size=1, max_size=1, server_settings={"search_path": "bulk_check_worker"}
        )
        try:
            store = ReportingStore(pool)
            for start in range(0, len(events), 400):
                assert await store.ingest_many(events[start : start + 400]) == len(events[start : start + 400])
        finally:
            await pool.close()
        # The loader's set-based path over the same events, in two chunks (its upserts add too).
        conn = await bulk_load.connect(dsn, search_path="bulk_check_sql")
        try:
            templates = bulk_load.Templates(gen)
            for chunk in (events[:1700], events[1700:]):
                async with conn.transaction():
                    await conn.execute(f"TRUNCATE {bulk_load.STAGING}")
                    await conn.copy_records_to_table(
                        bulk_load.STAGING, records=[_row(m) for m in chunk], columns=_EVENT_COLUMN_LIST
                    )
                    assert await bulk_load.store_staged(conn, templates) == len(chunk)
                    await bulk_load.add_rollups(conn)
        finally:
            await conn.close()
        worker = await _contents(admin, "bulk_check_worker")
        sql = await _contents(admin, "bulk_check_sql")
        performance = sum(1 for m in events if m.event.type.endswith("performance.v1"))
        return worker, sql, performance
    finally:
        for schema in SCHEMAS[:2]:
            await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await admin.close()


def test_the_bulk_loader_writes_the_rows_the_workers_sink_writes(infra):
    worker, sql, performance = asyncio.run(_both_paths())
    assert len(worker["reporting_events"]) == 3000
    assert performance and worker["provider_indicator_series"]  # the series path is exercised
    assert {r[0] for r in worker["rollup_community_theme"]} == {"day", "week", "month"}
    for table in TABLES:
        assert sql[table] == worker[table], table


async def _generated() -> dict:
    dsn = TEST_ENV["CSP_PG_DSN"]
    admin = await asyncpg.connect(dsn)
    try:
        await _scratch(admin)
        lines: list[str] = []
        loaded = await bulk_load.load(
            dsn, Generator(seed=3), 1, 5000, chunk=2000, log=lines.append, search_path="bulk_check_generated"
        )
        row = await admin.fetchrow(
            "SELECT (SELECT count(*) FROM bulk_check_generated.reporting_events) AS ledger, "
            "  (SELECT count(*) FROM bulk_check_generated.reporting_events WHERE type = 'finding') AS findings, "
            "  (SELECT sum(events) FROM bulk_check_generated.rollup_area_daily) AS area, "
            "  (SELECT sum(events) FROM bulk_check_generated.rollup_detail_daily) AS detail, "
            "  (SELECT count(*) FROM bulk_check_generated.provider_indicator_series) AS series, "
            "  (SELECT count(DISTINCT area) FROM bulk_check_generated.reporting_events) AS areas, "
            "  (SELECT max(occurred_at) - min(occurred_at) FROM bulk_check_generated.reporting_events) AS span"
        )
        places = {
            tuple(r)
            for r in await admin.fetch("SELECT DISTINCT area, region FROM bulk_check_generated.reporting_events")
        }
        grains = {
            r["grain"]: r["n"]
            for r in await admin.fetch(
                "SELECT grain, sum(findings) AS n FROM bulk_check_generated.rollup_community_theme GROUP BY grain"
            )
        }
        return {**dict(row), "places": places, "grains": grains, "lines": lines, "loaded": loaded}
    finally:
        for schema in SCHEMAS:
            await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await admin.close()


def test_the_generated_events_are_each_counted_once_by_every_rollup(infra):
    out = asyncio.run(_generated())
    assert out["ledger"] == out["area"] == out["detail"] == 5000
    assert out["grains"] == {"day": out["findings"], "week": out["findings"], "month": out["findings"]}
    assert 0 < 5000 - out["findings"] < 250  # about 2% provider performance events
    assert out["series"] > 0 and out["areas"] == len(AREAS)
    assert out["places"] == {(a.code, a.region.value) for a in AREAS.values()}
    assert 360 <= out["span"].days <= 365  # spread over the last year
    assert len([x for x in out["lines"] if "in the ledger" in x]) == 3  # progress, a line a chunk
