"""Intake throughput and latency, single events and batches, next to a no-Kafka baseline.

    python -m tests.benchmarks.bench_intake [--seconds 10] [--concurrency 50]

Two intake processes run side by side on the benchmark's own PostgreSQL and Kafka: the real one,
and a baseline built from the same application (same validation, privacy guard, ledger writes)
whose publisher acknowledges at once without Kafka. One load generator drives each in turn with
the same workload, so the ratio is measured in one run on one machine.
"""
from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import subprocess
import sys
import time
import uuid

import aiohttp

from contracts.places import AREAS
from services.intake.examples import FINDING
from tests.benchmarks.common import BENCH_BASE, BENCH_ENV, fresh_infra, latency_summary, report, stop_all
from tests.stackenv import REPO

REAL_PORT, BASELINE_PORT = BENCH_BASE - 919, BENCH_BASE - 909


class NullPublisher:
    """Acknowledges every record at once: the baseline without Kafka."""

    def __init__(self) -> None:
        self.offset = 0
        self.on_late_ack = None

    async def ready(self) -> bool:
        return True

    async def publish_many(self, records):
        out = []
        for _ in records:
            self.offset += 1
            out.append((0, self.offset))
        return out

    async def close(self) -> None:
        return None


def serve(mode: str, port: int) -> None:
    import uvicorn

    from services.intake.app import create_app
    factory = (lambda s: NullPublisher()) if mode == "baseline" else None
    uvicorn.run(create_app(publisher_factory=factory), host="127.0.0.1", port=port, log_level="warning",
                access_log=False)


def _event(area) -> dict:
    body = copy.deepcopy(FINDING)
    body.update(event_id=str(uuid.uuid4()), area=area.code, region=area.region.value)
    return body


async def _drive(port: int, key: str, seconds: float, concurrency: int, batch: int) -> dict:
    areas = list(AREAS.values())
    path = "/v1/findings:batch" if batch > 1 else "/v1/findings"
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    events = 0
    deadline = time.monotonic() + seconds

    async def worker(session: aiohttp.ClientSession, i: int) -> None:
        nonlocal events
        n = 0
        while time.monotonic() < deadline:
            if batch > 1:
                body = {"events": [_event(areas[(i + n + j) % len(areas)]) for j in range(batch)]}
            else:
                body = _event(areas[(i + n) % len(areas)])
            n += 1
            data = json.dumps(body).encode()
            t0 = time.perf_counter()
            async with session.post(f"http://127.0.0.1:{port}{path}", data=data, headers=headers) as r:
                await r.read()
                latencies.append(time.perf_counter() - t0)
                statuses[r.status] = statuses.get(r.status, 0) + 1
                if r.status in (200, 202):
                    events += batch

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.monotonic()
        await asyncio.gather(*(worker(session, i) for i in range(concurrency)))
        elapsed = time.monotonic() - start
    return {"events_per_s": round(events / elapsed, 1), "requests": len(latencies),
            "statuses": {str(k): v for k, v in sorted(statuses.items())}, **latency_summary(latencies)}


def _wait_ready(port: int, timeout: float = 60) -> None:
    import urllib.request
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2).status == 200:
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"intake on {port} not ready after {timeout}s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--batch-concurrency", type=int, default=4)
    parser.add_argument("--serve", choices=["real", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port)
        return 0
    env = {**os.environ, **BENCH_ENV, "CSP_RATE_LIMIT_PER_SECOND": "1000000", "CSP_RATE_LIMIT_BURST": "1000000",
           "CSP_KEY_CACHE_SECONDS": "60"}
    procs = []
    try:
        fresh_infra()
        key = json.loads(subprocess.run(
            [sys.executable, "-m", "services.intake.keys", "create", "--org", "pattigift", "--role", "partner",
             "--json"], env=env, cwd=REPO, capture_output=True, text=True, check=True).stdout)["api_key"]
        for mode, port in (("real", REAL_PORT), ("baseline", BASELINE_PORT)):
            procs.append(subprocess.Popen([sys.executable, "-m", "tests.benchmarks.bench_intake", "--serve", mode,
                                           "--port", str(port)], env=env, cwd=REPO))
        for port in (REAL_PORT, BASELINE_PORT):
            _wait_ready(port)
        results: dict[str, dict] = {}
        for label, port in (("warmup", REAL_PORT), ("warmup_baseline", BASELINE_PORT)):
            asyncio.run(_drive(port, key, 2, args.concurrency, 1))
        for shape, conc, size in (("single", args.concurrency, 1),
                                  ("batch", args.batch_concurrency, args.batch_size)):
            for mode, port in (("baseline", BASELINE_PORT), ("kafka", REAL_PORT)):
                results[f"{shape}_{mode}"] = asyncio.run(_drive(port, key, args.seconds, conc, size))
                print(f"{shape} {mode}: {results[f'{shape}_{mode}']['events_per_s']} events/s", file=sys.stderr)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        stop_all()
    single_ratio = results["single_kafka"]["events_per_s"] / results["single_baseline"]["events_per_s"]
    report("intake", {
        "seconds_per_run": args.seconds, "concurrency_single": args.concurrency,
        "batch": {"size": args.batch_size, "concurrency": args.batch_concurrency},
        **results,
        "single_ratio_kafka_to_baseline": round(single_ratio, 3),
        "targets": {"single_ratio": 0.60, "single_p99_ms": 50, "batch_events_per_s": 20000},
        "meets": {"single_ratio": single_ratio >= 0.60,
                  "single_p99": results["single_kafka"]["p99_ms"] < 50,
                  "batch_throughput": results["batch_kafka"]["events_per_s"] >= 20000},
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
