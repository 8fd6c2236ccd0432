"""Intake throughput and latency, single events and batches, next to a no-Kafka baseline.

    python -m tests.benchmarks.bench_intake [--seconds 10] [--concurrency 50]

Two intake processes run side by side on the benchmark's own PostgreSQL and Kafka: the service
as deploy/local/services.sh starts it, and a baseline built from the same application (same
validation, privacy guard, ledger writes) whose publisher acknowledges at once without Kafka.
One load generator drives each in turn with the same workload, so the ratio is measured in one
run on one machine: single events in a closed loop at a concurrency of 50 (saturated: throughput,
and the latency that queueing at saturation gives); single events offered at 60% of the baseline's
saturated throughput over at most 50 connections (the latency at the throughput target); batches
of 500 in a closed loop at a concurrency of 50. Closed loops run in rounds (see :func:`run`).
Bodies are pre-encoded templates with a fresh event id spliced in, and requests go on keep-alive
connections of a minimal HTTP/1.1 client (tests/benchmarks/loadgen.py) on uvloop with the
collector off, so the generator takes as little of the two cores as it can: 54 to 64
microseconds of CPU per single event, where aiohttp's client took 217 to 247.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time
import uuid

import uvloop

from contracts.places import AREAS
from contracts.topics import FINDINGS
from contracts.examples import FINDING
from services.common.entry import serve_http
from tests.benchmarks import loadgen
from tests.benchmarks.common import Stack, latency_summary, log, report, vmhwm_mib, wait_http
from tests.stackenv import REPO

ID_MARK = b"00000000-0000-4000-8000-00000000beef"
TARGET_RATIO, TARGET_P99_MS = 0.60, 50.0
#: Lower fractions of the baseline's throughput offered to intake alone after the 60% reading.
PACED_LOWER = (0.4, 0.5)


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


def baseline_app():
    """The baseline's app in each of its workers: intake's, with the NullPublisher."""
    from services.intake.api import create_app

    return create_app(publisher_factory=lambda s: NullPublisher())


def serve_baseline(port: int, workers: int) -> int:
    """As intake is served (gunicorn, services/common/gunicorn_conf.py), with as many workers."""
    return serve_http(
        "tests.benchmarks.bench_intake:baseline_app()",
        ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
        "intake-baseline",
    )


class Bodies:
    """Finding bodies per area, encoded once; each call splices in a new event id."""

    def __init__(self) -> None:
        self.templates = []
        for area in AREAS.values():
            body = dict(FINDING, event_id=ID_MARK.decode(), area=area.code, region=area.region.value)
            self.templates.append(json.dumps(body).encode())

    def one(self, i: int) -> bytes:
        return self.templates[i % len(self.templates)].replace(ID_MARK, str(uuid.uuid4()).encode())

    def batch(self, i: int, size: int) -> bytes:
        return b'{"events":[' + b",".join(self.one(i + j) for j in range(size)) + b"]}"


async def drive(port: int, key: str, seconds: float, concurrency: int, batch: int) -> dict:
    """Closed loop: ``concurrency`` clients post back to back for ``seconds``, each on its own
    keep-alive connection (tests/benchmarks/loadgen.py)."""
    bodies = Bodies()
    path = "/v1/findings:batch" if batch > 1 else "/v1/findings"
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    accepted = 0
    deadline = time.monotonic() + seconds

    async def client(conn: loadgen.Connection, i: int) -> None:
        nonlocal accepted
        n = 0
        while time.monotonic() < deadline:
            data = loadgen.post(path, bodies.batch(i + n, batch) if batch > 1 else bodies.one(i + n), headers)
            n += 1
            t0 = time.perf_counter()
            status, raw = await conn.request(data)
            latencies.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1
            if batch > 1 and status == 200:
                accepted += json.loads(raw)["counts"].get("accepted", 0)
            elif batch == 1 and status == 202:
                accepted += 1

    connections = [await loadgen.connect(port) for _ in range(concurrency)]
    try:
        start = time.monotonic()
        await asyncio.gather(*(client(conn, i) for i, conn in enumerate(connections)))
        elapsed = time.monotonic() - start
    finally:
        for conn in connections:
            conn.close()
    return {
        "events_per_s": round(accepted / elapsed, 1),
        "events_accepted": accepted,
        "requests": len(latencies),
        "seconds": round(elapsed, 2),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        **latency_summary(latencies),
    }


async def paced(port: int, key: str, seconds: float, rate: float, concurrency: int) -> dict:
    """Open loop: single events offered at ``rate`` per second over at most ``concurrency``
    connections. Each latency runs from when the request was due, so waiting for a free
    connection counts (no coordinated omission): the latency at that throughput, not at saturation."""
    bodies = Bodies()
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    free: asyncio.Queue[loadgen.Connection] = asyncio.Queue()
    total = max(1, int(seconds * rate))

    async def one(i: int, due: float) -> None:
        data = loadgen.post("/v1/findings", bodies.one(i), headers)
        conn = await free.get()
        try:
            status, _ = await conn.request(data)
        finally:
            free.put_nowait(conn)
        latencies.append(loop.time() - due)
        statuses[status] = statuses.get(status, 0) + 1

    connections = [await loadgen.connect(port) for _ in range(concurrency)]
    for conn in connections:
        free.put_nowait(conn)
    try:
        start = loop.time() + 0.05
        running: set[asyncio.Task] = set()
        for i in range(total):
            due = start + i / rate
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            task = asyncio.create_task(one(i, due))  # started when due, not before
            running.add(task)
            task.add_done_callback(running.discard)
        await asyncio.gather(*running)
        elapsed = loop.time() - start
    finally:
        for conn in connections:
            conn.close()
    accepted = statuses.get(202, 0)
    return {
        "offered_per_s": round(rate, 1),
        "events_per_s": round(accepted / elapsed, 1),
        "events_accepted": accepted,
        "requests": total,
        "seconds": round(elapsed, 2),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        **latency_summary(latencies),
    }


def run_loop(coro):
    """Run the load generator on uvloop, as the services run (less of the shared CPU for it), with
    its garbage collector off: a collection of the generator's own heap stalled every request in
    flight for about 60 ms, at the same moment of every paced run (5.4 s in), which showed in the
    service's p99. A run of a minute holds its garbage easily; it is collected afterwards."""
    gc.collect()
    gc.disable()
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coro)
    finally:
        gc.enable()


def record_sizes(stack: Stack, sample: int = 2000) -> dict:
    """Mean sizes of the records intake wrote to the findings topic (the newest ``sample``)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=stack.bootstrap, group_id=None, enable_auto_commit=False)
    try:
        ends = stack.end_offsets(FINDINGS.name)
        per = max(1, sample // max(1, len(ends)))
        consumer.assign(list(ends))
        for tp, end in ends.items():
            consumer.seek(tp, max(0, end - per))
        values, keys, headers = [], [], []
        expected = sum(min(per, end) for end in ends.values())
        deadline = time.monotonic() + 30
        while len(values) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                for r in records:
                    values.append(len(r.value))
                    keys.append(len(r.key or b""))
                    headers.append(sum(len(k) + len(v or b"") for k, v in r.headers))
    finally:
        consumer.close()
    if not values:
        raise RuntimeError(f"no records on {FINDINGS.name} to size")
    return {
        "records_sampled": len(values),
        "value_bytes_mean": round(sum(values) / len(values), 1),
        "key_bytes_mean": round(sum(keys) / len(keys), 1),
        "header_bytes_mean": round(sum(headers) / len(headers), 1),
    }


def _median_round(rounds: list[dict], key) -> dict:
    """The round whose ``key`` is the median (the lower one of the middle two)."""
    ordered = sorted(rounds, key=key)
    return ordered[(len(ordered) - 1) // 2]


def run(
    stack: Stack,
    seconds: float = 10,
    concurrency: int = 50,
    batch_size: int = 500,
    batch_concurrency: int = 50,
    warmup: float = 2,
    rounds: int = 3,
) -> dict:
    """Needs Kafka and PostgreSQL up; starts and stops the intake service and the baseline.

    Each closed-loop measurement is taken in ``rounds`` rounds, the service and its baseline side
    by side in each, the one that goes first alternating: this machine's speed moves from minute
    to minute (two back-to-back 10 s runs of the same build have differed by a quarter), so a
    ratio is taken within a round and the round with the median ratio (single events) or the
    median throughput (batches) is the one reported, every round listed beside it."""
    # The load spreads its findings over every area: the partner serves them all.
    key = stack.create_key("pattigift", "partner", areas=",".join(AREAS), name="Pattigift")
    workers = int(stack.env["CSP_INTAKE_WORKERS"])
    baseline = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.benchmarks.bench_intake",
            "--serve-baseline",
            "--port",
            str(stack.baseline_port),
            "--workers",
            str(workers),
        ],
        env=stack.process_env(),
        cwd=REPO,
    )
    results: dict[str, dict] = {}
    all_rounds: dict[str, list[dict]] = {"single": [], "batch": []}
    try:
        stack.start("intake")
        wait_http(f"http://127.0.0.1:{stack.baseline_port}/readyz", 90, baseline)
        ports = {"kafka": stack.port("intake"), "baseline": stack.baseline_port}
        # Steady state, not start-up: the broker's JVM has just started and compiles its hot
        # paths under the first load; half the warm-up in single events, half in batches.
        log(f"intake: warming up ({warmup:g}s each)")
        for port in ports.values():
            run_loop(drive(port, key, warmup / 2, concurrency, 1))
            run_loop(drive(port, key, warmup / 2, batch_concurrency, batch_size))
        for shape, conc, size in (("single", concurrency, 1), ("batch", batch_concurrency, batch_size)):
            for n in range(rounds):
                one: dict[str, dict] = {}
                for mode in ("baseline", "kafka") if n % 2 == 0 else ("kafka", "baseline"):
                    r = one[mode] = run_loop(drive(ports[mode], key, seconds, conc, size))
                    log(
                        f"intake {shape:6} {mode:8} round {n + 1}/{rounds}: {r['events_per_s']:>9,.0f} events/s, "
                        f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, statuses {r['statuses']}"
                    )
                one["ratio"] = round(one["kafka"]["events_per_s"] / one["baseline"]["events_per_s"], 3)
                all_rounds[shape].append(one)
            chosen = (
                _median_round(all_rounds[shape], lambda r: r["ratio"])
                if shape == "single"
                else _median_round(all_rounds[shape], lambda r: r["kafka"]["events_per_s"])
            )
            results[f"{shape}_baseline"], results[f"{shape}_kafka"] = chosen["baseline"], chosen["kafka"]
            log(
                f"intake {shape}: ratios by round {[r['ratio'] for r in all_rounds[shape]]}; reported: "
                f"{chosen['kafka']['events_per_s']:,.0f} against {chosen['baseline']['events_per_s']:,.0f} events/s"
            )
            if shape == "single":
                # The latency target holds at the throughput target: both, side by side, offered
                # 60% of the baseline's saturated throughput (the reported round's).
                rate = TARGET_RATIO * results["single_baseline"]["events_per_s"]
                for mode in ("baseline", "kafka"):
                    r = run_loop(paced(ports[mode], key, seconds, rate, concurrency))
                    results[f"single_paced_{mode}"] = r
                    log(
                        f"intake paced  {mode:8}: offered {rate:,.0f}/s, {r['events_per_s']:>7,.0f} events/s, "
                        f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, statuses {r['statuses']}"
                    )
                # Where the bound holds below that rate: the service alone, at lower fractions of
                # the same baseline figure (latency climbs steeply as a shared 2-core machine nears
                # saturation; this says how far below it intake must run to keep p99 under 50 ms).
                results["single_paced_lower"] = []
                for fraction in PACED_LOWER:
                    offered = fraction * results["single_baseline"]["events_per_s"]
                    r = run_loop(paced(ports["kafka"], key, seconds, offered, concurrency))
                    results["single_paced_lower"].append({"fraction_of_baseline": fraction, **r})
                    log(
                        f"intake paced  kafka    at {fraction:.0%} of the baseline: "
                        f"offered {r['offered_per_s']:,.0f}/s, {r['events_per_s']:>7,.0f} events/s, "
                        f"p99 {r['p99_ms']} ms"
                    )
        memory = {"intake": vmhwm_mib(stack.pid("intake") or -1), "intake_baseline": vmhwm_mib(baseline.pid)}
        sizes = record_sizes(stack)
    finally:
        baseline.terminate()
        try:
            baseline.wait(timeout=30)
        except subprocess.TimeoutExpired:
            baseline.kill()
        stack.stop("intake")
    single_ratio = results["single_kafka"]["events_per_s"] / results["single_baseline"]["events_per_s"]
    paced_kafka = results["single_paced_kafka"]
    batch_ratio = results["batch_kafka"]["events_per_s"] / results["batch_baseline"]["events_per_s"]
    return {
        "seconds_per_run": seconds,
        "concurrency_single": concurrency,
        "rounds": rounds,
        "worker_processes": workers,  # intake's, and as many for the baseline
        "batch": {"size": batch_size, "concurrency": batch_concurrency},
        **results,
        "single_rounds": all_rounds["single"],
        "batch_rounds": all_rounds["batch"],
        "record_sizes": sizes,
        "peak_memory_mib": memory,
        "single_ratio_kafka_to_baseline": round(single_ratio, 3),
        "batch_ratio_kafka_to_baseline": round(batch_ratio, 3),
        "targets": {"single_ratio": TARGET_RATIO, "single_p99_ms": TARGET_P99_MS, "batch_events_per_s": 20000},
        "meets": {
            "single_ratio": single_ratio >= TARGET_RATIO,
            # At the target throughput: all of it served (98%: the last second's requests
            # still in flight when the clock stops), with p99 under the bound.
            "single_p99_at_target_rate": (
                paced_kafka["events_per_s"] >= 0.98 * paced_kafka["offered_per_s"]
                and paced_kafka["p99_ms"] < TARGET_P99_MS
            ),
            "single_p99_saturated": results["single_kafka"]["p99_ms"] < TARGET_P99_MS,
            "batch_throughput": results["batch_kafka"]["events_per_s"] >= 20000,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--batch-concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each closed-loop measurement")
    parser.add_argument("--serve-baseline", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_baseline:
        return serve_baseline(args.port, args.workers)
    stack = Stack()
    try:
        log(f"fresh Kafka and PostgreSQL ({stack.home})")
        stack.fresh()
        body = run(stack, args.seconds, args.concurrency, args.batch_size, args.batch_concurrency, rounds=args.rounds)
    finally:
        stack.stop_all()
    report("intake", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
