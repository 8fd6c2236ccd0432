"""One broker of the three cut off from the others and from every client (its network namespace's
link down) under a load of 20,000 events, then joined again."""

from __future__ import annotations

import asyncio

import pytest

from contracts.vocabulary import Community
from tests.faults.harness import Scenario, Timeline, account, assert_books_balance, run, script
from tests.faults.load import Sender

from . import brokers
from .conftest import PARTITION_NODE

pytestmark = [pytest.mark.cluster, pytest.mark.integration, pytest.mark.timeout(1500)]

PARTITIONED = Scenario(
    "cluster-broker-partitioned",
    days_ago=(15, 16, 17, 18),
    communities=(Community.INDIAN, Community.SOMALI),
    rate=400.0,
)


async def test_partitioned_broker_loses_and_doubles_nothing(whole_cluster, load_partners):
    # The partitioned node leads some of the loaded partitions (a partitioned leader is the case
    # that matters: it must not acknowledge writes the others never saw).
    await asyncio.to_thread(brokers.preferred_leaders)
    assert await brokers.wait_for(lambda: PARTITION_NODE in brokers.leaders().values(), timeout=30), brokers.leaders()

    async def fault(sender: Sender, t: Timeline) -> dict:
        await sender.reached(0.3)
        _, led = await asyncio.to_thread(brokers.busiest_leader)
        before = await asyncio.to_thread(brokers.leaders)
        cut_off = [tp for tp, n in before.items() if n == PARTITION_NODE]
        await script("kafka.sh", "partition", str(PARTITION_NODE))
        t.mark(
            f"node {PARTITION_NODE} partitioned: it led {led[PARTITION_NODE]} of the records ({led}), "
            f"{len(cut_off)} partitions of the loaded topics"
        )
        # The others fence it (no heartbeats) and elect leaders among themselves; the node itself
        # cannot gather two in-sync replicas for a write, so nothing is acknowledged on it alone.
        fenced = await brokers.wait_for(
            lambda: (
                PARTITION_NODE not in brokers.live_brokers(PARTITION_NODE)
                and all(n not in (-1, PARTITION_NODE) for n in brokers.leaders(PARTITION_NODE).values())
            ),
            timeout=60,
        )
        t.mark(f"node {PARTITION_NODE} fenced, its partitions led by the others: {bool(fenced)}")
        await asyncio.sleep(15)
        await script("kafka.sh", "heal", str(PARTITION_NODE))
        back = await brokers.wait_for(lambda: PARTITION_NODE in brokers.live_brokers(), timeout=120)
        t.mark(f"partition healed; node {PARTITION_NODE} live in the cluster again: {bool(back)}")
        return {
            "partitioned": PARTITION_NODE,
            "records_led": led,
            "partitions_led": len(cut_off),
            "fenced_and_moved": bool(fenced),
            "back": bool(back),
        }

    ledger = await account(await run(PARTITIONED, load_partners, fault))
    assert ledger.details["fault"]["partitions_led"] > 0, ledger.details["fault"]
    assert ledger.details["fault"]["fenced_and_moved"], ledger.details["fault"]
    assert ledger.details["fault"]["back"], ledger.details["fault"]
    assert_books_balance(ledger)
