"""Gunicorn's settings for the HTTP services (intake, alerts-api, reporting).

    python -m services.<name> api --host H --port P [--workers N] [other gunicorn options]

services.common.entry runs gunicorn with this module (``-c python:services.common.gunicorn_conf``)
on ``services.<name>.api:app``. Gunicorn's master starts the workers, starts a worker again when
one dies, and on SIGTERM stops them gracefully. What these settings add to gunicorn's defaults:

* each worker listens on the port with a socket of its own (``reuse_port``, SO_REUSEPORT), so the
  kernel spreads connections evenly over the workers (with one socket shared, whichever worker
  woke first took most of them);
* the workers are uvicorn's (uvicorn-worker) as the services ran under uvicorn alone: no access
  log, idle keep-alive connections closed after :data:`keepalive` seconds; on SIGTERM a worker
  stops accepting, gives requests in flight :data:`DRAIN_S` seconds and runs the app's shutdown;
  the master SIGKILLs a worker still there after ``graceful_timeout``;
* prometheus_client's multiprocess mode, set up as its documentation says for gunicorn: a fresh
  ``PROMETHEUS_MULTIPROC_DIR`` for each start (:func:`on_starting`), and
  ``multiprocess.mark_process_dead`` for each worker that exits (:func:`child_exit`);
  services.common.metrics reports every worker's values on any worker's ``/metrics``;
* a worker stops when the master dies, even SIGKILLed (:func:`post_worker_init`): uvicorn's
  workers do not watch their parent as gunicorn's own do, and one left behind keeps the port;
* a port another program holds stops the start at once (:func:`on_starting`) rather than
  leaving workers failing to bind and started again forever;
* no control socket: several masters run side by side as one user, and its default path is one
  per user.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import sys
import tempfile

from uvicorn_worker import UvicornWorker

from services.common import logs
from services.common.procs import running

#: Seconds a stopping worker gives requests in flight: more than a partner's post may wait for
#: Kafka's acknowledgement (intake's produce timeout); a server-sent event stream ends then.
DRAIN_S = 10

worker_class = "services.common.gunicorn_conf.Worker"
reuse_port = True
graceful_timeout = DRAIN_S + 10  # the drain, then the app's shutdown (producer, pools)
keepalive = 5
control_socket_disable = True
# The service's own JSON lines (services.common.logs), gunicorn's among them.
_LEVEL = os.environ.get("CSP_LOG_LEVEL", "INFO").upper()
logconfig_dict = logs.dict_config(os.environ.get("CSP_HTTP_SERVICE", "http"), _LEVEL)
logconfig_dict["loggers"].update(
    {name: {"level": _LEVEL, "propagate": True} for name in ("gunicorn.error", "gunicorn.access")}
)

#: A start's exit status when the port is taken (gunicorn's own for a worker that cannot boot).
PORT_TAKEN = 3
#: The start of the metrics directories made here, followed by the master's pid.
OWN_PREFIX = "csp-metrics-"

_PR_SET_PDEATHSIG = 1
#: The metrics directory :func:`on_starting` made (none when the operator gave one).
_own_dir: str | None = None


class Worker(UvicornWorker):
    """uvicorn-worker's worker with the services' uvicorn settings (its documented way: a
    subclass setting ``CONFIG_KWARGS``)."""

    CONFIG_KWARGS = {**UvicornWorker.CONFIG_KWARGS, "access_log": False, "timeout_graceful_shutdown": DRAIN_S}


def on_starting(server) -> None:
    """In the master, before any worker: refuse a port held by another program; then a fresh
    metrics directory (read by the workers' prometheus_client at import)."""
    for address in server.cfg.address:
        if isinstance(address, tuple) and not _can_share(address):
            server.log.error("port taken by a socket that does not share it: %s", address)
            sys.exit(PORT_TAKEN)
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        # Values left by an earlier run would be added to this one's: its files go (and only
        # those: the directory is the operator's).
        os.makedirs(given, exist_ok=True)
        for name in os.listdir(given):
            if name.endswith(".db"):
                os.unlink(os.path.join(given, name))
        return
    _remove_orphaned_dirs()
    global _own_dir
    _own_dir = tempfile.mkdtemp(prefix=f"{OWN_PREFIX}{os.getpid()}-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _own_dir


def on_exit(server) -> None:
    """The metrics directory made by :func:`on_starting` goes with the master."""
    if _own_dir:
        shutil.rmtree(_own_dir, ignore_errors=True)


def child_exit(server, worker) -> None:
    """prometheus_client's documented gunicorn hook: a worker that exited, however it did, no
    longer counts in the live gauges (its counters and histograms stay in the totals).
    Imported here, not above: prometheus_client chooses its kind of values at import, and the
    workers (forked from this process) must import it after :func:`on_starting` set the
    directory."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker) -> None:
    """In each worker, once it has loaded the app: SIGTERM (a graceful stop) when the master
    dies; and if the master died already, stop now."""
    end_with_parent(worker.ppid)


def end_with_parent(parent: int) -> None:
    """Have the kernel send this process SIGTERM when its parent dies (Linux's
    PR_SET_PDEATHSIG; elsewhere nothing). ``parent``: the pid this process was started by; if
    its parent is already another, it exits at once. (Not "the parent is pid 1": in a container
    the master is pid 1.)"""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:
        sys.exit(0)


def _can_share(address: tuple) -> bool:
    """True if a socket with SO_REUSEPORT can bind ``address`` (as every worker's will)."""
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            probe.bind(address[:2])
        except OSError:
            return False
    return True


def _remove_orphaned_dirs() -> None:
    """Remove the metrics directories of masters that are gone without removing theirs
    (SIGKILLed, say): this user's, under the temporary directory, with a pid no longer running."""
    base = tempfile.gettempdir()
    for name in os.listdir(base):
        if not name.startswith(OWN_PREFIX):
            continue
        path = os.path.join(base, name)
        pid = name[len(OWN_PREFIX) :].split("-", 1)[0]
        try:
            mine = os.stat(path).st_uid == os.getuid()
        except OSError:
            continue
        if mine and pid.isdigit() and not running(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
