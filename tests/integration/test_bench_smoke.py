"""The benchmark runner end to end in its quick mode, so it cannot rot unnoticed.

Runs ``python -m tests.benchmarks.run_all --quick`` on a port base of its own (this session's
base + 1500, so it never meets the session's stack) with small counts, then checks the report:
every phase ran, every row of the table carries a measured positive number, and the Markdown
report shows the same rows. It checks that the figures exist and are sane, not how fast they are:
a quick run on a shared machine is no measurement.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from tests.conftest import BASE
from tests.stackenv import REPO

pytestmark = pytest.mark.integration

BENCH_BASE = BASE + 1500
PHASES = {
    "stack",
    "intake",
    "producer_performance",
    "mapping",
    "reporting_load",
    "reporting_worker",
    "platform_start",
    "dashboard",
    "e2e",
    "memory",
}
ROWS = {
    "intake.single.events_per_s",
    "intake.single.p50_ms",
    "intake.single.p95_ms",
    "intake.single.p99_ms",
    "intake.single_paced.events_per_s",
    "intake.single_paced.p50_ms",
    "intake.single_paced.p95_ms",
    "intake.single_paced.p99_ms",
    "intake.single_paced_40.p99_ms",
    "intake.single_paced_50.p99_ms",
    "intake.batch.events_per_s",
    "intake.batch.p50_ms",
    "intake.batch.p95_ms",
    "intake.batch.p99_ms",
    "intake.batch.vs_producer_performance",
    "kafka.producer_performance.records_per_s",
    "mapping.events_per_s",
    "e2e.background.events_per_s",
    "e2e.webhooks_received",
    "e2e.worker.mapping.events_per_s",
    "e2e.worker.alerts.events_per_s",
    "e2e.worker.reporting-worker.events_per_s",
    "e2e.post_to_webhook.p50_ms",
    "e2e.post_to_webhook.p95_ms",
    "e2e.post_to_webhook.p99_ms",
    "reporting.bulk.events_per_s",
    "reporting.rollup_events",
    "reporting.worker.events_per_s",
    "reporting.overview_90d.p50_ms",
    "reporting.overview_90d.p95_ms",
    "reporting.heatmap_region_90d.p95_ms",
    "reporting.unmet_needs_region_90d.p95_ms",
    "memory.intake_phase.intake",
    "memory.intake_phase.intake_baseline",
    "memory.mapping_phase.mapping",
    "memory.mapping_phase.bare_loop",
    *(
        f"memory.platform.{name}"
        for name in ("intake", "mapping", "alerts", "alerts-api", "reporting-worker", "reporting", "kafka")
    ),
}
#: Rows that compare against a baseline measured in the same run.
WITH_BASELINE = {
    "intake.single.events_per_s",
    "intake.batch.events_per_s",
    "intake.batch.vs_producer_performance",
    "mapping.events_per_s",
    "e2e.webhooks_received",
}


def positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    # Only this run's own settings: a session's CSP_* (its ports, its rule file) must not leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSP_")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.benchmarks.run_all",
            "--quick",
            "--port-base",
            str(BENCH_BASE),
            "--out",
            str(out),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert proc.returncode == 0, f"run_all failed ({proc.returncode}):\n{proc.stderr[-6000:]}"
    return json.loads((out / "report.json").read_text()), (out / "report.md").read_text(), proc.stderr


def test_every_phase_ran_and_the_log_shows_progress(quick_report):
    report, _, stderr = quick_report
    assert report["errors"] == {}
    assert report["quick"] is True and report["port_base"] == BENCH_BASE
    assert set(report["phase_seconds"]) == PHASES
    assert all(positive(s) or s == 0 for s in report["phase_seconds"].values())
    for line in ("== intake", "== producer_performance", "== mapping", "== e2e", "wrote "):
        assert line in stderr


def test_machine_facts_are_recorded(quick_report):
    m = quick_report[0]["machine"]
    assert positive(m["cores"]) and positive(m["ram_gib"])
    assert m["python"].count(".") == 2 and m["kafka"] and m["kafka_jar_present"] is True
    assert len(m["git_commit"]) == 40 and m["date"].startswith("20")
    assert quick_report[0]["postgres"]


def test_every_row_is_a_measured_positive_number(quick_report):
    rows = {r["id"]: r for r in quick_report[0]["metrics"]}
    assert set(rows) == ROWS
    for id_, row in rows.items():
        assert positive(row["value"]), (id_, row["value"])
        assert set(row) == {"id", "metric", "unit", "value", "baseline", "baseline_name", "ratio", "target", "pass"}
        if id_ in WITH_BASELINE:
            assert positive(row["baseline"]) and positive(row["ratio"]), row
            assert row["ratio"] == pytest.approx(row["value"] / row["baseline"], abs=5e-4)  # kept to 3 places
        if row["target"] is not None:
            assert isinstance(row["pass"], bool), row


def test_the_runs_are_consistent_with_what_was_sent(quick_report):
    report = quick_report[0]
    d, p = report["details"], report["parameters"]
    assert d["mapping"]["faust_agent"]["records"] == p["mapping_events"]
    for shape in ("single", "batch"):
        rounds = d["intake"][f"{shape}_rounds"]
        assert len(rounds) == p["intake_rounds"]
        assert d["intake"][f"{shape}_kafka"] in [r["kafka"] for r in rounds]  # the reported one was measured
    assert d["mapping"]["bare_aiokafka_loop"]["records"] == p["mapping_events"]
    assert d["reporting_load"]["rollup_events_total"] == p["reporting_events"]
    assert d["reporting_load"]["replayed_batch_new_events"] == 0
    assert d["reporting_worker"]["events"] == p["worker_events"]
    assert d["e2e"]["triggers_posted"] == p["e2e_triggers"]
    assert d["e2e"]["webhooks_missing"] == 0 and d["e2e"]["unexpected_alerts_notified"] == 0
    assert d["producer_performance"]["records"] == p["producer_records"]
    assert d["producer_performance"]["record_size_bytes"] == round(d["intake"]["record_sizes"]["value_bytes_mean"])


def test_the_markdown_report_has_the_table_and_the_machine(quick_report):
    report, md, _ = quick_report
    assert "| metric | value | baseline | ratio | target | pass/fail |" in md
    for row in report["metrics"]:
        assert f"| {row['metric']} |" in md
    for fact in (
        "| cores |",
        "| RAM |",
        "| Python |",
        "| Kafka |",
        report["machine"]["git_commit"][:12],
        "python -m tests.benchmarks.run_all --quick",
    ):
        assert fact in md
