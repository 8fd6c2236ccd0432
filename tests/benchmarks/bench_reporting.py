"""Reporting: rollup ingestion rate and the 90-day region overview's latency through the HTTP API.

    python -m tests.benchmarks.bench_reporting [--events 1000000] [--batch 5000] [--requests 200]

Starts its own PostgreSQL (deploy/local/postgres.sh with CSP_HOME=.local/bench-reporting,
port 55432) and its own reporting API (port 55084), so it touches no other stack. Events are
mapped by the real rule set, spread over a year, 15 areas, every community and theme, with 2%
provider performance events, and loaded through ``ReportingStore.ingest_many`` in batches:
the same ledger insert, dedupe and rollup upserts the faust sink uses, one transaction per
batch. The rate counts only the time inside ``ingest_many``. Then 200 requests (after 20 to
warm up) of ``/v1/reports/overview?region=west_midlands&days=90``, one at a time over a
keep-alive connection. Targets (issue 6): ingestion >= 5,000 events/s, p95 < 100 ms.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import date, datetime, timedelta, timezone

import asyncpg
import httpx

from contracts.events import CommunityEngagementFinding, MappedEvent, partner_event_adapter
from contracts.places import AREAS
from contracts.taxonomy import CDWRole
from contracts.vocabulary import Community, Severity, Theme
from services.common.auth import KeyStore, Role
from services.common.migrate import migrate
from services.intake.examples import FINDING, PERFORMANCE
from services.mapping.domain.mapper import map_event
from services.mapping.domain.ruleset import load
from services.reporting.adapters.store import ReportingStore
from tests.benchmarks.common import latency_summary, percentile, report
from tests.stackenv import REPO, run_script

HOME = REPO / ".local" / "bench-reporting"
PG_PORT = 55432
API_PORT = 55084
DSN = f"postgresql://csp:csp-local-only@127.0.0.1:{PG_PORT}/csp"
ENV = {"CSP_HOME": str(HOME), "CSP_PG_PORT": str(PG_PORT), "CSP_PG_DSN": DSN,
       "CSP_REPORTING_PORT": str(API_PORT), "CSP_LOG_LEVEL": "WARNING", "CSP_KEY_CACHE_SECONDS": "60"}
TARGET_RATE, TARGET_P95_MS = 5000.0, 100.0


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
                body = dict(FINDING, data=dict(FINDING["data"], theme=theme.value,
                                               cdw_role=role.value if role else None))
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
        common = {"event_id": uuid.UUID(int=self.counter), "area": area.code, "region": area.region,
                  "occurred_at": when}
        if rng.random() < 0.02:
            event, mapped = self.perf_template
            month = date(when.year, when.month, 1)
            data = event.data.model_copy(update={
                "provider_id": f"provider-{rng.randrange(40)}", "period_start": month,
                "period_end": month + timedelta(days=27), "value": 70 + rng.random() * 25})
        else:
            event, mapped = self.templates[rng.randrange(len(self.templates))]
            data = event.data.model_copy(update={
                "community": Community(rng.choice(list(Community))), "severity": rng.choice(list(Severity)),
                "people_affected": rng.randrange(1, 60)})
        return mapped.model_copy(update={"event": event.model_copy(update={**common, "data": data})})


async def load_events(n: int, batch: int) -> dict:
    pool = await asyncpg.create_pool(DSN, min_size=1, max_size=4)
    store = ReportingStore(pool)
    gen = Generator()
    ingest_seconds, stored, started = 0.0, 0, time.perf_counter()
    last_print = started
    try:
        while stored < n:
            events = [gen.event() for _ in range(min(batch, n - stored))]
            t0 = time.perf_counter()
            new = await store.ingest_many(events)
            ingest_seconds += time.perf_counter() - t0
            assert new == len(events), (new, len(events))
            stored += new
            if time.perf_counter() - last_print > 10:
                last_print = time.perf_counter()
                print(f"  {stored:,} events stored, {stored / ingest_seconds:,.0f} events/s inside ingest",
                      file=sys.stderr, flush=True)
        # A replay of the last batch adds nothing (the rollups are idempotent).
        replay_new = await store.ingest_many(events)
        rows = await pool.fetchval("SELECT count(*) FROM rollup_detail_daily")
        area_rows = await pool.fetchval("SELECT count(*) FROM rollup_area_daily")
        counted = await pool.fetchval("SELECT sum(events) FROM rollup_area_daily")
    finally:
        await pool.close()
    wall = time.perf_counter() - started
    return {"events": n, "batch_size": batch, "ingest_seconds": round(ingest_seconds, 2),
            "events_per_second": round(n / ingest_seconds, 1), "wall_seconds_with_generation": round(wall, 2),
            "replayed_batch_new_events": replay_new, "rollup_events_total": counted,
            "rollup_detail_rows": rows, "rollup_area_rows": area_rows}


async def operator_key() -> str:
    pool = await asyncpg.create_pool(DSN, min_size=1, max_size=2)
    try:
        _, token = await KeyStore(pool).create("bench-operator", Role.OPERATOR, [], organisation_name="Bench")
    finally:
        await pool.close()
    return token


def measure(token: str, requests: int) -> dict:
    env = {**os.environ, **ENV, "PYTHONPATH": str(REPO)}
    log = open(HOME / "reporting-api.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "services.reporting.app:app", "--host", "127.0.0.1",
                             "--port", str(API_PORT), "--no-access-log"], env=env, cwd=REPO, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        headers = {"authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{API_PORT}", headers=headers, timeout=10) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"the reporting API did not start; see {HOME / 'reporting-api.log'}")
                time.sleep(0.3)
            out = {}
            for name, path in (("overview_region_90d", "/v1/reports/overview?region=west_midlands&days=90"),
                               ("heatmap_region_90d", "/v1/reports/heatmap?region=west_midlands&days=90"),
                               ("unmet_needs_region_90d", "/v1/reports/unmet-needs?region=west_midlands&days=90")):
                for _ in range(20):
                    client.get(path).raise_for_status()
                seconds = []
                for _ in range(requests):
                    t0 = time.perf_counter()
                    r = client.get(path)
                    seconds.append(time.perf_counter() - t0)
                    r.raise_for_status()
                summary = latency_summary(seconds)
                summary["p95_ms"] = round(percentile([s * 1000 for s in seconds], 95), 2)
                out[name] = summary
            overview = client.get("/v1/reports/overview?region=west_midlands&days=90").json()
            out["overview_region_90d"]["findings_in_window"] = overview["totals"]["findings"]["current"]
            return out
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="leave PostgreSQL running afterwards")
    args = parser.parse_args()
    HOME.mkdir(parents=True, exist_ok=True)
    print(f"fresh PostgreSQL on 127.0.0.1:{PG_PORT} ({HOME})", file=sys.stderr, flush=True)
    run_script(ENV, "postgres.sh", "reset")
    run_script(ENV, "postgres.sh", "start")
    try:
        asyncio.run(migrate(DSN, verbose=False))
        print(f"loading {args.events:,} events in batches of {args.batch:,}", file=sys.stderr, flush=True)
        ingestion = asyncio.run(load_events(args.events, args.batch))
        print(f"measuring {args.requests} requests per view", file=sys.stderr, flush=True)
        latency = measure(asyncio.run(operator_key()), args.requests)
        p95 = latency["overview_region_90d"]["p95_ms"]
        report("reporting", {
            "ingestion": ingestion, "latency": latency,
            "targets": {"ingestion_events_per_second": TARGET_RATE, "overview_p95_ms": TARGET_P95_MS,
                        "ingestion_met": ingestion["events_per_second"] >= TARGET_RATE,
                        "latency_met": p95 < TARGET_P95_MS},
        })
    finally:
        if not args.keep:
            run_script(ENV, "postgres.sh", "stop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
