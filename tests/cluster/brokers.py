"""Looking at the cluster while it is broken: partition leaders, live brokers, a probe of intake."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from contracts.topics import FINDINGS, MAPPED, PERFORMANCE
from tests.conftest import http_json, url
from tests.faults.harness import AREAS_UNDER_LOAD
from tests.faults.load import Partner, plan

from .conftest import BROKER_HOSTS, BROKER_PORTS, CLUSTER_ENV

BOOTSTRAP = CLUSTER_ENV["CSP_KAFKA_BOOTSTRAP"]
LOADED_TOPICS = (FINDINGS, PERFORMANCE, MAPPED)


def bootstrap_without(*down: int) -> str:
    """The live brokers' addresses: a client that starts now needs one that answers."""
    return ",".join(f"{BROKER_HOSTS[n]}:{p}" for n, p in BROKER_PORTS.items() if n not in down)


def leaders(*down: int) -> dict[tuple[str, int], int]:
    """The leader of every partition of the loaded topics (-1: none)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_without(*down), request_timeout_ms=5000)
    try:
        return {
            (t["name"], p["partition_index"]): p["leader_id"]
            for t in admin.describe_topics([t.name for t in LOADED_TOPICS])
            for p in t["partitions"]
        }
    finally:
        admin.close()


def preferred_leaders() -> None:
    """Give every partition of the loaded topics back to its preferred leader (the first of its
    replicas): leadership spread over the three nodes again, whatever the earlier scenarios moved."""
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, request_timeout_ms=5000)
    try:
        admin.elect_leaders(0, [t.name for t in LOADED_TOPICS], raise_errors=False)
    finally:
        admin.close()


def live_brokers(*down: int) -> set[int]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_without(*down), request_timeout_ms=5000)
    try:
        return {b["broker_id"] for b in admin.describe_cluster()["brokers"]}
    finally:
        admin.close()


def busiest_leader(*down: int) -> tuple[int, dict[int, int]]:
    """The broker leading the most records of the loaded topics, and the records each leads."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_without(*down), group_id=None, enable_auto_commit=False, request_timeout_ms=5000
    )
    try:
        led: dict[int, int] = {n: 0 for n in BROKER_PORTS if n not in down}
        lead = leaders(*down)
        for t in LOADED_TOPICS:
            ends = consumer.end_offsets([TopicPartition(t.name, p) for p in range(t.partitions)])
            for tp, end in ends.items():
                broker = lead[(t.name, tp.partition)]
                if broker in led:
                    led[broker] += end
        return max(led, key=lambda n: led[n]), led
    finally:
        consumer.close()


async def wait_for(predicate, timeout: float, interval: float = 0.5):
    """Poll a blocking ``predicate`` in a thread until it returns something true; that value, or
    None at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = await asyncio.to_thread(predicate)
        except Exception:  # noqa: BLE001 - a broker in the middle of failing over: look again
            value = None
        if value:
            return value
        await asyncio.sleep(interval)
    return None


def probe(partner: Partner, seed: int) -> tuple[int, str, str]:
    """Post one valid finding with a fresh id as ``partner``: intake's answer to the batch, the
    item's own status and its event id. The finding is dated twenty days ago, outside every
    scenario's days, so that if intake refused it and it reached the log after all it still
    moves no scenario's books."""
    day = datetime.now(timezone.utc).date() - timedelta(days=20)
    event = plan(
        [partner],
        list(AREAS_UNDER_LOAD),
        [day],
        1,
        seed=seed,
        performance_share=0.0,
        unmet_share=0.0,
        refused_share=0.0,
    )[0]
    status, _, body = http_json(
        "POST",
        url("intake", "/v1/findings:batch"),
        {"events": [event.body]},
        headers={"authorization": f"Bearer {partner.api_key}"},
        timeout=60,
    )
    results = (body or {}).get("results") or [{}]
    return status, str(results[0].get("status")), event.event_id
