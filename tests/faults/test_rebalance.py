"""Two mapping workers share the intake topics' partitions; one is killed with SIGKILL mid-load and
the other takes its partitions over (a consumer group rebalance) with nothing lost or doubled."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.error
import urllib.request

import pytest
from aiokafka.partitioner import DefaultPartitioner

from contracts import topics
from contracts.topics import FINDINGS, PERFORMANCE
from deploy.validate import worker_topics
from contracts.vocabulary import Community
from tests.conftest import TEST_ENV, TEST_HOME, wait_until
from tests.stackenv import run_script

from .harness import AREAS_UNDER_LOAD, Scenario, Timeline, account, assert_books_balance, run, script
from .load import Sender

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.timeout(1200)]

SCENARIO = Scenario(
    "mapping-rebalance",
    days_ago=(19, 20, 21, 22),
    communities=(Community.GYPSY_AND_TRAVELLER, Community.REFUGEES_AND_ASYLUM_SEEKERS),
)
#: Every partition the mapping group shares out: of every topic the mapping worker reads.
ALL_PARTITIONS = {
    f"{t.name}:{p}" for t in (getattr(topics, n) for n in worker_topics()["mapping"]) for p in range(t.partitions)
}
#: Partitions the load writes to: the areas' keys, placed by the producer's default partitioner.
LOADED = {
    f"{t.name}:{DefaultPartitioner()(a.encode(), list(range(t.partitions)), list(range(t.partitions)))}"
    for t in (FINDINGS, PERFORMANCE)
    for a in AREAS_UNDER_LOAD
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assigned(port: str) -> set[str]:
    """The partitions a mapping worker owns now, from its /readyz."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            return set(json.loads(r.read())["assigned"])
    except urllib.error.HTTPError as e:
        return set(json.loads(e.read()).get("assigned", []))
    except OSError:
        return set()


@pytest.fixture
def second_mapping_worker(whole_stack):
    """Another mapping worker with its own home (pid file, logs, faust data) and web port."""
    env = {**TEST_ENV, "CSP_HOME": str(TEST_HOME / "mapping-2"), "CSP_MAPPING_PORT": str(free_port())}
    run_script(env, "services.sh", "start", "mapping", timeout=300)
    yield env
    run_script(env, "services.sh", "stop", "mapping", timeout=120)


async def test_the_surviving_worker_takes_over_with_nothing_lost(whole_stack, load_partners, second_mapping_worker):
    workers = {
        "mapping": (TEST_ENV, TEST_ENV["CSP_MAPPING_PORT"]),
        "mapping-2": (second_mapping_worker, second_mapping_worker["CSP_MAPPING_PORT"]),
    }
    # Both members of the group, each with a share: disjoint, and all partitions between them.
    shares = wait_until(
        lambda: (
            (s := {n: assigned(p) for n, (_, p) in workers.items()})
            and all(s.values())
            and set.union(*s.values()) == ALL_PARTITIONS
            and not set.intersection(*s.values())
            and s
        ),
        90,
        what="two workers sharing the partitions",
    )

    async def fault(sender: Sender, t: Timeline) -> dict:
        await sender.reached(0.3)
        now = {n: assigned(p) for n, (_, p) in workers.items()}
        # Kill the worker that owns more of the partitions the load writes to.
        victim = max(now, key=lambda n: (len(now[n] & LOADED), n))
        survivor = next(n for n in workers if n != victim)
        await script("services.sh", "kill", "mapping", env=workers[victim][0])
        t.mark(f"{victim} SIGKILLed, owning {sorted(now[victim])}")
        killed_at, took = time.monotonic(), None
        while time.monotonic() - killed_at < 90:
            if assigned(workers[survivor][1]) == ALL_PARTITIONS:
                took = round(time.monotonic() - killed_at, 1)
                break
            await asyncio.sleep(0.5)
        t.mark(
            f"{survivor} owns all {len(ALL_PARTITIONS)} partitions after {took}s"
            if took is not None
            else f"{survivor} did not take over within 90s: {sorted(assigned(workers[survivor][1]))}"
        )
        return {
            "killed": victim,
            "killed_owned": sorted(now[victim]),
            "killed_owned_loaded": sorted(now[victim] & LOADED),
            "takeover_seconds": took,
            "shares_before": {n: sorted(s) for n, s in shares.items()},
        }

    ledger = await account(await run(SCENARIO, load_partners, fault))
    fault_info = ledger.details["fault"]
    assert fault_info["killed_owned_loaded"], fault_info  # the victim had loaded partitions
    assert fault_info["takeover_seconds"] is not None, fault_info
    assert_books_balance(ledger)
