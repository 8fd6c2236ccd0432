"""Brokers of a three-node KRaft cluster (replication factor 3, min.insync.replicas=2) killed
with SIGKILL under a load of 20,000 events, and started again on their own log directories."""

from __future__ import annotations

import asyncio
import random

import pytest

from contracts.vocabulary import Community
from tests.faults.harness import Scenario, Timeline, account, assert_books_balance, run, script
from tests.faults.load import Sender

from . import brokers

pytestmark = [pytest.mark.cluster, pytest.mark.integration, pytest.mark.timeout(1500)]

#: 400 events a second: the load lasts about fifty seconds, so brokers go down and come back
#: while it flows.
RATE = 400.0
LEADER = Scenario(
    "cluster-leader-killed",
    days_ago=(3, 4, 5, 6),
    communities=(Community.AFRICAN, Community.AFRICAN_CARIBBEAN),
    rate=RATE,
)
TWO_DOWN = Scenario(
    "cluster-two-brokers-down", days_ago=(7, 8, 9, 10), communities=(Community.CHINESE, Community.IRISH), rate=RATE
)


async def test_leader_of_busiest_partitions_killed_loses_and_doubles_nothing(whole_cluster, load_partners):
    async def fault(sender: Sender, t: Timeline) -> dict:
        await sender.reached(0.3)
        victim, led = await asyncio.to_thread(brokers.busiest_leader)
        before = await asyncio.to_thread(brokers.leaders)
        moved = [tp for tp, n in before.items() if n == victim]
        await script("kafka.sh", "kill", str(victim))
        t.mark(
            f"node {victim} SIGKILLed: it led {led[victim]} of the records ({led}), "
            f"{len(moved)} partitions of the loaded topics"
        )
        # The controller fences the node and a follower in sync takes over each of its partitions.
        after = await brokers.wait_for(
            lambda: (lead := brokers.leaders(victim)) and all(lead[tp] not in (-1, victim) for tp in moved) and lead,
            timeout=60,
        )
        t.mark(f"its partitions have new leaders: {sorted(set(after[tp] for tp in moved)) if after else 'NONE'}")
        await asyncio.sleep(5)
        await script("kafka.sh", "start", str(victim), timeout=300)
        t.mark(f"node {victim} restarted and live in the cluster")
        return {
            "killed": victim,
            "records_led": led,
            "partitions_moved": len(moved),
            "new_leaders": sorted(set(after[tp] for tp in moved)) if after else None,
        }

    ledger = await account(await run(LEADER, load_partners, fault))
    assert ledger.details["fault"]["new_leaders"], "the killed leader's partitions never moved"
    assert_books_balance(ledger)


async def test_second_broker_killed_while_one_is_down_answers_503_and_loses_nothing(whole_cluster, load_partners):
    async def fault(sender: Sender, t: Timeline) -> dict:
        await sender.reached(0.3)
        first, _ = await asyncio.to_thread(brokers.busiest_leader)
        await script("kafka.sh", "kill", str(first))
        t.mark(f"node {first} SIGKILLed")
        fenced = await brokers.wait_for(lambda: first not in brokers.live_brokers(first), timeout=60)
        t.mark(f"node {first} fenced by the controller: {bool(fenced)}")
        second, _ = await asyncio.to_thread(brokers.busiest_leader, first)
        acked_before = len(sender.outcomes.acknowledged)
        await script("kafka.sh", "kill", str(second))
        t.mark(f"node {second} SIGKILLed: one broker left, below min.insync.replicas=2")
        # Fresh events, posted while a single broker is left: intake cannot have them written to
        # two brokers, so it must refuse them with 503, never acknowledge them.
        probes = []
        for i in range(3):
            await asyncio.sleep(2)
            probes.append(
                await asyncio.to_thread(brokers.probe, sender.batches[0][0], random.SystemRandom().getrandbits(32) + i)
            )
            t.mark(f"probe {i + 1} answered {probes[-1][0]}, the event {probes[-1][1]}")
        await script("kafka.sh", "start", timeout=300)
        t.mark(f"nodes {first} and {second} restarted and live in the cluster")
        return {
            "killed": [first, second],
            "probes": [s for s, _, _ in probes],
            "probe_items": [item for _, item, _ in probes],
            "probe_event_ids": [e for *_, e in probes],
            "acknowledged_while_one_left": len(sender.outcomes.acknowledged) - acked_before,
        }

    ledger = await account(await run(TWO_DOWN, load_partners, fault))
    assert ledger.details["fault"]["probes"] == [503, 503, 503], ledger.details["fault"]
    assert not {"accepted", "duplicate"} & set(ledger.details["fault"]["probe_items"]), ledger.details["fault"]
    # The load met the outage too: intake answered 503 (Retry-After) and the partners retried.
    assert ledger.details["http"].get("503", 0) > 0, ledger.details["http"]
    assert_books_balance(ledger)
