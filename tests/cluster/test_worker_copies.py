"""Two copies of each stream worker (mapping, alerts, reporting-worker) in their consumer groups and
two intake processes (gunicorn workers), on the three-broker cluster: one copy of each SIGKILLed
under a load of 20,000 events, a copy added back; the groups rebalance and the books balance.

The books include the area lock: the unmet-need alerts' evidence is counted against the findings
acknowledged for each area and community, so two alerts workers evaluating one area at once (each
writing the area's state over the other's) would show as a shortfall, which counts as missing."""

from __future__ import annotations

import pytest
from kafka import KafkaAdminClient

import os
import signal

from contracts.vocabulary import Community
from tests.conftest import run
from tests.faults.harness import Scenario, Timeline, account, assert_books_balance, script
from tests.faults.harness import run as run_load
from tests.faults.load import Sender
from tests.gunicorn_procs import workers

from .brokers import BOOTSTRAP, wait_for
from .conftest import CLUSTER_HOME

pytestmark = [pytest.mark.cluster, pytest.mark.integration, pytest.mark.timeout(1500)]

WORKERS = ("mapping", "alerts", "reporting-worker")
SECOND = tuple(f"{w}@2" for w in WORKERS)
GROUPS = ("csp-mapping", "csp-alerts", "csp-reporting")
COPIES = Scenario(
    "cluster-worker-copies",
    days_ago=(11, 12, 13, 14),
    communities=(Community.PAKISTANI, Community.BANGLADESHI),
    rate=400.0,
)


def members() -> dict[str, int]:
    """Members of each worker group, counted only once the group is stable (not rebalancing)."""
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, request_timeout_ms=5000)
    try:
        groups = admin.describe_groups(list(GROUPS))
        return {g: len(d["members"]) if d["group_state"] == "Stable" else -1 for g, d in groups.items()}
    finally:
        admin.close()


async def all_groups_have(n: int, timeout: float = 120) -> dict | None:
    return await wait_for(lambda: (m := members()) and all(v == n for v in m.values()) and m, timeout)


@pytest.fixture
def worker_copies(whole_cluster):
    """A second copy of each stream worker; only the first copies are left when the test ends."""
    run("services.sh", "start", *SECOND, timeout=300)
    yield
    run("services.sh", "stop", *SECOND, timeout=120)


async def test_one_copy_of_each_worker_killed_and_one_added_back_loses_and_doubles_nothing(
    worker_copies, load_partners
):
    assert await all_groups_have(2), members()

    async def fault(sender: Sender, t: Timeline) -> dict:
        await sender.reached(0.3)
        await script("services.sh", "kill", *WORKERS)
        t.mark(f"first copies of {', '.join(WORKERS)} SIGKILLed; the second copies carry on")
        intake = int((CLUSTER_HOME / "run" / "intake.pid").read_text())
        before = workers(intake)
        os.kill(before[0], signal.SIGKILL)
        t.mark(f"intake worker {before[0]} SIGKILLed; the other answers while gunicorn starts another")
        after = await wait_for(
            lambda: (w := workers(intake)) and len(w) == len(before) and before[0] not in w and w, 60
        )
        t.mark(f"intake back to {len(before)} workers: {after}")
        alone = await all_groups_have(1)
        t.mark(f"groups rebalanced to the surviving copies: {alone}")
        await sender.reached(0.6)
        await script("services.sh", "start", *WORKERS)
        t.mark("a copy of each added back")
        together = await all_groups_have(2)
        t.mark(f"groups rebalanced over two copies again: {together}")
        return {"one_copy_each": alone, "two_copies_each": together, "intake_workers": after}

    ledger = await account(await run_load(COPIES, load_partners, fault))
    assert ledger.details["fault"]["one_copy_each"], ledger.details["fault"]
    assert ledger.details["fault"]["two_copies_each"], ledger.details["fault"]
    assert ledger.details["fault"]["intake_workers"], ledger.details["fault"]
    assert_books_balance(ledger)
