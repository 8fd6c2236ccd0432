"""A real Prometheus (Debian's ``prometheus`` package) scrapes the running test stack.

The configuration is deploy/prometheus/prometheus.yml itself, with each job's target moved to the
test stack's port and the real recording and alerting rules loaded, scraping and evaluating every
second. Events go in through intake's HTTP API; Prometheus's HTTP API must then show every
process up, the business counters moving, the recording rules evaluating to values and no rule
failing. Each process's own /metrics must also pass ``promtool check metrics`` and carry no event id.

Fails (never skips) when the ``prometheus`` or ``promtool`` binary is missing.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import socket
import subprocess
import urllib.parse
import urllib.request
import uuid

import pytest
import yaml

from contracts.events import AlertRule
from deploy.local.ops_config import port_variable
from contracts.examples import FINDING
from tests.conftest import BASE, REPO, TEST_ENV, bearer, http_json, url, wait_until

pytestmark = pytest.mark.integration

PROM_DIR = REPO / "deploy" / "prometheus"
#: Prometheus's port derives from the test port base like every other test port.
PROM_PORT = BASE + 90
PROM_URL = f"http://127.0.0.1:{PROM_PORT}"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def job_port(job: str) -> int:
    """csp-alerts-api -> CSP_ALERTS_API_PORT of the test stack (the rule deploy/validate.py applies
    to prometheus.yml against deploy/local/env.sh)."""
    var = port_variable(job)
    assert var in TEST_ENV, f"scrape job {job} has no test port {var}"
    return int(TEST_ENV[var])


def scrape_config() -> dict:
    """deploy/prometheus/prometheus.yml, pointed at this test stack, scraping every second."""
    doc = yaml.safe_load((PROM_DIR / "prometheus.yml").read_text())
    doc["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    doc["global"]["external_labels"]["environment"] = "test"
    doc["rule_files"] = [str(p) for p in sorted((PROM_DIR / "rules").glob("*.yml"))]
    doc.pop("alerting", None)  # no Alertmanager here (tests/integration/test_ops_stack.py has one)
    for job in doc["scrape_configs"]:
        port = PROM_PORT if job["job_name"] == "prometheus" else job_port(job["job_name"])
        for static in job["static_configs"]:
            static["targets"] = [f"127.0.0.1:{port}"]
    return doc


def port_taken(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def get_json(path: str, **params) -> dict:
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    with urllib.request.urlopen(f"{PROM_URL}{path}{query}", timeout=10) as r:
        body = json.loads(r.read())
    assert body["status"] == "success", body
    return body["data"]


def query(expr: str) -> list[dict]:
    """Instant vector: [{"metric": {...}, "value": [ts, "v"]}, ...]."""
    return get_json("/api/v1/query", query=expr)["result"]


def value(expr: str) -> float | None:
    result = query(expr)
    assert len(result) <= 1, f"{expr} gave {len(result)} series: {result}"
    return float(result[0]["value"][1]) if result else None


@pytest.fixture(scope="module")
def prometheus(stack, tmp_path_factory):
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus not found: install Debian's package 'prometheus' (bash deploy/local/install.sh does)")
    assert not port_taken(PROM_PORT), f"port {PROM_PORT} (CSP_TEST_PORT_BASE + 90) is taken"
    home = tmp_path_factory.mktemp("prometheus")
    config = home / "prometheus.yml"
    doc = scrape_config()
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    check = subprocess.run(
        [shutil.which("promtool") or "promtool", "check", "config", str(config)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    log = (home / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={home / 'data'}",
            f"--web.listen-address=127.0.0.1:{PROM_PORT}",
            "--storage.tsdb.retention.time=1h",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def ready():
            if proc.poll() is not None:
                raise AssertionError(
                    f"prometheus exited ({proc.returncode}):\n{(home / 'prometheus.log').read_text()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(f"{PROM_URL}/-/ready", timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False

        wait_until(ready, timeout=60, what="prometheus /-/ready")
        yield {"jobs": {j["job_name"] for j in doc["scrape_configs"]}, "log": home / "prometheus.log"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def post_events(key: dict, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        finding = copy.deepcopy(FINDING)
        finding.update(event_id=str(uuid.uuid4()), source="pattigift", area="BSOL", region="west_midlands")
        status, _, answer = http_json("POST", url("intake", "/v1/findings"), finding, bearer(key))
        assert status == 202, answer
        ids.append(finding["event_id"])
    return ids


def test_prometheus_scrapes_every_process_and_evaluates_the_rules(prometheus, keys):
    jobs = prometheus["jobs"]
    assert {
        "csp-intake",
        "csp-mapping",
        "csp-alerts",
        "csp-alerts-api",
        "csp-reporting",
        "csp-reporting-worker",
    } <= jobs

    # Every target of the real configuration is scraped and up.
    def all_up():
        up = {r["metric"]["job"]: r["value"][1] for r in query("up")}
        return up if set(up) == jobs and set(up.values()) == {"1"} else None

    up = wait_until(all_up, timeout=60, interval=1, what="up == 1 for every job")
    assert set(up) == jobs
    targets = get_json("/api/v1/targets")["activeTargets"]
    assert {t["labels"]["job"] for t in targets if t["health"] == "up"} == jobs

    # Events in through intake; the counters move in Prometheus, across processes.
    accepted = 'sum(csp_intake_events_total{job="csp-intake", outcome="accepted"})'
    mapped = 'sum(csp_stream_records_total{job="csp-mapping", worker="mapping", outcome="mapped"})'
    stored = 'sum(csp_stream_records_total{job="csp-reporting-worker", outcome="stored"})'
    before = {e: value(e) or 0.0 for e in (accepted, mapped, stored)}
    post_events(keys["pattigift"], 3)
    wait_until(
        lambda: (value(accepted) or 0) >= before[accepted] + 3,
        timeout=30,
        interval=1,
        what="intake's accepted counter in Prometheus",
    )
    wait_until(
        lambda: (value(mapped) or 0) >= before[mapped] + 3,
        timeout=60,
        interval=1,
        what="mapping's mapped counter in Prometheus",
    )
    wait_until(
        lambda: (value(stored) or 0) >= before[stored] + 3,
        timeout=60,
        interval=1,
        what="the reporting worker's stored counter in Prometheus",
    )
    assert (value('sum(csp_mapped_events_by_stage_total{stage="assessing_needs"})') or 0) >= 3

    # A second round a scrape later: a series first seen after its first increments (an HTTP route
    # and status) has no rate until it moves again.
    post_events(keys["pattigift"], 3)
    wait_until(
        lambda: (value(accepted) or 0) >= before[accepted] + 6,
        timeout=30,
        interval=1,
        what="intake's accepted counter in Prometheus, second round",
    )

    # Recording rules from recording.yml evaluate to values.
    rate = wait_until(
        lambda: value('sum(type_outcome_reason:csp_intake_events:rate5m{type="finding", outcome="accepted"})'),
        timeout=30,
        interval=1,
        what="type_outcome_reason:csp_intake_events:rate5m",
    )
    assert rate > 0
    lag = wait_until(
        lambda: (
            {r["metric"]["worker"] for r in query("worker_topic:csp_kafka_consumer_lag_records:sum")}
            >= {"mapping", "alerts", "reporting"}
            or None
        ),
        timeout=30,
        interval=1,
        what="consumer lag recorded per worker",
    )
    assert lag
    api_rate = wait_until(
        lambda: value('job:csp_http_api_requests:rate5m{job="csp-intake"}'),
        timeout=30,
        interval=1,
        what="intake's API request rate",
    )
    assert api_rate > 0
    ratio = wait_until(
        lambda: query('job:csp_http_api_error_ratio:rate5m{job="csp-intake"}'),
        timeout=30,
        interval=1,
        what="intake's API error ratio",
    )
    assert float(ratio[0]["value"][1]) == 0.0  # traffic, and no 5xx

    # Every recording and alerting rule of the repository loaded and evaluates without error.
    groups = get_json("/api/v1/rules")["groups"]
    rules = [r for g in groups for r in g["rules"]]
    expected = sum(
        len(g["rules"]) for p in (PROM_DIR / "rules").glob("*.yml") for g in yaml.safe_load(p.read_text())["groups"]
    )
    assert len(rules) == expected
    broken = [(r["name"], r.get("lastError")) for r in rules if r["health"] not in ("ok", "unknown")]
    assert broken == []
    # ...and a healthy stack fires none of the platform alerts.
    firing = [a for a in get_json("/api/v1/alerts")["alerts"] if a["state"] == "firing"]
    assert firing == []


def test_metrics_the_operations_issue_asks_for_arrive(prometheus, keys):
    processes = {job for job in prometheus["jobs"] if job.startswith("csp-")}
    wait_until(
        lambda: len(query('up{job=~"csp-.+"} == 1')) == len(processes),
        timeout=60,
        interval=1,
        what="every platform target up",
    )
    # Build info from every process.
    builds = query("csp_build_info")
    assert {b["metric"]["job"] for b in builds} == processes
    assert all(b["metric"]["version"] and b["metric"]["component"] for b in builds)
    # PostgreSQL pool usage from every process that holds a pool, the faust workers included.
    pools = wait_until(
        lambda: (
            {r["metric"]["job"] for r in query('csp_pg_pool_connections{state="idle"}')}
            >= {"csp-intake", "csp-alerts", "csp-alerts-api", "csp-reporting", "csp-reporting-worker"}
            or None
        ),
        timeout=30,
        interval=1,
        what="pool gauges from every process with a pool",
    )
    assert pools
    assert all(float(r["value"][1]) > 0 for r in query('csp_pg_pool_max_connections{job!="csp-mapping"}'))
    # Consumer lag per topic and partition, for each worker's topics.
    lag = query("csp_kafka_consumer_lag_records")
    assert {(r["metric"]["worker"], r["metric"]["topic"]) for r in lag} >= {
        ("mapping", "intake.findings.v1"),
        ("mapping", "intake.performance.v1"),
        ("alerts", "mapped.events.v1"),
        ("reporting", "mapped.events.v1"),
    }
    assert all(r["metric"]["partition"].isdigit() for r in lag)
    # Alerts by rule and state, and notifications by channel and outcome (zero until one happens).
    states = wait_until(
        lambda: {(r["metric"]["rule"], r["metric"]["state"]) for r in query("csp_alerts")},
        timeout=30,
        interval=1,
        what="csp_alerts from the alerts worker",
    )
    assert {s for _, s in states} == {"firing", "acknowledged", "resolved"}
    assert {r for r, _ in states} == {rule.value for rule in AlertRule}
    outcomes = {
        (r["metric"]["channel"], r["metric"]["outcome"])
        for r in query('csp_alert_notifications_total{job="csp-alerts-api"}')
    }
    assert {("webhook", "delivered"), ("webhook", "failed"), ("webhook", "retried")} <= outcomes
    # Dead letters are counted by every worker that writes them (zero until one happens).
    stages = {(r["metric"]["job"], r["metric"]["reason_stage"]) for r in query("csp_deadletter_records_total")}
    assert {("csp-mapping", "map"), ("csp-alerts", "process"), ("csp-reporting-worker", "process")} <= stages
    # Request rate, errors and duration by route.
    routes = {r["metric"]["route"] for r in query('csp_http_requests_total{job="csp-intake"}')}
    assert "/v1/findings" in routes
    assert query('csp_http_request_duration_seconds_count{job="csp-intake", route="/v1/findings"}')


@pytest.mark.parametrize("service", ["intake", "mapping", "alerts", "alerts-api", "reporting", "reporting-worker"])
def test_each_process_exposition_passes_promtool_and_carries_no_event_id(stack, keys, service):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool not found: install Debian's package 'prometheus'")
    ids = post_events(keys["pattigift"], 1)
    with urllib.request.urlopen(url(service, "/metrics"), timeout=10) as r:
        body = r.read()
    check = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True)
    assert check.returncode == 0 and not check.stdout.strip() and not check.stderr.strip(), (
        check.stdout + check.stderr
    ).decode()
    text = body.decode()
    assert "csp_build_info{" in text
    assert ids[0] not in text
    # No label value anywhere is an id (event ids, keys and subscriptions are UUIDs or tokens).
    assert not UUID.search(text)
    assert keys["pattigift"]["api_key"] not in text
