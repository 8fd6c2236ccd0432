"""Serve intake with one or more worker processes on one port.

    python -m services.intake.serve --port 8081              # workers: CSP_INTAKE_WORKERS (1)
    python -m services.intake.serve --port 8081 --workers 2

One intake process uses one core: its work per event (validation, the checks, the canonical JSON,
the Kafka client) is Python. With ``--workers N`` uvicorn's supervisor starts N workers that accept
connections from one listening socket, restarts a worker that dies, and on SIGTERM stops them all,
each draining its requests in flight. What the workers share, and how:

* the idempotency ledger is PostgreSQL's: a replay or a copy of an event sent at the same time
  reaches whichever worker, and is answered from the ledger (service.IntakeService.admit waits
  for a copy still being published elsewhere rather than publishing it twice);
* metrics: prometheus_client's multiprocess mode (services.common.metrics); ``/metrics`` on any
  worker reports all of them. This module gives each start a fresh directory for it;
* the per-key rate limit is kept by each worker: with N workers a key may reach up to N times
  the configured rate (deploy/README-ops.md).

Each worker is told by the kernel to stop when the supervisor dies (a SIGKILLed supervisor leaves
no worker holding the port).
"""
from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import signal
import sys
import tempfile

#: The app each worker builds: services.intake.app's, in a worker that ends with its supervisor.
WORKER_APP = "services.intake.serve:worker_app"
_PR_SET_PDEATHSIG = 1


def worker_app():
    """uvicorn's app factory in each worker."""
    end_with_parent()
    from services.intake.app import create_app
    return create_app()


def end_with_parent() -> None:
    """SIGTERM this process when the one that started it dies (Linux; elsewhere nothing)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:       # the supervisor died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def serve(app: str, host: str, port: int, workers: int, factory: bool = False,
          graceful_s: int = 20, log_level: str = "INFO") -> None:
    """Run ``app`` (an import string, ``module:attribute``) on ``host:port`` with ``workers``
    processes; one runs it in this process."""
    import uvicorn

    from services.common import logs
    logs.configure("intake", log_level)
    own_dir = None
    if workers > 1:
        # Before any worker imports prometheus_client: they read the variable at import.
        metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if metrics_dir:
            # Values left by an earlier run would be added to this one's.
            shutil.rmtree(metrics_dir, ignore_errors=True)
            os.makedirs(metrics_dir)
        else:
            metrics_dir = own_dir = tempfile.mkdtemp(prefix="csp-intake-metrics-")
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        uvicorn.run(app, host=host, port=port, workers=workers, factory=factory, log_config=None,
                    access_log=False, timeout_graceful_shutdown=graceful_s)
    finally:
        if own_dir:
            shutil.rmtree(own_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    from .config import IntakeSettings
    settings = IntakeSettings()
    parser = argparse.ArgumentParser(prog="python -m services.intake.serve", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=settings.intake_port)
    parser.add_argument("--workers", type=int, default=settings.intake_workers,
                        help="worker processes (default: CSP_INTAKE_WORKERS, %(default)s)")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.workers == 1:
        serve("services.intake.app:app", args.host, args.port, 1, log_level=settings.log_level)
    else:
        serve(WORKER_APP, args.host, args.port, args.workers, factory=True, log_level=settings.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
