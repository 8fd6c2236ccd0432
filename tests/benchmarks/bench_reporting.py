"""Reporting: rollup ingestion rate and the reports' latency as the events grow.

    python -m tests.benchmarks.bench_reporting [--events 1000000] [--requests 200]
    python -m tests.benchmarks.bench_reporting --events 10000000 --sizes 1000000 --all-reports \
        --requests 100 --worker-events 20000 --port-base 42500   # every report at 1M and 10M

Runs on the benchmark stack's PostgreSQL (port base 59000: 55432, or ``--port-base``) and its
reporting API as deploy/local/services.sh starts it (58084).

Loading: events as the :class:`Generator` makes them (mapped by the real rule set, spread over a
year, 15 areas, every community and theme, 2% provider performance events). ``--loader sql``
(the default) generates them inside PostgreSQL with the same draws and adds them to the rollups
set-based, with the reporting worker's counting rules and signature ids (tests/benchmarks/
bulk_load.py; tests/integration/test_bulk_load.py shows it writes the rows the worker's sink
writes): millions of events in minutes. ``--loader store`` builds each event in Python and stores
it through ``ReportingStore.ingest_many``, the worker's sink, ``--batch`` events a transaction
(about 5,000 events/s). The worker's own rate through Kafka is measured separately
(:func:`worker_rate`): mapped events written to mapped.events.v1, the reporting worker started,
its stored-records counter read from /metrics until all are in.

Latency: after 20 warm-up requests, ``--requests`` requests one at a time over a keep-alive
connection for each 90-day region view (overview, heat map, unmet needs), or with
``--all-reports`` for every report the reporting API serves (:data:`ALL_REPORTS`). With
``--sizes`` the load stops at each size (the last is ``--events``), the tables are analysed
(as autovacuum would), their sizes read and every view timed, so the report shows how each grows.
Targets (issues 6 and 24): ingestion keeps up with 5,000 events/s; p95 of every report under
100 ms at a million events and under 250 ms at ten million.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sys
import time
import urllib.request
import uuid
from datetime import date, datetime, timedelta, timezone

import asyncpg
import httpx

from contracts.events import CommunityEngagementFinding, MappedEvent, partner_event_adapter
from contracts.places import AREAS
from contracts.taxonomy import CDWRole
from contracts.topics import MAPPED
from contracts.vocabulary import Community, Severity, Theme
from contracts.examples import FINDING, PERFORMANCE
from services.mapping.domain.mapper import map_event
from services.mapping.domain.ruleset import load
from services.common.db import session_settings
from services.reporting.adapters.store import ReportingStore
from tests.benchmarks import bulk_load as sql_load
from tests.benchmarks.common import ARTIFACTS, DEFAULT_BASE, Stack, latency_summary, log, report

TARGET_RATE, TARGET_P95_MS = 5000.0, 100.0
TARGET_P95_10M_MS = 250.0
VIEWS = (
    ("overview_region_90d", "/v1/reports/overview?region=west_midlands&days=90"),
    ("heatmap_region_90d", "/v1/reports/heatmap?region=west_midlands&days=90"),
    ("unmet_needs_region_90d", "/v1/reports/unmet-needs?region=west_midlands&days=90"),
)
#: Every report of the reporting API, 90-day region views (the findings drill-down's first page).
ALL_REPORTS = (
    *VIEWS,
    ("summary_region_90d", "/v1/reports/summary?region=west_midlands&days=90"),
    ("heatmap_community_region_90d", "/v1/reports/heatmap?region=west_midlands&days=90&community=somali"),
    ("unmet_needs_region_365d", "/v1/reports/unmet-needs?region=west_midlands&days=365"),
    ("performance_region_90d", "/v1/reports/performance?region=west_midlands&days=90"),
    ("completeness_region_90d", "/v1/reports/completeness?region=west_midlands&days=90"),
    ("funding_region_90d", "/v1/reports/funding?region=west_midlands&days=90"),
    ("alerts_region", "/v1/reports/alerts?region=west_midlands"),
    ("findings_region_90d", "/v1/reports/findings?region=west_midlands&days=90&limit=200"),
    # The drill-down under both filters, and in each order but newest first.
    (
        "findings_community_theme_region_90d",
        "/v1/reports/findings?region=west_midlands&days=90&limit=200&community=somali&theme=stigma",
    ),
    *(
        (f"findings_{sort}_region_90d", f"/v1/reports/findings?region=west_midlands&days=90&limit=200&sort={sort}")
        for sort in ("oldest", "severity", "people", "area")
    ),
)
#: The tables the reporting worker writes, whose sizes the capacity model extrapolates.
TABLES = (
    "reporting_events",
    "rollup_area_daily",
    "rollup_detail_daily",
    "rollup_community_theme",
    "rollup_signatures",
    "reporting_freshness",
    "provider_indicator_series",
)


class Generator:
    """Mapped events built from templates mapped once by the real rule set (mapping is not what
    this benchmark measures), then varied per event: id, time, area, community, severity."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.rules = load()
        self.now = datetime.now(timezone.utc)
        self.areas = list(AREAS.values())
        self.templates: list[tuple[CommunityEngagementFinding, MappedEvent]] = []
        for theme in Theme:
            for role in (None, *CDWRole):
                body = dict(
                    FINDING, data=dict(FINDING["data"], theme=theme.value, cdw_role=role.value if role else None)
                )
                event = partner_event_adapter.validate_python(body)
                mapped = map_event(event, self.rules, self.now)
                if isinstance(mapped, MappedEvent):
                    self.templates.append((event, mapped))
        perf = partner_event_adapter.validate_python(PERFORMANCE)
        self.perf_template = (perf, map_event(perf, self.rules, self.now))
        self.counter = 0

    def event(self) -> MappedEvent:
        self.counter += 1
        rng = self.rng
        area = self.areas[rng.randrange(len(self.areas))]
        when = self.now - timedelta(days=rng.randrange(365), minutes=rng.randrange(1440))
        common = {
            "event_id": uuid.UUID(int=self.counter),
            "area": area.code,
            "region": area.region,
            "occurred_at": when,
        }
        if rng.random() < 0.02:
            event, mapped = self.perf_template
            month = date(when.year, when.month, 1)
            data = event.data.model_copy(
                update={
                    "provider_id": f"provider-{rng.randrange(40)}",
                    "period_start": month,
                    "period_end": month + timedelta(days=27),
                    "value": 70 + rng.random() * 25,
                }
            )
        else:
            event, mapped = self.templates[rng.randrange(len(self.templates))]
            data = event.data.model_copy(
                update={
                    "community": Community(rng.choice(list(Community))),
                    "severity": rng.choice(list(Severity)),
                    "people_affected": rng.randrange(1, 60),
                }
            )
        return mapped.model_copy(update={"event": event.model_copy(update={**common, "data": data})})


async def bulk_load(stack: Stack, gen: Generator, n: int, batch: int) -> dict:
    """``n`` events through ``ReportingStore.ingest_many`` in batches; then a replayed batch."""
    pool = await asyncpg.create_pool(stack.dsn, min_size=1, max_size=4, server_settings=session_settings("reporting"))
    store = ReportingStore(pool)
    ingest_seconds, stored, started = 0.0, 0, time.perf_counter()
    last_print = started
    try:
        while stored < n:
            events = [gen.event() for _ in range(min(batch, n - stored))]
            t0 = time.perf_counter()
            new = await store.ingest_many(events)
            ingest_seconds += time.perf_counter() - t0
            if new != len(events):
                raise RuntimeError(f"ingest_many stored {new} of {len(events)} new events")
            stored += new
            if time.perf_counter() - last_print > 15:
                last_print = time.perf_counter()
                log(f"reporting: {stored:,} events stored, {stored / ingest_seconds:,.0f} events/s inside ingest_many")
        replay_new = await store.ingest_many(events)  # idempotent: adds nothing
        counted = await pool.fetchval("SELECT sum(events) FROM rollup_area_daily")
        detail_rows = await pool.fetchval("SELECT count(*) FROM rollup_detail_daily")
        area_rows = await pool.fetchval("SELECT count(*) FROM rollup_area_daily")
    finally:
        await pool.close()
    wall = time.perf_counter() - started
    return {
        "method": "bulk: ReportingStore.ingest_many straight into PostgreSQL, one transaction per batch",
        "events": n,
        "batch_size": batch,
        "ingest_seconds": round(ingest_seconds, 2),
        "events_per_s": round(n / ingest_seconds, 1),
        "wall_seconds_with_generation": round(wall, 2),
        "replayed_batch_new_events": replay_new,
        "rollup_events_total": counted,
        "rollup_detail_rows": detail_rows,
        "rollup_area_rows": area_rows,
    }


def _stored(metrics_url: str) -> float:
    text = urllib.request.urlopen(metrics_url, timeout=5).read().decode()
    pattern = (
        r'^csp_stream_records_total\{(?=[^}]*worker="reporting")(?=[^}]*topic="'
        + re.escape(MAPPED.name)
        + r'")(?=[^}]*outcome="stored")[^}]*\}\s+([0-9.e+]+)$'
    )
    return sum(float(m.group(1)) for m in re.finditer(pattern, text, re.M))


async def _produce(stack: Stack, records: list[tuple[bytes, bytes]]) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all", linger_ms=5, max_batch_size=1 << 20)
    await producer.start()
    try:
        futures = [await producer.send(MAPPED.name, key=k, value=v) for k, v in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def worker_rate(stack: Stack, gen: Generator, n: int, timeout: float = 1800) -> dict:
    """The reporting worker's own rate, as services.sh starts it (and left running): started on
    an empty mapped.events.v1, then ``n`` mapped events (encoded beforehand) written to the topic
    at once; rate = n / (time from the first record sent to its stored-records counter on
    /metrics, polled every 0.1 s, reaching n). Sending takes a small part of that time and
    overlaps with the worker's storing, as it would in service."""
    records = []
    for _ in range(n):
        m = gen.event()
        records.append((m.event.area.encode(), m.model_dump_json().encode()))
    stack.truncate(MAPPED.name)
    stack.start("reporting-worker")
    metrics = stack.url("reporting-worker", "/metrics")
    before = _stored(metrics)
    log(f"reporting: reporting worker ready; writing {n:,} mapped events to {MAPPED.name}")
    t0 = time.monotonic()
    asyncio.run(_produce(stack, records))
    sent = time.monotonic() - t0
    while (count := _stored(metrics) - before) < n:
        if time.monotonic() - t0 > timeout:
            raise RuntimeError(f"reporting worker stored {count:.0f} of {n} after {timeout}s")
        time.sleep(0.1)
    seconds = time.monotonic() - t0
    rate = n / seconds
    log(f"reporting: worker stored {n:,} events in {seconds:.1f}s ({rate:,.0f} events/s; sending took {sent:.1f}s)")
    return {
        "method": "the reporting worker as services.sh starts it, consuming mapped.events.v1",
        "events": n,
        "seconds": round(seconds, 2),
        "sending_seconds": round(sent, 2),
        "events_per_s": round(rate, 1),
    }


async def table_sizes(stack: Stack) -> dict:
    """Rows (as analysed) and bytes of each reporting table: heap, indexes, total; and the database."""
    conn = await asyncpg.connect(stack.dsn, server_settings=session_settings("reporting"))
    try:
        out = {}
        for table in TABLES:
            await conn.execute(f"VACUUM ANALYZE {table}")  # names from TABLES only
            row = await conn.fetchrow(
                "SELECT c.reltuples::bigint AS rows, pg_table_size(c.oid) AS table_bytes, "
                "pg_indexes_size(c.oid) AS index_bytes, pg_total_relation_size(c.oid) AS total_bytes "
                "FROM pg_class c WHERE c.oid = $1::regclass",
                table,
            )
            out[table] = dict(row)
        out["database_bytes"] = await conn.fetchval("SELECT pg_database_size(current_database())")
        return out
    finally:
        await conn.close()


def dashboard_latency(
    stack: Stack, token: str, requests: int, warmup: int = 20, views: tuple[tuple[str, str], ...] = VIEWS
) -> dict:
    """Needs the reporting API up."""
    out = {}
    with httpx.Client(
        base_url=stack.url("reporting", ""), headers={"authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        for name, path in views:
            for _ in range(warmup):
                client.get(path).raise_for_status()
            seconds = []
            for _ in range(requests):
                t0 = time.perf_counter()
                r = client.get(path)
                seconds.append(time.perf_counter() - t0)
                r.raise_for_status()
            out[name] = {"path": path, **latency_summary(seconds)}
            log(f"reporting: {name}: p50 {out[name]['p50_ms']} ms, p95 {out[name]['p95_ms']} ms")
        overview = client.get(VIEWS[0][1]).json()
        out[VIEWS[0][0]]["findings_in_window"] = overview["totals"]["findings"]["current"]
    return out


def growth(checkpoints: list[dict], views: tuple[tuple[str, str], ...]) -> dict:
    """Each report's p95 at each size, and how many times the first size's the last one is."""
    out = {}
    for name, _ in views:
        p95 = {str(c["events"]): c["latency"][name]["p95_ms"] for c in checkpoints}
        first, last = checkpoints[0]["latency"][name]["p95_ms"], checkpoints[-1]["latency"][name]["p95_ms"]
        out[name] = {"p95_ms": p95, "ratio_last_to_first": round(last / first, 2) if first else None}
    return out


def bounds_met(checkpoints: list[dict]) -> dict:
    """Per size: every report's p95 under the bound for that size (issue 24)."""
    out = {}
    for c in checkpoints:
        bound = TARGET_P95_MS if c["events"] <= 1_000_000 else TARGET_P95_10M_MS
        out[str(c["events"])] = {
            "bound_ms": bound,
            "met": all(v["p95_ms"] < bound for v in c["latency"].values()),
            "over": sorted(k for k, v in c["latency"].items() if v["p95_ms"] >= bound),
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--sizes", default="", help="comma-separated sizes to measure at on the way to --events (e.g. 250000,500000)"
    )
    parser.add_argument(
        "--loader",
        choices=("sql", "store"),
        default="sql",
        help="sql: generated inside PostgreSQL (tests/benchmarks/bulk_load.py); store: "
        "built in Python and stored through ReportingStore.ingest_many",
    )
    parser.add_argument("--batch", type=int, default=5000, help="events per ingest_many (--loader store)")
    parser.add_argument("--chunk", type=int, default=500_000, help="events per transaction (--loader sql)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--worker-events", type=int, default=20000, help="0 skips the worker's rate")
    parser.add_argument("--all-reports", action="store_true", help="time every report, not only three views")
    parser.add_argument("--port-base", type=int, default=DEFAULT_BASE)
    args = parser.parse_args()
    sizes = sorted({int(x) for x in args.sizes.split(",") if x.strip()} | {args.events})
    views = ALL_REPORTS if args.all_reports else VIEWS
    stack = Stack(base=args.port_base)
    checkpoints, loads, worker = [], [], None
    try:
        log(f"fresh Kafka and PostgreSQL ({stack.home})")
        stack.fresh()
        gen = Generator()
        token = stack.create_key("bench-ops", "operator", name="Bench")
        loaded = 0
        for size in sizes:
            log(f"reporting: loading {size - loaded:,} events ({args.loader}) to {size:,}")
            if args.loader == "sql":
                loads.append(asyncio.run(sql_load.load(stack.dsn, gen, loaded + 1, size - loaded, args.chunk, log=log)))
                gen.counter = size  # the worker's events, if measured, come after these ids
            else:
                loads.append(asyncio.run(bulk_load(stack, gen, size - loaded, args.batch)))
            loaded = size
            sizes_now = asyncio.run(table_sizes(stack))
            stack.start("reporting")
            latency = dashboard_latency(stack, token, args.requests, views=views)
            memory = stack.peak_memory(("reporting",))
            stack.stop("reporting")
            checkpoints.append(
                {"events": size, "tables": sizes_now, "latency": latency, "peak_memory_mib": memory, "load": loads[-1]}
            )
            # Kept as it goes, so that a long run stopped part-way still has its smaller sizes.
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / "reporting-checkpoints.json").write_text(json.dumps(checkpoints, indent=2) + "\n")
        if args.worker_events:
            worker = worker_rate(stack, gen, args.worker_events)
        peak = stack.peak_memory(("reporting-worker",))
    finally:
        stack.stop_all()
    last = checkpoints[-1]["latency"]
    bound = TARGET_P95_MS if args.events <= 1_000_000 else TARGET_P95_10M_MS
    report(
        "reporting",
        {
            "bulk_load": {
                "events": args.events,
                "seconds": round(sum(x.get("seconds", x.get("ingest_seconds", 0)) for x in loads), 1),
            },
            "bulk_loads": loads,
            "worker": worker,
            "latency": last,
            "checkpoints": checkpoints,
            "growth": growth(checkpoints, views),
            "peak_memory_mib": peak,
            "targets": {
                "ingestion_events_per_s": TARGET_RATE,
                "report_p95_ms": bound,
                "bulk_ingestion_met": all(x["events_per_s"] >= TARGET_RATE for x in loads),
                "worker_ingestion_met": None if worker is None else worker["events_per_s"] >= TARGET_RATE,
                "latency_met": all(v["p95_ms"] < bound for v in last.values()),
                "latency_by_size": bounds_met(checkpoints),
            },
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
