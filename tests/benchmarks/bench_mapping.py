"""Mapping throughput: the faust agent next to a bare aiokafka consume-map-produce loop.

    python -m tests.benchmarks.bench_mapping [--events 30000]

The findings topic is emptied (Kafka DeleteRecords) and pre-loaded with ``--events`` findings.
Both then read it from the start, in turn (different consumer groups), apply the same pure
``handle`` function and produce with acks=all, committing offsets only after their output is
acknowledged: first the mapping service as deploy/local/services.sh starts it, then the bare loop
in a process of its own. Throughput = events / (last output record time - first output record
time), from the broker's record timestamps, so start-up and group joins are not counted.
"""
from __future__ import annotations

import argparse
import asyncio
import copy
import json
import resource
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kafka import KafkaConsumer

from contracts.places import AREAS
from contracts.topics import DEADLETTER, FINDINGS, MAPPED, PERFORMANCE
from services.intake.examples import FINDING
from services.mapping.domain.records import handle
from services.mapping.domain.ruleset import load
from tests.benchmarks.common import Stack, log, report, vmhwm_mib
from tests.stackenv import REPO

BARE_OUT = "bench.bare.mapped.v1"


def _events(n: int) -> list[tuple[bytes, bytes]]:
    areas = list(AREAS.values())
    out = []
    for i in range(n):
        area = areas[i % len(areas)]
        body = copy.deepcopy(FINDING)
        body.update(event_id=str(uuid.UUID(int=i + 1)), area=area.code, region=area.region.value)
        out.append((area.code.encode(), json.dumps(body).encode()))
    return out


async def _preload(bootstrap: str, n: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=1 << 20)
    await producer.start()
    try:
        futures = [await producer.send(FINDINGS.name, value=v, key=k) for k, v in _events(n)]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def output_span(bootstrap: str, topic: str, start: dict, expected: int, timeout: float) -> tuple[int, float]:
    """Wait for ``expected`` records on ``topic`` past the ``start`` offsets; return
    (count, seconds from the first to the last of them, by broker timestamps)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        parts = list(start)
        deadline = time.monotonic() + timeout
        while (got := sum(end - start[tp] for tp, end in consumer.end_offsets(parts).items())) < expected:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{topic}: only {got} of {expected} records after {timeout}s")
            time.sleep(0.5)
        consumer.assign(parts)
        for tp in parts:
            consumer.seek(tp, start[tp])
        ends = consumer.end_offsets(parts)
        stamps = []
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            for tp, batch in consumer.poll(timeout_ms=500, max_records=5000).items():
                stamps.extend(r.timestamp for r in batch if r.offset < ends[tp])
        return len(stamps), (max(stamps) - min(stamps)) / 1000.0
    finally:
        consumer.close()


async def bare_loop(bootstrap: str, expected: int) -> None:
    """The same work without faust: consume, map (pure), produce, await acks, then commit."""
    rules = load()
    consumer = AIOKafkaConsumer(FINDINGS.name, bootstrap_servers=bootstrap, group_id="bench-bare",
                                enable_auto_commit=False, auto_offset_reset="earliest")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=2)
    await consumer.start()
    await producer.start()
    done = 0
    try:
        while done < expected:
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            futures = []
            for records in batches.values():
                for r in records:
                    out = handle(r.value, r.key, r.topic, r.partition, r.offset, rules,
                                 datetime.now(timezone.utc))
                    topic = BARE_OUT if out.topic == MAPPED.name else out.topic
                    futures.append(await producer.send(topic, key=out.key, value=out.value))
            await asyncio.gather(*futures)
            await consumer.commit()
            done += len(futures)
    finally:
        await consumer.stop()
        await producer.stop()
    # ru_maxrss is the peak resident set in KiB on Linux: the same figure as VmHWM.
    print(json.dumps({"peak_memory_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


def run(stack: Stack, events: int) -> dict:
    """Needs Kafka and PostgreSQL up and the mapping service stopped; empties the intake topics."""
    dropped = stack.truncate(FINDINGS.name, PERFORMANCE.name)
    stack.create_topic(BARE_OUT, MAPPED.partitions)
    mapped_start, bare_start = stack.end_offsets(MAPPED.name), stack.end_offsets(BARE_OUT)
    t0 = time.monotonic()
    asyncio.run(_preload(stack.bootstrap, events))
    log(f"mapping: {dropped:,} earlier records dropped, {events:,} findings pre-loaded in "
        f"{time.monotonic() - t0:.1f}s")

    stack.start("mapping")
    try:
        faust_count, faust_span = output_span(stack.bootstrap, MAPPED.name, mapped_start, events, 1800)
        faust_memory = vmhwm_mib(stack.pid("mapping") or -1)
    finally:
        stack.stop("mapping")
    log(f"mapping: faust agent {faust_count:,} in {faust_span:.1f}s")

    proc = subprocess.Popen([sys.executable, "-m", "tests.benchmarks.bench_mapping", "--bare-only",
                             "--bootstrap", stack.bootstrap, "--events", str(events)],
                            env=stack.process_env(), cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        bare_count, bare_span = output_span(stack.bootstrap, BARE_OUT, bare_start, events, 1800)
        stdout, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    bare_memory = json.loads(stdout.strip().splitlines()[-1])["peak_memory_mib"]
    log(f"mapping: bare loop {bare_count:,} in {bare_span:.1f}s")
    dead = sum(stack.end_offsets(DEADLETTER.name).values())
    faust_rate, bare_rate = faust_count / faust_span, bare_count / bare_span
    return {
        "events": events,
        "faust_agent": {"events_per_s": round(faust_rate, 1), "seconds": round(faust_span, 2),
                        "records": faust_count, "peak_memory_mib": faust_memory},
        "bare_aiokafka_loop": {"events_per_s": round(bare_rate, 1), "seconds": round(bare_span, 2),
                               "records": bare_count, "peak_memory_mib": bare_memory},
        "deadletter_records": dead,
        "ratio_agent_to_bare": round(faust_rate / bare_rate, 3),
        "target_ratio": 0.70,
        "meets_target": faust_rate / bare_rate >= 0.70,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=30000)
    parser.add_argument("--bare-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_only:  # the bare loop runs in its own process, like the faust worker
        asyncio.run(bare_loop(args.bootstrap, args.events))
        return 0
    stack = Stack()
    try:
        log(f"fresh Kafka and PostgreSQL ({stack.home})")
        stack.fresh()
        body = run(stack, args.events)
    finally:
        stack.stop_all()
    report("mapping", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
