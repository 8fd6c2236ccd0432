"""What tests read of a service running under gunicorn (services/common/gunicorn_conf.py), from
/proc: its master's workers, whether a process is alive, the master's metrics directory."""

from __future__ import annotations

import tempfile
from pathlib import Path


def workers(master: int) -> list[int]:
    """The master's worker processes (gunicorn's master starts no other children)."""
    return [int(c) for c in Path(f"/proc/{master}/task/{master}/children").read_text().split()]


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, exited but not yet reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def metrics_dir(master: int) -> Path:
    """The master's PROMETHEUS_MULTIPROC_DIR: the one it was given, or the one it made
    (gunicorn_conf.OWN_PREFIX and its pid, under its temporary directory)."""
    environ = dict(v.split(b"=", 1) for v in Path(f"/proc/{master}/environ").read_bytes().split(b"\0") if b"=" in v)
    if b"PROMETHEUS_MULTIPROC_DIR" in environ:
        return Path(environ[b"PROMETHEUS_MULTIPROC_DIR"].decode())
    base = Path(environ.get(b"TMPDIR", tempfile.gettempdir().encode()).decode())
    [made] = base.glob(f"csp-metrics-{master}-*")
    return made
