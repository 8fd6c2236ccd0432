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
