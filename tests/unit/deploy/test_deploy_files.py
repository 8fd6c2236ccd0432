"""The deploy files are valid offline: compose, Dockerfile, Kubernetes, Prometheus, Grafana, metrics.

promtool comes from Debian's ``prometheus`` package. Without it these tests fail (never skip): the
rules would otherwise go unchecked in CI.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys

import pytest

from deploy import validate

REPO = validate.REPO


def _ok(problems: list[str]) -> None:
    assert problems == [], "\n" + "\n".join(problems)


@pytest.fixture(scope="module")
def compose() -> dict:
    return validate._load_yaml(REPO / validate.COMPOSE_FILE)


@pytest.fixture(scope="module")
def k8s_docs() -> list[tuple[str, dict]]:
    return validate.k8s_documents(REPO)


def test_promtool_is_installed():
    if shutil.which("promtool") is None:
        pytest.fail(validate.PROMTOOL_HELP)


# --- docker-compose.yml ---------------------------------------------------------------------


def test_compose_file_is_valid_against_the_spec_and_the_repository(compose):
    _ok(validate.check_compose(REPO, compose))


def test_compose_has_the_whole_stack(compose):
    services = set(compose["services"])
    assert {
        "kafka",
        "postgres",
        "topics",
        "migrate",
        "intake",
        "mapping",
        "alerts",
        "alerts-api",
        "reporting",
        "reporting-worker",
        "prometheus",
        "grafana",
    } <= services
    assert compose["services"]["kafka"]["image"].startswith("apache/kafka:3.9")
    assert compose["services"]["postgres"]["image"].startswith("postgres:15")


def test_compose_schema_check_rejects_an_unknown_key(compose):
    doc = copy.deepcopy(compose)
    doc["services"]["intake"]["helthcheck"] = {"test": ["CMD", "true"]}
    problems = validate.compose_schema_problems(doc, REPO)
    assert any("services/intake" in p and "helthcheck" in p for p in problems), problems


def test_compose_schema_check_rejects_a_bad_depends_on_condition(compose):
    doc = copy.deepcopy(compose)
    doc["services"]["intake"]["depends_on"]["kafka"]["condition"] = "service_ready"
    assert validate.compose_schema_problems(doc, REPO)


def test_compose_repo_check_finds_missing_files_modules_and_services(compose):
    doc = copy.deepcopy(compose)
    doc["services"]["grafana"]["volumes"].append("./deploy/grafana/nope:/etc/nope:ro")
    doc["services"]["mapping"]["command"] = ["python", "-m", "services.mapper", "worker"]
    doc["services"]["intake"]["environment"]["CSP_KAFKA_BOOTSTRAPS"] = "kafka:9092"
    doc["services"]["alerts"]["depends_on"] = {"zookeeper": {"condition": "service_started"}}
    doc["services"]["reporting"]["ports"] = ["8084:9999"]
    problems = "\n".join(validate.compose_repo_problems(doc, REPO))
    assert "deploy/grafana/nope" in problems
    assert "services.mapper" in problems
    assert "CSP_KAFKA_BOOTSTRAPS" in problems
    assert "zookeeper" in problems
    assert "9999" in problems


def test_compose_repo_check_wants_a_healthcheck_before_service_healthy(compose):
    doc = copy.deepcopy(compose)
    del doc["services"]["postgres"]["healthcheck"]
    problems = validate.compose_repo_problems(doc, REPO)
    assert any("postgres has no healthcheck" in p for p in problems), problems


# --- Dockerfile -----------------------------------------------------------------------------


def test_dockerfile_and_dockerignore_are_consistent():
    _ok(validate.check_dockerfile(REPO))


def test_dockerfile_builds_with_the_lock_as_a_non_root_user():
    text = (REPO / "Dockerfile").read_text()
    assert "pip install -c constraints.txt ." in text
    assert re.search(r"^FROM \$\{PYTHON_IMAGE\} AS runtime", text, re.M)
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    assert re.search(r"^USER 10001", text, re.M)


@pytest.mark.parametrize(
    "path, ignored",
    [
        (".venv/bin/python", True),
        (".git/config", True),
        ("services/intake/app.py", False),
        ("services/intake/__pycache__/app.cpython-311.pyc", True),
        ("tests/unit/x.py", True),
        ("services/intake/migrations/001_intake.sql", False),
        ("deploy/local/kafka.sh", True),
        ("services/common/topics.py", False),
        ("constraints.txt", False),
    ],
)
def test_dockerignore_matching(path, ignored):
    assert validate.dockerignored(path, validate.dockerignore_patterns(REPO)) is ignored


# --- Kubernetes -----------------------------------------------------------------------------


def test_k8s_manifests_are_valid_against_the_schemas_and_each_other(k8s_docs):
    _ok(validate.check_k8s(REPO, k8s_docs))


def test_k8s_has_what_scale_out_needs(k8s_docs):
    kinds = {}
    for _, doc in k8s_docs:
        kinds.setdefault(doc["kind"], set()).add(doc["metadata"]["name"])
    assert {"intake", "mapping", "alerts", "alerts-api", "reporting", "reporting-worker"} <= kinds["Deployment"]
    assert kinds["Deployment"] <= kinds["Service"]
    assert kinds["Deployment"] <= kinds["PodDisruptionBudget"]
    assert kinds["ConfigMap"] and kinds["Namespace"] and kinds["Job"]
    assert "Secret" not in kinds  # referenced, never stored here


def test_k8s_strict_schema_rejects_a_misspelt_field(k8s_docs):
    docs = copy.deepcopy(k8s_docs)
    deployment = next(d for _, d in docs if d["kind"] == "Deployment")
    deployment["spec"]["replica"] = 3
    problems = validate.k8s_schema_problems(docs)
    assert any("replica" in p for p in problems), problems


def test_k8s_refuses_more_worker_replicas_than_partitions(k8s_docs):
    docs = copy.deepcopy(k8s_docs)
    mapping = next(d for _, d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "mapping")
    mapping["spec"]["replicas"] = 7
    problems = validate.k8s_consistency_problems(docs, REPO)
    assert any("7 replicas" in p and "6 partitions" in p for p in problems), problems


def test_k8s_refuses_a_secret_with_data_and_a_dangling_selector(k8s_docs):
    docs = copy.deepcopy(k8s_docs)
    docs.append(
        (
            "secret.yaml",
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "csp-postgres", "namespace": "commissioning-signals"},
                "stringData": {"dsn": "postgresql://csp:hunter2@db/csp"},
            },
        )
    )
    service = next(d for _, d in docs if d["kind"] == "Service")
    service["spec"]["selector"] = {"app.kubernetes.io/name": "nobody"}
    problems = "\n".join(validate.k8s_consistency_problems(docs, REPO))
    assert "Secret with data" in problems
    assert "selector matches no Deployment" in problems


# --- Prometheus -----------------------------------------------------------------------------


def test_promtool_checks_config_rules_and_rule_tests():
    _ok(validate.check_prometheus(REPO))


def test_promtool_catches_a_query_that_does_not_parse():
    problems = validate.promql_syntax_problems([("broken", "sum(rate(csp_http_requests_total[5m])")])
    assert problems and "broken" in problems[0]


PROCESS_JOBS = {"csp-intake", "csp-mapping", "csp-alerts", "csp-alerts-api", "csp-reporting", "csp-reporting-worker"}


@pytest.mark.parametrize("config", validate.PROM_CONFIGS)
def test_every_scrape_job_is_one_of_the_six_processes(config):
    jobs = [j["job_name"] for j in validate._load_yaml(REPO / validate.PROM_DIR / config)["scrape_configs"]]
    assert set(jobs) - {"prometheus"} - validate.PROM_LOCAL_ONLY_JOBS == PROCESS_JOBS
    assert len(jobs) == len(set(jobs))


def test_every_process_of_the_local_runner_is_scraped():
    """deploy/local/services.sh's process list and the scrape jobs name the same processes."""
    text = (REPO / "deploy" / "local" / "services.sh").read_text()
    processes = re.search(r"^ALL=\((.*)\)$", text, re.M).group(1).split()
    assert {f"csp-{p}" for p in processes} == PROCESS_JOBS


def test_the_platform_alerts_exist():
    names = {r["alert"] for r in validate.alert_rules(REPO)}
    assert {
        "CspServiceDown",
        "CspIntakeHighErrorRate",
        "CspConsumerLagGrowing",
        "CspDeadLetterGrowth",
        "CspWebhookDeliveryFailures",
    } <= names


# --- Grafana --------------------------------------------------------------------------------


def test_grafana_dashboards_are_provisioned_and_their_queries_parse():
    _ok(validate.check_grafana(REPO))


def test_grafana_has_the_platform_and_business_dashboards():
    dashboards = validate.dashboards(REPO)
    assert {"platform.json", "business.json"} <= set(dashboards)
    business = " ".join(e for w, e in validate.dashboard_queries(REPO) if w.startswith("business.json"))
    assert "stage" in business and "area" in business


# --- metric names ---------------------------------------------------------------------------


def _series_bases(name: str) -> set[str]:
    """A series name and the metric names prometheus_client could have declared it under."""
    bases = {name}
    for suffix in ("_bucket", "_sum", "_count", "_created", "_info", "_total"):
        if name.endswith(suffix):
            bases.add(name[: -len(suffix)])
            bases.add(name[: -len(suffix)] + "_total")
    return bases


def test_every_metric_name_in_rules_and_dashboards_is_in_the_code_or_planned():
    code = "\n".join(p.read_text() for p in (REPO / "services").rglob("*.py"))
    recorded = {r["record"] for r in validate.recording_rules(REPO)}
    queries = validate.rule_queries(REPO) + validate.dashboard_queries(REPO)
    missing = []
    for where, expr in queries:
        for name in set(re.findall(r"[A-Za-z_:]*csp_[A-Za-z0-9_:]*", validate._mask_strings(expr))):
            if ":" in name:
                ok = name in recorded
            else:
                ok = any(f'"{b}"' in code for b in _series_bases(name)) or any(
                    b in validate.PLANNED_METRICS for b in _series_bases(name)
                )
            if not ok:
                missing.append(f"{where}: {name}")
    assert not missing, "not in services/ nor in validate.PLANNED_METRICS:\n" + "\n".join(missing)


def test_metric_labels_and_values_match_the_code():
    _ok(validate.check_metrics(REPO))


def test_no_planned_metric_is_already_exported():
    exported = {validate.exposed_name(m) for m in validate.code_metrics(REPO).values()}
    assert not exported & set(validate.PLANNED_METRICS)


def test_planned_metrics_are_documented_and_agree_with_the_code_once_exported():
    runbook = (REPO / validate.RUNBOOK).read_text()
    exported = validate.code_metrics(REPO)
    for name, (kind, labels, _, _) in validate.PLANNED_METRICS.items():
        assert f"`{name}`" in runbook, f"{name} is planned but not in {validate.RUNBOOK}'s catalogue"
        if name in exported:  # the code caught up: the rules and dashboards must still fit it
            metric = exported[name]
            assert (metric.type, set(metric.labels)) == (kind, set(labels)), (
                f"{metric.source} exports {name} as a {metric.type} with labels {metric.labels}, but the "
                f"rules and dashboards were written for a {kind} with {labels} (PLANNED_METRICS): "
                f"change them together"
            )


def test_the_metric_check_catches_unknown_names_labels_and_values():
    problems = "\n".join(
        validate.metric_problems(
            [
                ("a", "rate(csp_http_request_total[5m])"),
                ("b", 'sum by (area) (rate(csp_http_requests_total{worker="x"}[5m]))'),
                ("c", 'csp_stream_records_total{worker="csp-mapping"}'),
                ("d", 'csp_alerts{state="open"}'),
            ],
            REPO,
        )
    )
    assert "csp_http_request_total is neither" in problems
    assert "no label 'worker'" in problems and "groups by 'area'" in problems
    assert "csp-mapping never set by the code" in problems
    assert "open never set by the code" in problems


def test_every_exported_metric_is_in_the_catalogue_with_its_type_and_labels():
    _ok(validate.catalogue_problems(REPO))
    rows = validate.catalogue(REPO)
    for name in (
        "csp_build_info",
        "csp_pg_pool_connections",
        "csp_kafka_consumer_lag_records",
        "csp_deadletter_records_total",
        "csp_alert_notifications_total",
        "csp_alerts",
    ):
        assert name in rows, name


def test_the_catalogue_check_catches_missing_stale_and_wrong_rows(tmp_path):
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "m.py").write_text(
        "from prometheus_client import Counter, Gauge, Info\n"
        "A = Counter('csp_a_total', 'a', ['topic', 'outcome'])\n"
        "B = Gauge('csp_b', 'b', ['state'])\n"
        "C = Info('csp_c', 'c')\n"
        "D = Gauge('csp_d', 'd')\n"
    )
    (tmp_path / "deploy").mkdir()
    (tmp_path / validate.RUNBOOK).write_text(
        "# Ops\n\n## Metrics catalogue\n\n| metric | type | labels | meaning |\n|---|---|---|---|\n"
        "| `csp_a_total` | counter | `topic` | a |\n"
        "| `csp_b` | counter | `state` | b |\n"
        "| `csp_c_info` | info | | c |\n"
        "| `csp_gone` | gauge | | removed from the code |\n\n## Next\n"
    )
    problems = "\n".join(validate.catalogue_problems(tmp_path))
    assert "csp_a_total: labels outcome are not in the catalogue" in problems
    assert "csp_b is catalogued as 'counter'" in problems
    assert "does not list csp_d" in problems
    assert "lists csp_gone, which no code" in problems
    assert "csp_c" not in problems


# --- the command line -----------------------------------------------------------------------


def test_validate_command_passes():
    proc = subprocess.run(
        [sys.executable, "-m", "deploy.validate"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for check in validate.CHECKS:
        assert f"ok   {check}:" in proc.stdout
