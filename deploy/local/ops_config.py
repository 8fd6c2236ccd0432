"""Prometheus's and Alertmanager's configuration for one local stack, from the repository's files.

    python -m deploy.local.ops_config prometheus OUT     # deploy/prometheus/prometheus.yml
    python -m deploy.local.ops_config alertmanager OUT   # deploy/alertmanager/alertmanager.yml

The checked-in files name the default ports of deploy/local/env.sh; a stack may run on others
(the test stacks do). This moves every scrape target, the Alertmanager address and the receiver's
URL to the ports in the environment (the CSP_*_PORT variables), and points ``rule_files`` at the
absolute paths of the rules. deploy/local/ops.sh writes the result under $CSP_HOME/ops.

CSP_PROMETHEUS_RULES_DIR (default deploy/prometheus/rules) reads the rules from another folder of
the same files; CSP_PROMETHEUS_INTERVAL (unset: the file's own) sets the scrape and evaluation
interval.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit, urlunsplit

import yaml

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_FILE = REPO / "deploy" / "prometheus" / "prometheus.yml"
ALERTMANAGER_FILE = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
#: Scrape jobs that are not one of the platform's processes, and the setting holding their port.
OPS_JOB_PORTS = {"kafka": "CSP_KAFKA_METRICS_PORT", "prometheus": "CSP_PROMETHEUS_PORT"}
ALERTMANAGER_PORT = "CSP_ALERTMANAGER_PORT"
RECEIVER_PORT = "CSP_ALERTMANAGER_RECEIVER_PORT"


def port_variable(job: str) -> str:
    """The deploy/local/env.sh setting holding a scrape job's port: csp-alerts-api ->
    CSP_ALERTS_API_PORT, kafka -> CSP_KAFKA_METRICS_PORT (the broker's JMX exporter)."""
    if job in OPS_JOB_PORTS:
        return OPS_JOB_PORTS[job]
    if not job.startswith("csp-"):
        raise KeyError(f"scrape job {job} has no port setting")
    return "CSP_" + job.removeprefix("csp-").upper().replace("-", "_") + "_PORT"


def _port(env: Mapping[str, str], var: str) -> int:
    if var not in env:
        raise KeyError(f"{var} is not set (deploy/local/env.sh sets it)")
    return int(env[var])


def prometheus_config(env: Mapping[str, str], rules_dir: Path | None = None, interval: str | None = None) -> dict:
    """deploy/prometheus/prometheus.yml with every target at this stack's ports."""
    doc = yaml.safe_load(PROMETHEUS_FILE.read_text())
    rules = Path(rules_dir) if rules_dir else PROMETHEUS_FILE.parent / "rules"
    doc["rule_files"] = [str((rules / Path(p).name).resolve()) for p in doc.get("rule_files", [])]
    if interval:
        doc["global"].update(scrape_interval=interval, evaluation_interval=interval, scrape_timeout=interval)
    for job in doc["scrape_configs"]:
        port = _port(env, port_variable(job["job_name"]))
        for static in job["static_configs"]:
            static["targets"] = [f"127.0.0.1:{port}"]
    alertmanager = f"127.0.0.1:{_port(env, ALERTMANAGER_PORT)}"
    for manager in doc.get("alerting", {}).get("alertmanagers", []):
        for static in manager.get("static_configs", []):
            static["targets"] = [alertmanager]
    return doc


def alertmanager_config(env: Mapping[str, str]) -> dict:
    """deploy/alertmanager/alertmanager.yml with its webhooks at this stack's receiver port."""
    doc = yaml.safe_load(ALERTMANAGER_FILE.read_text())
    port = _port(env, RECEIVER_PORT)
    for receiver in doc.get("receivers", []):
        for hook in receiver.get("webhook_configs", []):
            parts = urlsplit(hook["url"])
            hook["url"] = urlunsplit(parts._replace(netloc=f"127.0.0.1:{port}"))
    return doc


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("prometheus", "alertmanager"):
        print(__doc__, file=sys.stderr)
        return 2
    what, out = argv
    if what == "prometheus":
        doc = prometheus_config(
            os.environ,
            os.environ.get("CSP_PROMETHEUS_RULES_DIR") or None,
            os.environ.get("CSP_PROMETHEUS_INTERVAL") or None,
        )
    else:
        doc = alertmanager_config(os.environ)
    Path(out).write_text(yaml.safe_dump(doc, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
