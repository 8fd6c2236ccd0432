"""services.intake.serve: the supervisor's answers when its workers cannot start."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from tests.stackenv import REPO


def serve(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    return subprocess.run([sys.executable, "-m", "services.intake.serve", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env={**env, "PYTHONPATH": str(REPO)})


def test_workers_that_cannot_listen_stop_the_service_with_uvicorns_startup_failure_status():
    # The port is held by a socket without SO_REUSEPORT: no worker can share it.
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", 0))
    holder.listen()
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
