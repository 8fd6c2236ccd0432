"""Serve intake with one or more worker processes on one port.

    python -m services.intake api --port 8081              # workers: CSP_INTAKE_WORKERS (1)
    python -m services.intake api --port 8081 --workers 2

One intake process uses one core: its work per event (validation, the checks, the canonical JSON,
the Kafka client) is Python. With ``--workers N`` this process supervises N workers: each listens
on the port with a socket of its own (SO_REUSEPORT), so the kernel spreads connections evenly
over them. (With one socket shared, as uvicorn's own ``--workers`` does, whichever worker woke
first took the connections: 38 of a load generator's 50 went to one worker, which then set the
pace.) A worker that dies is started again; on SIGTERM or SIGINT every worker is stopped, each
draining its requests in flight. What the workers share, and how:

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
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading

from services.common.procs import running

_PR_SET_PDEATHSIG = 1
#: A worker's exit status when it could not start (uvicorn's own).
STARTUP_FAILURE = 3


def end_with_parent(parent: int | None = None) -> None:
    """SIGTERM this process when the one that started it dies (Linux; elsewhere nothing).
    ``parent``: the pid it was started by, if known; when this process's parent is already
    another (it died before the request took effect), the SIGTERM comes now. (Not "the parent is
    pid 1": in a container the supervisor is pid 1.)"""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


def serve(app: str, host: str, port: int, workers: int, factory: bool = False,
          graceful_s: int = 20, log_level: str = "INFO") -> int:
    """Run ``app`` (an import string, ``module:attribute``) on ``host:port`` with ``workers``
    processes (one runs it in this process). Returns the exit status."""
    from services.common import logs
    log = logs.configure("intake", log_level)
    if workers == 1:
        return _run(app, factory, graceful_s, None, host, port)
    own_dir = None
    # Before any worker imports prometheus_client: they read the variable at import.
    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if metrics_dir:
        # Values left by an earlier run would be added to this one's: its files go (and only
        # those: the directory is the operator's).
        os.makedirs(metrics_dir, exist_ok=True)
        for name in os.listdir(metrics_dir):
            if name.endswith(".db"):
                os.unlink(os.path.join(metrics_dir, name))
    else:
        _remove_orphaned_dirs()
        metrics_dir = own_dir = tempfile.mkdtemp(prefix=f"{_OWN_PREFIX}{os.getpid()}-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        return Supervisor(workers, (app, factory, host, port, graceful_s, log_level, os.getpid()), log).run()
    finally:
        if own_dir:
            shutil.rmtree(own_dir, ignore_errors=True)


#: The start of the metrics directories serve makes itself, followed by the supervisor's pid.
_OWN_PREFIX = "csp-intake-metrics-"


def _remove_orphaned_dirs() -> None:
    """Remove the metrics directories of supervisors that are gone without removing theirs
    (SIGKILLed, say): this user's, under the temporary directory, with a pid no longer running."""
    base = tempfile.gettempdir()
    for name in os.listdir(base):
        if not name.startswith(_OWN_PREFIX):
            continue
        path = os.path.join(base, name)
        pid = name[len(_OWN_PREFIX):].split("-", 1)[0]
        try:
            mine = os.stat(path).st_uid == os.getuid()
        except OSError:
            continue
        if mine and pid.isdigit() and not running(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _run(app: str, factory: bool, graceful_s: int, sock: socket.socket | None,
         host: str = "127.0.0.1", port: int = 0) -> int:
    import uvicorn
    config = uvicorn.Config(app, host=host, port=port, factory=factory, log_config=None,
                            access_log=False, timeout_graceful_shutdown=graceful_s)
    server = uvicorn.Server(config)
    server.run(sockets=[sock] if sock is not None else None)
    return 0 if server.started else STARTUP_FAILURE


def _worker(app: str, factory: bool, host: str, port: int, graceful_s: int, log_level: str,
            supervisor: int) -> None:
    """One worker: its own listening socket on the shared port, then uvicorn on it."""
    end_with_parent(supervisor)
    from services.common import logs
    log = logs.configure("intake", log_level)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        log.error("cannot listen", extra={"port": port, "error": str(exc)})
        sys.exit(STARTUP_FAILURE)
    sys.exit(_run(app, factory, graceful_s, sock))


class Supervisor:
    """Starts ``count`` workers, starts a worker again when one dies, and stops them all on
    SIGTERM or SIGINT (SIGTERM to each: uvicorn's graceful shutdown). A worker that fails to start
    (exit status 3: its app, or the port) stops the service: it would fail the same way again."""

    def __init__(self, count: int, args: tuple, log) -> None:
        self.count, self.args, self.log = count, args, log
        self.context = multiprocessing.get_context("spawn")
        self.stopping = threading.Event()

    def _start(self):
        process = self.context.Process(target=_worker, args=self.args, name="intake-worker")
        process.start()
        return process

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stopping.set())
        workers = [self._start() for _ in range(self.count)]
        self.log.info("intake workers started", extra={"pids": ",".join(str(w.pid) for w in workers)})
        status = 0
        while not self.stopping.wait(0.5):
            for i, worker in enumerate(workers):
                if worker.is_alive():
                    continue
                if worker.exitcode == STARTUP_FAILURE:
                    self.log.error("an intake worker failed to start; stopping", extra={"pid": worker.pid})
                    status = STARTUP_FAILURE
                    self.stopping.set()
                    break
                self.log.warning("an intake worker died; starting another",
                                 extra={"pid": worker.pid, "exit_status": worker.exitcode})
                workers[i] = self._start()
        for worker in workers:
            if worker.is_alive():
                worker.terminate()                       # SIGTERM: drain, then stop
        graceful_s = self.args[4]
        for worker in workers:
            worker.join(graceful_s + 10)
            if worker.is_alive():
                worker.kill()
                worker.join()
        self.log.info("intake workers stopped")
        return status


def main(argv: list[str] | None = None) -> int:
    from .config import IntakeSettings
    settings = IntakeSettings()
    parser = argparse.ArgumentParser(prog="python -m services.intake api", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=settings.intake_port)
    parser.add_argument("--workers", type=int, default=settings.intake_workers,
                        help="worker processes (default: CSP_INTAKE_WORKERS, %(default)s)")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    return serve("services.intake.api:app", args.host, args.port, args.workers, log_level=settings.log_level)


if __name__ == "__main__":
    sys.exit(main())
