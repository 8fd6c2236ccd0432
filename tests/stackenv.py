"""Environments for running the platform's own scripts on a port base of their own.

Ports derive from one base: Kafka base+92/base+93, PostgreSQL base-3568, services base-919 ...
base-914 (intake, mapping, alerts, reporting, reporting-worker, alerts-api), webhook receivers
base-880 ... base-861, operations (deploy/local/ops.sh) base+94 ... base+97 (Kafka's JMX exporter,
Prometheus, Alertmanager, Alertmanager's receiver). The default test
base 29000 gives Kafka 29092/29093, PostgreSQL 25432 and services 28081-28086.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def receiver_ports(base: int) -> range:
    """Loopback ports of the stack's own webhook receivers (base-880 .. base-861): the alerts API
    calls these and no other internal address (CSP_ALERTS_WEBHOOK_RECEIVERS)."""
    return range(base - 880, base - 860)


def bind_receiver_port(base: int) -> int:
    """A free port from the stack's receiver pool, to serve a test's webhook receiver on."""
    for port in receiver_ports(base):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"every webhook receiver port of base {base} is in use")


def stack_env(base: int, home: Path) -> dict[str, str]:
    return {
        "CSP_ALERTS_WEBHOOK_RECEIVERS": ",".join(f"127.0.0.1:{p}" for p in receiver_ports(base)),
        "CSP_HOME": str(home),
        "CSP_KAFKA_PORT": str(base + 92),
        "CSP_KAFKA_CONTROLLER_PORT": str(base + 93),
        "CSP_PG_PORT": str(base - 3568),
        "CSP_INTAKE_PORT": str(base - 919),
        # As deploy/local/env.sh: intake's worker processes, one per core of a two-core machine.
        "CSP_INTAKE_WORKERS": os.environ.get("CSP_INTAKE_WORKERS", "2"),
        "CSP_MAPPING_PORT": str(base - 918),
        "CSP_ALERTS_PORT": str(base - 917),
        "CSP_REPORTING_PORT": str(base - 916),
        "CSP_REPORTING_WORKER_PORT": str(base - 915),
        "CSP_ALERTS_API_PORT": str(base - 914),
        "CSP_INTAKE_URL": f"http://127.0.0.1:{base - 919}",
        "CSP_ALERTS_API_URL": f"http://127.0.0.1:{base - 914}",
        "CSP_KAFKA_METRICS_PORT": str(base + 94),
        "CSP_PROMETHEUS_PORT": str(base + 95),
        "CSP_ALERTMANAGER_PORT": str(base + 96),
        "CSP_ALERTMANAGER_RECEIVER_PORT": str(base + 97),
        "CSP_KAFKA_BOOTSTRAP": f"127.0.0.1:{base + 92}",
        "CSP_PG_DSN": f"postgresql://csp:csp-local-only@127.0.0.1:{base - 3568}/csp",
        "CSP_KAFKA_HEAP": "512m",
    }


def run_script(env: dict[str, str], script: str, *args: str, timeout: int = 600) -> str:
    """Run one of deploy/local's scripts with ``env``; raise with its output when it fails."""
    proc = subprocess.run(
        ["bash", str(REPO / "deploy" / "local" / script), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{script} {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout
