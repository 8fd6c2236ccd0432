"""Intake served by several worker processes on one port (gunicorn, services/common/gunicorn_conf.py),
against the real Kafka and PostgreSQL: the workers answer as one service (idempotency, metrics), a
worker that dies is replaced, and no worker outlives gunicorn's master."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest

from contracts.topics import FINDINGS
from tests.conftest import TEST_ENV, TEST_HOME, http_json, run, url, wait_until
from tests.gunicorn_procs import alive, metrics_dir, workers
from tests.integration.kafka_probe import with_header
from tests.integration.test_intake import finding, post
from tests.metrics_text import series

pytestmark = pytest.mark.integration

WORKERS = int(TEST_ENV["CSP_INTAKE_WORKERS"])


def master() -> int:
    """intake's gunicorn master: the pid services.sh recorded."""
    return int((TEST_HOME / "run" / "intake.pid").read_text())


def scrape() -> dict[str, float]:
    """intake's /metrics as {series: value}, on a connection of its own (any worker may answer)."""
    import urllib.request

    with urllib.request.urlopen(url("intake", "/metrics"), timeout=10) as r:
        return series(r.read().decode())


ACCEPTED = 'csp_intake_events_total{outcome="accepted",reason="none",type="finding"}'
DUPLICATE = 'csp_intake_events_total{outcome="duplicate",reason="none",type="finding"}'


def accepted_by_worker(pids: list[int]) -> dict[int, float]:
    """Findings each worker accepted, from the files it keeps its metrics in."""
    import json

    from prometheus_client.mmap_dict import MmapedDict

    folder = metrics_dir(master())
    out = {}
    for pid in pids:
        out[pid] = sum(
            value
            for key, value, *_ in MmapedDict.read_all_values_from_file(f"{folder}/counter_{pid}.db")
            if json.loads(key)[1] == "csp_intake_events_total"
            and json.loads(key)[2] == {"type": "finding", "outcome": "accepted", "reason": "none"}
        )
    return out


def test_the_stack_runs_intake_with_the_configured_workers_and_all_of_them_serve(keys):
    assert WORKERS >= 2, "the test stack runs intake as the local stack does: more than one worker"
    pids = workers(master())
    assert len(pids) == WORKERS
    before = accepted_by_worker(pids)
    # Each request on a connection of its own (urllib keeps none): the kernel hands each new
    # connection to one of the workers' sockets.
    bodies = [finding() for _ in range(60)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda b: post("/v1/findings", b, keys["pattigift"]), bodies))
    assert [a[0] for a in answers] == [202] * len(bodies)
    after = accepted_by_worker(pids)
    served = {pid: after[pid] - before[pid] for pid in pids}
    assert sum(served.values()) == 60
    assert all(n > 0 for n in served.values()), served
    # Each worker listens with a socket of its own (SO_REUSEPORT) and the kernel hashes each
    # connection to one of them: evenly, give or take chance. (One shared socket gave 38 of 50
    # connections to one worker.) With two workers, more than 45 of 60 on one has odds of 1 in
    # 20,000.
    assert max(served.values()) <= 60 * 3 / 4 if WORKERS == 2 else True, served


def test_metrics_count_every_workers_events_whichever_worker_answers_the_scrape(keys):
    start = scrape()
    bodies = [finding() for _ in range(40)]
    with ThreadPoolExecutor(8) as pool:
        statuses = [a[0] for a in pool.map(lambda b: post("/v1/findings", b, keys["pattigift"]), bodies)]
    assert statuses == [202] * 40
    with ThreadPoolExecutor(4) as pool:  # replays: duplicates, counted once each
        statuses = [a[0] for a in pool.map(lambda b: post("/v1/findings", b, keys["pattigift"]), bodies[:10])]
    assert statuses == [200] * 10
    # Ten scrapes on ten connections: the same totals from any worker.
    for _ in range(10):
        now = scrape()
        assert now[ACCEPTED] - start[ACCEPTED] == 40
        assert now[DUPLICATE] - start.get(DUPLICATE, 0) == 10
        assert [v for k, v in now.items() if k.startswith("csp_build_info{") and 'component="intake"' in k] == [1]
    # In flight, summed over the workers: this scrape alone, once the last answers' bookkeeping
    # (after their bodies went out) is done.
    wait_until(lambda: scrape()["csp_http_requests_in_flight"] == 1, timeout=10, what="one request in flight")


def test_copies_of_an_event_sent_at_once_to_any_worker_are_published_once(keys):
    """Ten copies at the same moment, each on its own connection: one is accepted, and the nine
    others wait for its outcome and answer it as duplicates, rather than publishing it again."""
    for _ in range(3):
        body = finding()
        with ThreadPoolExecutor(10) as pool:
            answers = list(pool.map(lambda _, body=body: post("/v1/findings", body, keys["pattigift"]), range(10)))
        statuses = sorted(a[0] for a in answers)
        assert statuses == [200] * 9 + [202], [a[2] for a in answers]
        where = {(a[2]["topic"], a[2]["partition"], a[2]["offset"]) for a in answers}
        assert len(where) == 1, "every copy answers the one acceptance"
        assert len(with_header(FINDINGS.name, "ce_id", body["event_id"])) == 1


def test_a_replay_right_after_the_acceptance_is_a_duplicate_on_any_worker(keys):
    for _ in range(20):
        body = finding()
        first = post("/v1/findings", body, keys["pattigift"])
        again = post("/v1/findings", body, keys["pattigift"])
        assert (first[0], again[0]) == (202, 200), again[2]
        assert again[2]["offset"] == first[2]["offset"]


def test_a_killed_worker_is_replaced_and_its_gauges_leave_with_it(keys):
    victim = workers(master())[0]
    before = scrape()
    os.kill(victim, signal.SIGKILL)

    def replaced_by_another() -> list[int] | None:
        now = workers(master())
        return now if len(now) == WORKERS and victim not in now else None

    replaced = wait_until(replaced_by_another, timeout=30, what="gunicorn to start a worker in the killed one's place")
    wait_until(lambda: http_json("GET", url("intake", "/readyz"))[0] == 200, timeout=60, what="intake ready")
    body = finding()
    assert post("/v1/findings", body, keys["pattigift"])[0] == 202
    pool_max = int(TEST_ENV.get("CSP_PG_POOL_MAX", "10"))
    # The dead worker's pool gauge is forgotten (gunicorn_conf.child_exit): the live workers'
    # pools only. (Each worker
    # brings its own up to date every few seconds, services.common.metrics.POOL_REFRESH_S.)
    wait_until(
        lambda: scrape()["csp_pg_pool_max_connections"] == WORKERS * pool_max,
        timeout=30,
        what=f"pool capacity of {WORKERS} live workers",
    )
    # Counters keep the dead worker's share: totals never go down.
    assert scrape()[ACCEPTED] >= before[ACCEPTED] + 1
    assert all(alive(p) for p in replaced)


def test_no_worker_outlives_its_master():
    """SIGKILL to gunicorn's master alone (an out-of-memory kill, say): the kernel stops its
    workers (gunicorn_conf.post_worker_init), which would otherwise keep the port."""
    pid = master()
    pids = workers(pid)
    try:
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not any(alive(p) for p in pids), timeout=30, what="the workers to stop")
    finally:
        run("services.sh", "start", "intake", timeout=300)
    assert len(workers(master())) == WORKERS


def test_services_kill_takes_the_workers_with_the_master():
    pids = workers(master())
    try:
        run("services.sh", "kill", "intake")
        assert not any(alive(p) for p in pids)
    finally:
        run("services.sh", "start", "intake", timeout=300)
    assert http_json("GET", url("intake", "/readyz"))[0] == 200
