"""Mapping throughput: the faust agent next to a bare aiokafka consume-map-produce loop.

    python -m tests.benchmarks.bench_mapping [--events 30000] [--rounds 2]

The findings topic is emptied (Kafka DeleteRecords) and pre-loaded with ``--events`` findings.
Both then read it from the start, taking turns ``--rounds`` times each (each side's best round
counts), apply the same pure ``handle`` function and produce with acks=all, committing offsets
only after their output is acknowledged: the mapping service as deploy/local/services.sh starts
it, then the bare loop in a process of its own, and again. Throughput = events / (last output
record time - first output record time), from the broker's record timestamps, so start-up and
group joins are not counted.
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
from kafka import KafkaAdminClient, KafkaConsumer

from contracts.places import AREAS
from contracts.topics import DEADLETTER, FINDINGS, MAPPED, PERFORMANCE
from services.common import heap
from contracts.examples import FINDING
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


async def bare_loop(bootstrap: str, expected: int, group: str = "bench-bare") -> None:
    """The same work without faust: consume, map (pure), produce, await acks, then commit."""
    rules = load()
    consumer = AIOKafkaConsumer(
        FINDINGS.name,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
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
                    out = handle(r.value, r.key, r.topic, r.partition, r.offset, rules, datetime.now(timezone.utc))
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


def _forget_group(bootstrap: str, group: str) -> None:
    """Delete a consumer group's committed offsets (its members stopped), so it reads from the start."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    deadline = time.monotonic() + 90
    try:
        while True:  # a stopped member may linger until its session times out: GroupNotEmpty
            # {group: "OK" or the error's name}
            errors = {g: e for g, e in admin.delete_groups([group]).items() if e != "OK"}
            if not errors:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"could not delete consumer group {group}: {errors}")
            time.sleep(1)
    finally:
        admin.close()


def _faust_round(stack: Stack, events: int) -> dict:
    start = stack.end_offsets(MAPPED.name)
    stack.start("mapping")
    try:
        count, span = output_span(stack.bootstrap, MAPPED.name, start, events, 1800)
        memory = vmhwm_mib(stack.pid("mapping") or -1)
    finally:
        stack.stop("mapping")
    _forget_group(stack.bootstrap, "csp-mapping")
    return {
        "events_per_s": round(count / span, 1),
        "seconds": round(span, 2),
        "records": count,
        "peak_memory_mib": memory,
    }


def _bare_round(stack: Stack, events: int, group: str) -> dict:
    start = stack.end_offsets(BARE_OUT)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.benchmarks.bench_mapping",
            "--bare-only",
            "--bootstrap",
            stack.bootstrap,
            "--events",
            str(events),
            "--group",
            group,
        ],
        env=stack.process_env(),
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        count, span = output_span(stack.bootstrap, BARE_OUT, start, events, 1800)
        stdout, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    memory = json.loads(stdout.strip().splitlines()[-1])["peak_memory_mib"]
    return {
        "events_per_s": round(count / span, 1),
        "seconds": round(span, 2),
        "records": count,
        "peak_memory_mib": memory,
    }


def _best(rounds: list[dict]) -> dict:
    best = max(rounds, key=lambda r: r["events_per_s"])
    return {
        **best,
        "peak_memory_mib": max(r["peak_memory_mib"] or 0 for r in rounds),
        "rounds_events_per_s": [r["events_per_s"] for r in rounds],
    }


def run(stack: Stack, events: int, rounds: int = 2) -> dict:
    """Needs Kafka and PostgreSQL up and the mapping service stopped; empties the intake topics.

    The agent and the bare loop take turns, ``rounds`` times each, over the same pre-loaded
    records (each round from the start: the agent's consumer group is deleted after its round,
    the bare loop uses a new group each time); each side's figure is its best round, so a burst
    of other work on the machine costs one round rather than the ratio."""
    dropped = stack.truncate(FINDINGS.name, PERFORMANCE.name)
    stack.create_topic(BARE_OUT, MAPPED.partitions)
    t0 = time.monotonic()
    asyncio.run(_preload(stack.bootstrap, events))
    log(f"mapping: {dropped:,} earlier records dropped, {events:,} findings pre-loaded in {time.monotonic() - t0:.1f}s")
    agent, bare = [], []
    for n in range(1, rounds + 1):
        agent.append(_faust_round(stack, events))
        log(f"mapping: round {n}: faust agent {agent[-1]['records']:,} in {agent[-1]['seconds']:.1f}s")
        bare.append(_bare_round(stack, events, f"bench-bare-{uuid.uuid4().hex[:8]}"))
        log(f"mapping: round {n}: bare loop {bare[-1]['records']:,} in {bare[-1]['seconds']:.1f}s")
    dead = sum(stack.end_offsets(DEADLETTER.name).values())
    faust_best, bare_best = _best(agent), _best(bare)
    ratio = faust_best["events_per_s"] / bare_best["events_per_s"]
    return {
        "events": events,
        "rounds": rounds,
        "faust_agent": faust_best,
        "bare_aiokafka_loop": bare_best,
        "deadletter_records": dead,
        "ratio_agent_to_bare": round(ratio, 3),
        "target_ratio": 0.60,  # issue 19's floor
        "meets_target": ratio >= 0.60,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=30000)
    parser.add_argument("--bare-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=2, help="turns each side takes (best one counts)")
    parser.add_argument("--bootstrap", help=argparse.SUPPRESS)
    parser.add_argument("--group", default="bench-bare", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_only:  # the bare loop runs in its own process, like the faust worker
        heap.settle()  # and with its heap settled, as every service's is (services.common.heap)
        asyncio.run(bare_loop(args.bootstrap, args.events, args.group))
        return 0
    stack = Stack()
    try:
        log(f"fresh Kafka and PostgreSQL ({stack.home})")
        stack.fresh()
        body = run(stack, args.events, args.rounds)
    finally:
        stack.stop_all()
    report("mapping", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
