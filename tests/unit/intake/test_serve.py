"""services.intake.serve: the supervisor's answers when its workers cannot start."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from tests.stackenv import REPO


def serve(*args: str, timeout: float = 60, **extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    return subprocess.run([sys.executable, "-m", "services.intake.serve", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env={**env, "PYTHONPATH": str(REPO), **extra})


def held_port() -> socket.socket:
    """A listening socket without SO_REUSEPORT: no worker can share its port."""
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    return holder


def test_workers_that_cannot_listen_stop_the_service_with_uvicorns_startup_failure_status():
    holder = held_port()
    port = holder.getsockname()[1]
    began = time.monotonic()
    try:
        done = serve("--port", str(port), "--workers", "2")
    finally:
        holder.close()
    assert done.returncode == 3, done.stdout + done.stderr
    assert "cannot listen" in done.stdout and "failed to start" in done.stdout
    assert time.monotonic() - began < 30       # it gives up, rather than starting workers forever


def test_fewer_than_one_worker_is_refused():
    done = serve("--workers", "0")
    assert done.returncode == 2 and "--workers must be at least 1" in done.stderr


def test_a_metrics_directory_given_is_emptied_of_an_earlier_runs_values_and_nothing_else(tmp_path):
    (tmp_path / "counter_123.db").write_bytes(b"stale")
    (tmp_path / "notes.txt").write_text("the operator's")
    holder = held_port()
    try:
        done = serve("--port", str(holder.getsockname()[1]), "--workers", "2",
                     PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    finally:
        holder.close()
    assert done.returncode == 3
    assert not (tmp_path / "counter_123.db").exists()
    assert (tmp_path / "notes.txt").read_text() == "the operator's"


def test_the_metrics_directories_of_supervisors_that_are_gone_are_removed(tmp_path):
    gone = tmp_path / "csp-intake-metrics-999999999-abc"      # no such pid
    gone.mkdir()
    (gone / "counter_1.db").write_bytes(b"stale")
    alive = tmp_path / f"csp-intake-metrics-{os.getpid()}-def"  # this test's own process
    alive.mkdir()
    other = tmp_path / "something-else"
    other.mkdir()
    holder = held_port()
    try:
        done = serve("--port", str(holder.getsockname()[1]), "--workers", "2", TMPDIR=str(tmp_path))
    finally:
        holder.close()
    assert done.returncode == 3
    assert not gone.exists() and alive.exists() and other.exists()
    # and the supervisor removed its own on the way out
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, other.name])


def test_a_process_asking_to_end_with_its_parent_ends_at_once_if_that_parent_is_already_gone():
    code = ("import os, sys, time; from services.intake.serve import end_with_parent; "
            "end_with_parent(int(sys.argv[1])); time.sleep(0.5); print('still here')")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    parent = os.getpid()           # the child's parent: this process
    kept = subprocess.run([sys.executable, "-c", code, str(parent)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=30)
    assert kept.returncode == 0 and "still here" in kept.stdout
    # Started by this process but told another: as if its supervisor had died meanwhile.
    ended = subprocess.run([sys.executable, "-c", code, str(parent + 1_000_000)], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=30)
    assert ended.returncode == -15 and "still here" not in ended.stdout
