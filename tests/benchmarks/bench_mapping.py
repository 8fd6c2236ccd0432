"""Mapping throughput: the faust agent next to a bare aiokafka consume-map-produce loop.

    python -m tests.benchmarks.bench_mapping [--events 30000]

Both read the same pre-loaded intake topic from the start (different consumer groups), apply the
same pure ``handle`` function and produce with acks=all, committing offsets only after their
output is acknowledged. Throughput = events / (last output record time - first output record
time), from the broker's record timestamps, so start-up and group joins are not counted.
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
from datetime import datetime, timezone

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from contracts.places import AREAS
from contracts.topics import FINDINGS, MAPPED
from services.intake.examples import FINDING
from services.mapping.domain.records import handle
from services.mapping.domain.ruleset import load
from tests.benchmarks.common import BENCH_ENV, bench, fresh_infra, report, stop_all

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


async def _preload(n: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=BENCH_ENV["CSP_KAFKA_BOOTSTRAP"], acks="all",
                                linger_ms=5, max_batch_size=1 << 20)
    await producer.start()
    try:
        futures = [await producer.send(FINDINGS.name, value=v, key=k) for k, v in _events(n)]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def _output_span(topic: str, expected: int, timeout: float) -> tuple[int, float]:
    """Wait for ``expected`` records on ``topic``; return (count, seconds from first to last)."""
    consumer = KafkaConsumer(bootstrap_servers=BENCH_ENV["CSP_KAFKA_BOOTSTRAP"], group_id=None,
                             enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        deadline = time.monotonic() + timeout
        while sum(consumer.end_offsets(parts).values()) < expected:
            if time.monotonic() > deadline:
                raise SystemExit(f"{topic}: only {sum(consumer.end_offsets(parts).values())} of {expected} "
                                 f"records after {timeout}s")
            time.sleep(0.5)
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        stamps = []
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            for batch in consumer.poll(timeout_ms=500, max_records=5000).values():
                stamps.extend(r.timestamp for r in batch)
        return len(stamps), (max(stamps) - min(stamps)) / 1000.0
    finally:
        consumer.close()


async def bare_loop(expected: int) -> None:
    """The same work without faust: consume, map (pure), produce, await acks, then commit."""
    rules = load()
    consumer = AIOKafkaConsumer(FINDINGS.name, bootstrap_servers=BENCH_ENV["CSP_KAFKA_BOOTSTRAP"],
                                group_id="bench-bare", enable_auto_commit=False,
                                auto_offset_reset="earliest")
    producer = AIOKafkaProducer(bootstrap_servers=BENCH_ENV["CSP_KAFKA_BOOTSTRAP"], acks="all",
                                enable_idempotence=True, linger_ms=2)
    await consumer.start()
    await producer.start()
    done = 0
    try:
        while done < expected:
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            futures = []
            for tp, records in batches.items():
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=30000)
    parser.add_argument("--bare-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_only:  # the bare loop runs in its own process, like the faust worker
        asyncio.run(bare_loop(args.events))
        return 0
    n = args.events
    try:
        fresh_infra()
        admin = KafkaAdminClient(bootstrap_servers=BENCH_ENV["CSP_KAFKA_BOOTSTRAP"])
        admin.create_topics([NewTopic(BARE_OUT, MAPPED.partitions, 1)])
        admin.close()
        t0 = time.monotonic()
        asyncio.run(_preload(n))
        preload_s = time.monotonic() - t0
        print(f"preloaded {n} findings in {preload_s:.1f}s", file=sys.stderr)

        bench("services.sh", "start", "mapping", timeout=300)
        faust_count, faust_span = _output_span(MAPPED.name, n, timeout=1800)
        bench("services.sh", "stop", "mapping")
        print(f"faust agent: {faust_count} in {faust_span:.1f}s", file=sys.stderr)

        env = {**os.environ, **BENCH_ENV}
        proc = subprocess.Popen([sys.executable, "-m", "tests.benchmarks.bench_mapping", "--bare-only",
                                 "--events", str(n)], env=env)
        bare_count, bare_span = _output_span(BARE_OUT, n, timeout=1800)
        proc.wait(timeout=120)
        print(f"bare loop: {bare_count} in {bare_span:.1f}s", file=sys.stderr)
    finally:
        stop_all()
    faust_rate, bare_rate = faust_count / faust_span, bare_count / bare_span
    report("mapping", {
        "events": n,
        "faust_agent": {"events_per_s": round(faust_rate, 1), "seconds": round(faust_span, 2)},
        "bare_aiokafka_loop": {"events_per_s": round(bare_rate, 1), "seconds": round(bare_span, 2)},
        "ratio_agent_to_bare": round(faust_rate / bare_rate, 3),
        "target_ratio": 0.70,
        "meets_target": faust_rate / bare_rate >= 0.70,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
