"""Fixtures of the cluster tests: the whole platform on a three-broker KRaft cluster.

The cluster runs on a port base of its own, the session's base plus ``OFFSET`` (tests/stackenv.py
derives every port from it), with its data under .local/test-<base>-cluster, so a cluster session
and an ordinary test session can run side by side. Kafka is deploy/local/kafka.sh's cluster
profile (CSP_KAFKA_BROKERS=3): every topic replicated three times with min.insync.replicas=2,
and CSP_KAFKA_BOOTSTRAP naming all three brokers. Node 3 runs in a network namespace of its own
(CSP_KAFKA_PARTITION_NODE), so a test can cut it off from the others (kafka.sh partition 3); the
namespace needs root, and ``stack.sh reset`` removes it.

The tests reuse the fault harness (tests/faults: the paced load, the ledger, the settling), which
reads the session's environment, tests.conftest.TEST_ENV; this conftest's ``test_env`` points
that environment at the cluster before the session's stack starts. The cluster tests are slow and
run only when asked for by path (``pytest tests/cluster``, ``make test-cluster``), never as part
of ``pytest tests``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.conftest import BASE, TEST_ENV, run
from tests.faults import harness
from tests.faults.conftest import load_partners  # noqa: F401 - the load's partner keys, as a fixture
from tests.stackenv import REPO, stack_env

HERE = Path(__file__).resolve().parent
#: The cluster's port base is the session's plus this: Kafka nodes on base+92, +102, +112.
OFFSET = 600
CLUSTER_BASE = BASE + OFFSET
CLUSTER_HOME = REPO / ".local" / f"test-{CLUSTER_BASE}-cluster"
BROKERS = 3
NODE_PORT_STEP = 10
BROKER_PORTS = {n: CLUSTER_BASE + 92 + (n - 1) * NODE_PORT_STEP for n in range(1, BROKERS + 1)}
#: Node 3 runs in a network namespace of its own (kafka.sh partition/heal); every node listens on
#: its veth pair's addresses, node 3 on .2 and the others on .1 (deploy/local/env.sh).
PARTITION_NODE = 3
NETNS_NET = f"10.{(CLUSTER_BASE + 92) // 256}.{(CLUSTER_BASE + 92) % 256}"  # as deploy/local/env.sh
BROKER_HOSTS = {n: f"{NETNS_NET}.2" if n == PARTITION_NODE else f"{NETNS_NET}.1" for n in BROKER_PORTS}
CLUSTER_ENV = {
    **stack_env(CLUSTER_BASE, CLUSTER_HOME),
    "CSP_KAFKA_BROKERS": str(BROKERS),
    "CSP_KAFKA_NODE_PORT_STEP": str(NODE_PORT_STEP),
    "CSP_KAFKA_NODE_HEAP": "384m",
    "CSP_KAFKA_REPLICATION": "3",
    "CSP_KAFKA_MIN_INSYNC": "2",
    "CSP_KAFKA_PARTITION_NODE": str(PARTITION_NODE),
    "CSP_KAFKA_NETNS_NET": NETNS_NET,
    "CSP_KAFKA_BOOTSTRAP": ",".join(f"{BROKER_HOSTS[n]}:{p}" for n, p in BROKER_PORTS.items()),
    "CSP_MAPPING_RULES": str(CLUSTER_HOME / "rules.yaml"),
}


def cluster_requested(config: pytest.Config) -> bool:
    """The session was started for the cluster tests: a path argument lies inside tests/cluster."""
    for arg in config.args:
        path = Path(arg.split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.name.startswith("test_") and not cluster_requested(config):
        return True
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "cluster: runs the platform on a three-broker Kafka cluster and breaks brokers or "
        "workers under a load of 20,000 events (slow; make test-cluster)",
    )


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    """The ledgers of this session's cluster scenarios, whatever pytest captured."""
    if not cluster_requested(config) or not harness.LEDGERS:
        return
    terminalreporter.section("cluster ledgers")
    for ledger in harness.LEDGERS:
        terminalreporter.write_line(ledger.table())
    terminalreporter.write_line(f"(JSON in {harness.ARTIFACTS})")


@pytest.fixture(scope="session")
def test_env() -> dict[str, str]:
    """The session's environment, pointed at the cluster stack (the shared fixtures read it)."""
    TEST_ENV.update(CLUSTER_ENV)
    harness.TEST_HOME = CLUSTER_HOME  # the CPU accounting reads the cluster's pid files
    for k, v in TEST_ENV.items():
        os.environ[k] = v
    return TEST_ENV


def in_sync_gaps() -> list[str]:
    """Partitions of the platform's topics (and the consumer offsets) without a leader or with a
    replica out of the in-sync set."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=CLUSTER_ENV["CSP_KAFKA_BOOTSTRAP"], request_timeout_ms=5000)
    try:
        gaps = []
        for topic in admin.describe_topics():
            for p in topic["partitions"]:
                if p["leader_id"] < 0 or set(p["isr_nodes"]) != set(p["replica_nodes"]):
                    gaps.append(f"{topic['name']}/{p['partition_index']}")
        return gaps
    finally:
        admin.close()


def wait_in_sync(timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    gaps: list[str] | str = []
    while time.monotonic() < deadline:
        try:
            gaps = in_sync_gaps()
        except Exception as exc:  # noqa: BLE001 - a node still joining: look again
            gaps = repr(exc)
        if not gaps:
            return
        time.sleep(2)
    raise AssertionError(f"cluster not fully in sync after {timeout}s: {gaps}")


def restore_cluster() -> None:
    """Start whatever is not running (each script leaves running parts alone), join a partitioned
    node again, wait until every replica is back in sync and every service is ready."""
    run("postgres.sh", "start", timeout=120)
    run("kafka.sh", "start", timeout=300)
    run("kafka.sh", "heal", str(PARTITION_NODE))  # a partition a failed test left behind
    wait_in_sync()
    run("services.sh", "start", timeout=300)


@pytest.fixture
def whole_cluster(stack):
    """The cluster stack running and in sync before the test, and again after it."""
    restore_cluster()
    yield stack
    restore_cluster()
