"""services.common.gunicorn_conf: gunicorn and uvicorn's workers as the HTTP services run them,
on a minimal app (tests/unit/common/pid_app.py): workers on sockets of their own, metrics summed
over them, a dead worker replaced, none outliving the master, and the answers at start-up."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.gunicorn_procs import alive, metrics_dir, workers
from tests.metrics_text import series
from tests.stackenv import REPO

START = (
    "import sys; from services.common.entry import serve_http; "
    "sys.exit(serve_http('tests.unit.common.pid_app:app', sys.argv[1:], 'test'))"
)


def start(*args: str, **extra: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    return subprocess.Popen(
        [sys.executable, "-c", START, *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**env, "PYTHONPATH": str(REPO), **extra},
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str = "/") -> str:
    """One request on a connection of its own."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        return r.read().decode()


def wait(check, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if found := check():
                return found
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout}s")


@pytest.fixture(scope="module")
def server():
    port = free_port()
    master = start("--port", str(port), "--workers", "2")
    try:
        wait(lambda: len(workers(master.pid)) == 2 and get(port, "/metrics"))
        yield master, port
    finally:
        master.kill()
        master.wait()


def test_each_worker_serves_and_any_worker_reports_every_workers_counts(server):
    master, port = server
    pids = workers(master.pid)
    answered = [int(get(port)) for _ in range(60)]
    assert set(answered) == set(pids), "each worker listens with a socket of its own"
    # Each worker's socket (SO_REUSEPORT) gets a share of the connections from the kernel: more
    # than 50 of 60 on one of two has odds of about 1 in 10^7.
    assert max(answered.count(p) for p in pids) <= 50
    for _ in range(6):
        assert series(get(port, "/metrics"))['csp_http_requests_total{method="GET",route="/",status="200"}'] == 60


def test_a_killed_worker_is_replaced_and_only_its_live_gauges_are_forgotten(server):
    master, port = server
    folder = metrics_dir(master.pid)
    victim = workers(master.pid)[0]
    assert (folder / f"gauge_livesum_{victim}.db").exists()
    os.kill(victim, signal.SIGKILL)
    replaced = wait(lambda: (lambda now: now if len(now) == 2 and victim not in now else None)(workers(master.pid)))
    wait(lambda: get(port))
    assert not (folder / f"gauge_livesum_{victim}.db").exists()  # gunicorn's child_exit hook
    assert (folder / f"counter_{victim}.db").exists()  # its counts stay in the totals
    assert all(alive(p) for p in replaced)


def test_no_worker_outlives_a_sigkilled_master(server):
    master, port = server
    pids = workers(master.pid)
    master.kill()
    master.wait()
    wait(lambda: not any(alive(p) for p in pids), timeout=15)
    with pytest.raises(OSError):
        get(port)


def test_without_the_hook_uvicorns_workers_outlive_a_sigkilled_master():
    """Why post_worker_init is there: uvicorn-worker's workers, unlike gunicorn's own, do not
    check that their parent is still the master. If this fails, uvicorn-worker watches its
    parent now, and the hook can go."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    master = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:tests.unit.common.gunicorn_conf_unwatched",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "tests.unit.common.pid_app:app",
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**env, "PYTHONPATH": str(REPO)},
    )
    pids: list[int] = []
    try:
        pids = wait(lambda: len(workers(master.pid)) == 2 and get(port) and workers(master.pid))
        master.kill()
        master.wait()
        time.sleep(3)
        assert all(alive(p) for p in pids)
        assert int(get(port)) in pids  # and they still serve the port
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_sigterm_stops_the_workers_and_the_master_removes_its_metrics_directory():
    port = free_port()
    master = start("--port", str(port), "--workers", "2")
    try:
        wait(lambda: len(workers(master.pid)) == 2 and get(port))
        folder = metrics_dir(master.pid)
        assert folder.is_dir()
        master.send_signal(signal.SIGTERM)
        assert master.wait(timeout=40) == 0
    finally:
        master.kill()
    assert not folder.exists()


def held_port() -> socket.socket:
    """A listening socket without SO_REUSEPORT: no worker can share its port."""
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    return holder


def run_on_held_port(*args: str, **extra: str) -> tuple[int, str]:
    holder = held_port()
    try:
        master = start("--port", str(holder.getsockname()[1]), *args, **extra)
        out, _ = master.communicate(timeout=30)
    finally:
        holder.close()
    return master.returncode, out


def test_a_port_held_by_another_program_stops_the_start_at_once():
    began = time.monotonic()
    status, out = run_on_held_port("--workers", "2")
    assert status == 3, out
    assert "port taken" in out and "Booting worker" not in out
    assert time.monotonic() - began < 15


def test_a_metrics_directory_given_is_emptied_of_an_earlier_runs_values_and_nothing_else(tmp_path):
    (tmp_path / "counter_123.db").write_bytes(b"stale")
    (tmp_path / "notes.txt").write_text("the operator's")
    port = free_port()
    master = start("--port", str(port), PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    try:
        wait(lambda: get(port))
        assert not (tmp_path / "counter_123.db").exists()
        assert (tmp_path / "notes.txt").read_text() == "the operator's"
        assert metrics_dir(master.pid) == tmp_path
    finally:
        master.terminate()
        master.wait(timeout=40)
    assert tmp_path.is_dir()  # the operator's: it stays


def test_the_metrics_directories_of_masters_that_are_gone_are_removed(tmp_path):
    gone = tmp_path / "csp-metrics-999999999-abc"  # no such pid
    gone.mkdir()
    (gone / "counter_1.db").write_bytes(b"stale")
    running = tmp_path / f"csp-metrics-{os.getpid()}-def"  # this test's own process
    running.mkdir()
    other = tmp_path / "something-else"
    other.mkdir()
    port = free_port()
    master = start("--port", str(port), TMPDIR=str(tmp_path))
    try:
        wait(lambda: get(port))
        assert not gone.exists() and running.exists() and other.exists()
    finally:
        master.terminate()
        master.wait(timeout=40)
    # and the master removed its own on the way out
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([running.name, other.name])


def test_a_worker_whose_master_is_already_gone_stops_at_once():
    code = (
        "import os, sys, time; from services.common.gunicorn_conf import end_with_parent; "
        "end_with_parent(int(sys.argv[1])); time.sleep(0.5); print('still here')"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    parent = os.getpid()  # the child's parent: this process
    kept = subprocess.run(
        [sys.executable, "-c", code, str(parent)], cwd=REPO, env=env, capture_output=True, text=True, timeout=30
    )
    assert kept.returncode == 0 and "still here" in kept.stdout
    # Started by this process but told another: as if its master had died meanwhile.
    ended = subprocess.run(
        [sys.executable, "-c", code, str(parent + 1_000_000)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert ended.returncode == 0 and "still here" not in ended.stdout
