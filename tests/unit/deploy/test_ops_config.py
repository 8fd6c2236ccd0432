"""The local stack's Prometheus and Alertmanager configuration (deploy/local/ops_config.py), the
checks deploy/validate.py makes of it, and the receiver that logs Alertmanager's notifications
(deploy/local/alert_receiver.py)."""

from __future__ import annotations

import json
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from deploy import validate
from deploy.local import alert_receiver, ops_config

REPO = validate.REPO
ENV = {
    "CSP_INTAKE_PORT": "1081",
    "CSP_MAPPING_PORT": "1082",
    "CSP_ALERTS_PORT": "1083",
    "CSP_REPORTING_PORT": "1084",
    "CSP_REPORTING_WORKER_PORT": "1085",
    "CSP_ALERTS_API_PORT": "1086",
    "CSP_KAFKA_METRICS_PORT": "1094",
    "CSP_PROMETHEUS_PORT": "1095",
    "CSP_ALERTMANAGER_PORT": "1096",
    "CSP_ALERTMANAGER_RECEIVER_PORT": "1097",
}


def test_every_scrape_target_and_the_alertmanager_move_to_the_stack_ports(tmp_path):
    doc = ops_config.prometheus_config(ENV, rules_dir=tmp_path, interval="2s")
    targets = {j["job_name"]: [t for s in j["static_configs"] for t in s["targets"]] for j in doc["scrape_configs"]}
    assert targets == {job: [f"127.0.0.1:{ENV[ops_config.port_variable(job)]}"] for job in targets}
    assert {"csp-intake", "csp-reporting-worker", "kafka", "prometheus"} <= set(targets)
    assert doc["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:1096"]
    assert doc["rule_files"] == [str(tmp_path.resolve() / "recording.yml"), str(tmp_path.resolve() / "alerts.yml")]
    assert {doc["global"][k] for k in ("scrape_interval", "evaluation_interval", "scrape_timeout")} == {"2s"}
    # The labels the platform's alerts are routed on are kept.
    assert doc["global"]["external_labels"]["platform"] == "commissioning-signals"


def test_without_overrides_the_rules_are_the_repository_files_and_the_intervals_the_files_own():
    doc = ops_config.prometheus_config(ENV)
    rules = REPO / "deploy" / "prometheus" / "rules"
    assert doc["rule_files"] == [str(rules / "recording.yml"), str(rules / "alerts.yml")]
    assert doc["global"]["scrape_interval"] == "15s"


def test_a_missing_port_setting_is_named():
    with pytest.raises(KeyError, match="CSP_KAFKA_METRICS_PORT"):
        ops_config.prometheus_config({k: v for k, v in ENV.items() if k != "CSP_KAFKA_METRICS_PORT"})
    with pytest.raises(KeyError, match="no port setting"):
        ops_config.port_variable("node-exporter")


def test_alertmanager_sends_the_platform_alerts_to_the_stack_receiver():
    doc = ops_config.alertmanager_config(ENV)
    routes = doc["route"]["routes"]
    assert routes == [{"matchers": ['platform="commissioning-signals"'], "receiver": "platform-log"}]
    hooks = [h for r in doc["receivers"] if r["name"] == "platform-log" for h in r["webhook_configs"]]
    assert [h["url"] for h in hooks] == ["http://127.0.0.1:1097/alerts"]


def test_the_written_files_pass_promtool_and_amtool(tmp_path, monkeypatch):
    for var, value in ENV.items():
        monkeypatch.setenv(var, value)
    for name in ("prometheus.yml", "alertmanager.yml"):
        assert ops_config.main([name.removesuffix(".yml"), str(tmp_path / name)]) == 0
    proc = validate._run(["promtool", "check", "config", "--syntax-only", str(tmp_path / "prometheus.yml")], tmp_path)
    assert proc[0] == 0, proc[1]
    proc = validate._run(["amtool", "check-config", str(tmp_path / "alertmanager.yml")], tmp_path)
    assert proc[0] == 0, proc[1]


def _repo_copy(tmp_path: Path) -> Path:
    for rel in ("deploy/prometheus", "deploy/alertmanager", "deploy/local/env.sh"):
        src, dst = REPO / rel, tmp_path / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dst)
    return tmp_path


def test_validate_accepts_the_files_as_they_are(tmp_path):
    assert validate._prometheus_config_problems(_repo_copy(tmp_path)) == []


@pytest.mark.parametrize(
    ("rel", "old", "new", "problem"),
    [
        (
            "deploy/prometheus/prometheus.yml",
            '"127.0.0.1:19094"',
            '"127.0.0.1:19095"',
            "job kafka scrapes: ['127.0.0.1:19095'], but CSP_KAFKA_METRICS_PORT defaults to 19094",
        ),
        (
            "deploy/prometheus/prometheus.yml",
            '"127.0.0.1:9093"',
            '"127.0.0.1:9193"',
            "alerting sends to: ['127.0.0.1:9193'], but CSP_ALERTMANAGER_PORT defaults to 9093",
        ),
        (
            "deploy/alertmanager/alertmanager.yml",
            "127.0.0.1:9095",
            "127.0.0.1:9195",
            "webhooks: ['127.0.0.1:9195'], but CSP_ALERTMANAGER_RECEIVER_PORT defaults to 9095",
        ),
        (
            "deploy/prometheus/prometheus.yml",
            "job_name: kafka",
            "job_name: broker",
            "scrape job broker has no port setting",
        ),
    ],
)
def test_validate_refuses_a_port_that_is_not_the_local_default(tmp_path, rel, old, new, problem):
    repo = _repo_copy(tmp_path)
    text = (repo / rel).read_text()
    assert old in text
    (repo / rel).write_text(text.replace(old, new))
    assert any(problem in p for p in validate._prometheus_config_problems(repo)), validate._prometheus_config_problems(
        repo
    )


@pytest.fixture
def receiver(tmp_path):
    log = tmp_path / "notifications.log"
    server = alert_receiver.Receiver(("127.0.0.1", 0), log)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", log
    server.shutdown()
    server.server_close()


def _post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_the_receiver_logs_each_notification_as_one_json_line(receiver):
    base, log = receiver
    with urllib.request.urlopen(f"{base}/healthz", timeout=5) as r:
        assert r.status == 200
    note = {
        "version": "4",
        "status": "firing",
        "receiver": "platform-log",
        "alerts": [{"status": "firing", "labels": {"alertname": "CspServiceDown", "job": "csp-mapping"}}],
    }
    assert _post(f"{base}/alerts", json.dumps(note).encode()) == 200
    assert _post(f"{base}/alerts", json.dumps({**note, "status": "resolved"}).encode()) == 200
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["status"] for line in lines] == ["firing", "resolved"]
    assert lines[0]["alerts"] == note["alerts"] and lines[0]["received_at"]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/alerts", b"not json", 400),
        ("/alerts", b'{"status": "firing"}', 400),
        ("/alerts", b"[]", 400),
        ("/elsewhere", b'{"alerts": []}', 404),
    ],
)
def test_the_receiver_refuses_what_is_not_a_notification(receiver, path, body, status):
    base, log = receiver
    assert _post(f"{base}{path}", body) == status
    assert not log.exists()
