"""What operations staff see: Prometheus and Alertmanager as the stack runs them (deploy/local/ops.sh).

The module starts them with the project's own script on the test stack's ports (tests/stackenv.py),
as ``make up`` does after the services: Debian's ``prometheus`` with deploy/prometheus/prometheus.yml
moved to the stack's ports, Debian's ``prometheus-alertmanager`` with deploy/alertmanager, and the
receiver that logs each notification to $CSP_HOME/logs/alertmanager-receiver.log. Then:

- every scrape target is up: the six processes, the Kafka broker's JMX exporter agent, Prometheus;
- the project's recording and alerting rule groups are loaded and evaluate without error;
- a stopped worker raises the matching platform alert (CspServiceDown for its job) in
  Alertmanager, and the receiver logs the notification; the worker is then restarted.

Two things differ from ``make up``, both mechanical rewrites of the same files so that the test
takes seconds rather than minutes: the rules are the repository's rule files with every alerting
rule's ``for:`` rewritten to FOR (written to a temporary folder, CSP_PROMETHEUS_RULES_DIR), and
Prometheus scrapes and evaluates every INTERVAL (CSP_PROMETHEUS_INTERVAL) instead of every 15s.

Fails (never skips) when the Debian binaries are missing.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from deploy.local.ops_config import port_variable
from tests.conftest import REPO, TEST_ENV, run, wait_until
from tests.stackenv import run_script

pytestmark = pytest.mark.integration

PROM_DIR = REPO / "deploy" / "prometheus"
FOR = "10s"
INTERVAL = "2s"
PROMETHEUS = f"http://127.0.0.1:{TEST_ENV['CSP_PROMETHEUS_PORT']}"
ALERTMANAGER = f"http://127.0.0.1:{TEST_ENV['CSP_ALERTMANAGER_PORT']}"
NOTIFICATIONS = Path(TEST_ENV["CSP_HOME"]) / "logs" / "alertmanager-receiver.log"
#: The worker the test stops, and the scrape job that watches it.
WORKER, WORKER_JOB = "reporting-worker", "csp-reporting-worker"


def get(base: str, path: str, **params):
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    with urllib.request.urlopen(f"{base}{path}{query}", timeout=10) as r:
        return json.loads(r.read())


def prometheus(path: str, **params):
    body = get(PROMETHEUS, path, **params)
    assert body["status"] == "success", body
    return body["data"]


def rule_groups(folder: Path) -> dict[str, dict]:
    return {g["name"]: g for p in sorted(folder.glob("*.yml")) for g in yaml.safe_load(p.read_text())["groups"]}


def write_fast_rules(folder: Path) -> None:
    """The repository's rule files, each alerting rule's ``for:`` rewritten to FOR."""
    for path in sorted((PROM_DIR / "rules").glob("*.yml")):
        doc = yaml.safe_load(path.read_text())
        for group in doc["groups"]:
            for rule in group["rules"]:
                if "alert" in rule and "for" in rule:
                    rule["for"] = FOR
        (folder / path.name).write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.fixture(scope="module")
def ops(stack, tmp_path_factory):
    for binary in ("prometheus", "prometheus-alertmanager", "promtool", "amtool"):
        if shutil.which(binary) is None:
            pytest.fail(
                f"{binary} not found: bash deploy/local/install.sh installs Debian's "
                "prometheus and prometheus-alertmanager"
            )
    rules = tmp_path_factory.mktemp("rules")
    write_fast_rules(rules)
    env = {**TEST_ENV, "CSP_PROMETHEUS_RULES_DIR": str(rules), "CSP_PROMETHEUS_INTERVAL": INTERVAL}
    run_script(env, "ops.sh", "stop")  # nothing left from an interrupted run
    NOTIFICATIONS.unlink(missing_ok=True)
    try:
        out = run_script(env, "ops.sh", "start", timeout=180)
        yield {"env": env, "rules": rules, "start_output": out}
    finally:
        run_script(env, "ops.sh", "stop", timeout=120)


def test_every_target_is_up_and_the_rules_are_loaded(ops):
    jobs = {j["job_name"] for j in yaml.safe_load((PROM_DIR / "prometheus.yml").read_text())["scrape_configs"]}
    assert {
        "csp-intake",
        "csp-mapping",
        "csp-alerts",
        "csp-alerts-api",
        "csp-reporting",
        "csp-reporting-worker",
        "kafka",
        "prometheus",
    } <= jobs

    def all_up():
        targets = prometheus("/api/v1/targets")["activeTargets"]
        health = {t["labels"]["job"]: t["health"] for t in targets}
        return health if set(health) == jobs and set(health.values()) == {"up"} else None

    health = wait_until(all_up, timeout=60, interval=1, what="every target up")
    assert health == {job: "up" for job in jobs}
    # Each target is this stack's, at the port its setting names.
    targets = prometheus("/api/v1/targets")["activeTargets"]
    assert {t["labels"]["job"]: t["labels"]["instance"] for t in targets} == {
        job: f"127.0.0.1:{TEST_ENV[port_variable(job)]}" for job in jobs
    }

    # Kafka's own metrics, through the broker's JMX exporter agent.
    def broker_series():
        found = {
            r["metric"]["__name__"]: float(r["value"][1])
            for r in prometheus(
                "/api/v1/query",
                query='{job="kafka", __name__=~"kafka_controller_kafkacontroller_activecontrollercount'
                '|kafka_server_replicamanager_partitioncount"}',
            )["result"]
        }
        return found if len(found) == 2 else None

    broker = wait_until(broker_series, timeout=30, interval=1, what="the broker's metrics in Prometheus")
    assert broker["kafka_controller_kafkacontroller_activecontrollercount"] == 1
    assert broker["kafka_server_replicamanager_partitioncount"] > 0

    # The project's recording and alerting rule groups, every rule, none failing.
    loaded = {g["name"]: g for g in prometheus("/api/v1/rules")["groups"]}
    expected = rule_groups(PROM_DIR / "rules")
    assert set(loaded) == set(expected)
    for name, group in expected.items():
        assert [r.get("record") or r.get("alert") for r in group["rules"]] == [r["name"] for r in loaded[name]["rules"]]
    rules = [r for g in loaded.values() for r in g["rules"]]
    assert [(r["name"], r.get("lastError")) for r in rules if r["health"] not in ("ok", "unknown")] == []
    # The alerts are the rewritten ones (see the module docstring), read from the test's folder.
    assert {r["duration"] for r in rules if r["type"] == "alerting" and r["duration"]} == {int(FOR[:-1])}
    assert all(g["file"].startswith(str(ops["rules"])) for g in loaded.values())

    # Prometheus sends to this stack's Alertmanager; the script said where both are.
    managers = prometheus("/api/v1/alertmanagers")["activeAlertmanagers"]
    assert [m["url"] for m in managers] == [f"{ALERTMANAGER}/api/v2/alerts"]
    assert "Prometheus ready" in ops["start_output"] and PROMETHEUS in ops["start_output"]
    assert ALERTMANAGER in ops["start_output"]


def service_down_alerts() -> list[dict]:
    alerts = get(ALERTMANAGER, "/api/v2/alerts", active="true", filter='alertname="CspServiceDown"')
    return [a for a in alerts if a["labels"].get("job") == WORKER_JOB]


def notifications() -> list[dict]:
    if not NOTIFICATIONS.exists():
        return []
    return [json.loads(line) for line in NOTIFICATIONS.read_text().splitlines() if line.strip()]


def worker_down_notification() -> dict | None:
    for note in notifications():
        for alert in note["alerts"]:
            if (
                note["status"] == "firing"
                and alert["labels"].get("alertname") == "CspServiceDown"
                and alert["labels"].get("job") == WORKER_JOB
            ):
                return note
    return None


def test_a_stopped_worker_raises_the_platform_alert_in_alertmanager(ops):
    # A healthy stack: no platform alert, nothing notified.
    wait_until(
        lambda: prometheus("/api/v1/query", query=f'up{{job="{WORKER_JOB}"}} == 1')["result"],
        timeout=60,
        interval=1,
        what=f"{WORKER_JOB} up",
    )
    assert service_down_alerts() == []
    assert worker_down_notification() is None

    # Timed from before the stop: the worker may stop answering scrapes while it shuts down.
    stopping = time.monotonic()
    run("services.sh", "stop", WORKER, timeout=120)
    stopped = time.monotonic() - stopping
    try:
        # Down at the next scrape, pending for FOR, firing; Alertmanager holds it at once.
        alerts = wait_until(
            service_down_alerts, timeout=90, interval=1, what=f"CspServiceDown for {WORKER_JOB} in Alertmanager"
        )
        in_alertmanager = time.monotonic() - stopping
        # Not before the rule's for: window, and within it plus a scrape, an evaluation and the send.
        assert int(FOR[:-1]) <= in_alertmanager <= int(FOR[:-1]) + stopped + 4 * int(INTERVAL[:-1]) + 5
        alert = alerts[0]
        assert alert["labels"]["severity"] == "critical"
        assert alert["labels"]["platform"] == "commissioning-signals"
        assert alert["labels"]["instance"] == f"127.0.0.1:{TEST_ENV['CSP_REPORTING_WORKER_PORT']}"
        assert alert["annotations"]["runbook_url"] == "deploy/README-ops.md#cspservicedown"
        assert [r["name"] for r in alert["receivers"]] == ["platform-log"]
        # Routed to the local receiver after the route's group_wait: one JSON line per notification.
        note = wait_until(
            worker_down_notification, timeout=60, interval=1, what="the notification in alertmanager-receiver.log"
        )
        assert note["receiver"] == "platform-log"
        assert note["received_at"]
        print(
            f"\n{WORKER} stopped in {stopped:.1f}s; CspServiceDown in Alertmanager "
            f"{in_alertmanager:.1f}s and in the receiver's log {time.monotonic() - stopping:.1f}s "
            f"after the stop began (for: {FOR}, scrape and evaluation every {INTERVAL})"
        )
    finally:
        run("services.sh", "start", WORKER, timeout=300)  # waits for /readyz
    # Healthy again for the rest of the session: scraped up, the alert no longer firing.
    wait_until(
        lambda: prometheus("/api/v1/query", query=f'up{{job="{WORKER_JOB}"}} == 1')["result"],
        timeout=60,
        interval=1,
        what=f"{WORKER_JOB} up again",
    )
    wait_until(
        lambda: not [a for a in prometheus("/api/v1/alerts")["alerts"] if a["labels"].get("job") == WORKER_JOB],
        timeout=60,
        interval=1,
        what="the alert cleared in Prometheus",
    )
