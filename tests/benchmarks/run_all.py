"""Every benchmark, side by side in one run, into one report.

    python -m tests.benchmarks.run_all            # the full run (about 15 minutes on 2 cores)
    python -m tests.benchmarks.run_all --quick    # a small smoke run (about 2 minutes)

One fresh Kafka and PostgreSQL on the benchmark's own port base (59000 unless ``--port-base``),
then, in this order, each phase leaving nothing behind for the next:

1. intake: single events and batches of 500, the service against its no-Kafka baseline;
2. Kafka's ProducerPerformance with intake's record size and acks=all (the physical limit);
3. mapping: the faust agent against a bare aiokafka loop on the same pre-loaded findings;
4. reporting: one million mapped events bulk-loaded through ``ReportingStore.ingest_many``, then
   the reporting worker's own rate through Kafka;
5. the whole platform up: dashboard JSON latency over those rollups, then post-to-webhook
   latency at a background load of 500 events/s, then each service's peak memory (VmHWM).

Topics are emptied between phases with Kafka's DeleteRecords, so a consumer group that starts
later begins where the previous phase ended. Writes ``report.json`` and ``report.md`` to
``--out`` (artifacts/benchmarks) and prints the Markdown table; the progress log goes to stderr.
A phase that fails is recorded in the report with its error, the others still run, and the exit
status is 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shlex
import sys
import time
import traceback
from pathlib import Path

from contracts.topics import ALERTS, DEADLETTER, FINDINGS, MAPPED, PERFORMANCE
from tests.benchmarks import bench_e2e, bench_intake, bench_mapping, bench_producer, bench_reporting
from tests.benchmarks.common import ARTIFACTS, DEFAULT_BASE, SERVICES, Stack, log, machine

PRESETS = {
    "full": {
        "intake_seconds": 10.0,
        "intake_warmup": 40.0,
        "intake_rounds": 3,
        "intake_concurrency": 50,
        "batch_size": 500,
        "batch_concurrency": 50,
        "producer_records": 200_000,
        "mapping_events": 30_000,
        "mapping_rounds": 2,
        "reporting_events": 1_000_000,
        "reporting_batch": 5000,
        "worker_events": 20_000,
        "requests": 200,
        "warmup_requests": 20,
        "e2e_seconds": 60.0,
        "e2e_rate": 500.0,
        "e2e_batch": 25,
        "e2e_triggers": 200,
        "e2e_settle": 300.0,
    },
    "quick": {
        "intake_seconds": 2.0,
        "intake_warmup": 0.5,
        "intake_rounds": 1,
        "intake_concurrency": 50,
        "batch_size": 500,
        "batch_concurrency": 50,
        "producer_records": 10_000,
        "mapping_events": 1_000,
        "mapping_rounds": 1,
        "reporting_events": 20_000,
        "reporting_batch": 5000,
        "worker_events": 500,
        "requests": 20,
        "warmup_requests": 3,
        "e2e_seconds": 8.0,
        "e2e_rate": 100.0,
        "e2e_batch": 10,
        "e2e_triggers": 8,
        "e2e_settle": 90.0,
    },
}
INTAKE_TARGET_RATIO, INTAKE_TARGET_P99_MS, BATCH_TARGET = 0.60, 50.0, 20_000.0
# Mapping's floor is issue 19's (faust through its public API only): 0.6 of the bare loop.
MAPPING_TARGET_RATIO, E2E_TARGET_P99_MS = 0.60, 2000.0


class Run:
    """Phases in order; each one's result or error is kept."""

    def __init__(self) -> None:
        self.details: dict[str, dict] = {}
        self.errors: dict[str, str] = {}
        self.timings: dict[str, float] = {}

    def phase(self, name: str, fn, *args, **kwargs):
        log(f"== {name}")
        t0 = time.monotonic()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - recorded in the report, the other phases still run
            traceback.print_exc()
            self.errors[name] = f"{type(exc).__name__}: {exc}"
            log(f"== {name} FAILED: {self.errors[name]}")
            result = None
        self.timings[name] = round(time.monotonic() - t0, 1)
        if isinstance(result, dict):
            self.details[name] = result
        return result


def run_phases(stack: Stack, p: dict, run: Run) -> None:
    log(f"fresh Kafka and PostgreSQL on port base {stack.base} ({stack.home})")
    run.phase("stack", stack.fresh)
    if "stack" in run.errors:
        return
    intake = run.phase(
        "intake",
        bench_intake.run,
        stack,
        p["intake_seconds"],
        p["intake_concurrency"],
        p["batch_size"],
        p["batch_concurrency"],
        p["intake_warmup"],
        p["intake_rounds"],
    )
    record_size = round(intake["record_sizes"]["value_bytes_mean"]) if intake else 700
    run.phase("producer_performance", bench_producer.run, stack, p["producer_records"], record_size)
    run.phase("mapping", bench_mapping.run, stack, p["mapping_events"], p["mapping_rounds"])

    gen = bench_reporting.Generator()

    def reporting_load() -> dict:
        stack.stop()  # nothing may consume while the topics are emptied
        dropped = stack.truncate(FINDINGS.name, PERFORMANCE.name, MAPPED.name, DEADLETTER.name, ALERTS.name)
        log(
            f"reporting: {dropped:,} earlier records dropped; loading {p['reporting_events']:,} events "
            f"in batches of {p['reporting_batch']:,}"
        )
        return asyncio.run(bench_reporting.bulk_load(stack, gen, p["reporting_events"], p["reporting_batch"]))

    run.phase("reporting_load", reporting_load)
    run.phase("reporting_worker", bench_reporting.worker_rate, stack, gen, p["worker_events"])

    def platform() -> dict:
        # The worker phase's records must not reach the alerts worker: empty the topic first.
        dropped = stack.truncate(MAPPED.name)
        stack.start()
        return {"records_dropped_before_start": dropped}

    run.phase("platform_start", platform)
    if "platform_start" in run.errors:
        return

    def dashboard() -> dict:
        operator = stack.create_key("bench-ops", "operator", name="Benchmark operations")
        return bench_reporting.dashboard_latency(stack, operator, p["requests"], p["warmup_requests"])

    run.phase("dashboard", dashboard)
    run.phase(
        "e2e", bench_e2e.run, stack, p["e2e_seconds"], p["e2e_rate"], p["e2e_batch"], p["e2e_triggers"], p["e2e_settle"]
    )

    def memory() -> dict:
        peaks = stack.peak_memory((*SERVICES, "kafka"))
        log("peak memory (MiB): " + ", ".join(f"{k} {v:,.0f}" for k, v in peaks.items()))
        return peaks

    run.phase("memory", memory)


# -- the report --------------------------------------------------------------------------------


def _row(
    id_: str,
    metric: str,
    unit: str,
    value,
    baseline=None,
    baseline_name: str | None = None,
    target: str | None = None,
    passed: bool | None = None,
) -> dict:
    ratio = (
        round(value / baseline, 3)
        if isinstance(value, (int, float)) and isinstance(baseline, (int, float)) and baseline
        else None
    )
    return {
        "id": id_,
        "metric": metric,
        "unit": unit,
        "value": value,
        "baseline": baseline,
        "baseline_name": baseline_name,
        "ratio": ratio,
        "target": target,
        "pass": passed,
    }


def metrics(d: dict) -> list[dict]:
    """The report's table: one row per measured figure."""
    rows: list[dict] = []
    intake, producer, mapping = d.get("intake"), d.get("producer_performance"), d.get("mapping")
    if intake:
        s, sb, b, bb = (intake[k] for k in ("single_kafka", "single_baseline", "batch_kafka", "batch_baseline"))
        rows.append(
            _row(
                "intake.single.events_per_s",
                f"Intake single-event throughput (concurrency {intake['concurrency_single']})",
                "events/s",
                s["events_per_s"],
                sb["events_per_s"],
                "same app, no Kafka",
                f">= {INTAKE_TARGET_RATIO:.0%} of baseline",
                s["events_per_s"] >= INTAKE_TARGET_RATIO * sb["events_per_s"],
            )
        )
        for q in ("p50", "p95", "p99"):
            # The wording: at a concurrency of 50, 60% of the baseline's throughput with
            # p99 under 50 ms. The paced rows below hold the same bound at exactly that rate.
            target, passed = (
                (
                    f"< {INTAKE_TARGET_P99_MS:g} ms at concurrency {intake['concurrency_single']}",
                    intake["meets"]["single_p99_saturated"],
                )
                if q == "p99"
                else (None, None)
            )
            rows.append(
                _row(
                    f"intake.single.{q}_ms",
                    f"Intake single-event latency {q}, saturated",
                    "ms",
                    s[f"{q}_ms"],
                    sb[f"{q}_ms"],
                    "same app, no Kafka",
                    target,
                    passed,
                )
            )
        paced, paced_base = intake.get("single_paced_kafka"), intake.get("single_paced_baseline")
        if paced and paced_base:
            rows.append(
                _row(
                    "intake.single_paced.events_per_s",
                    "Intake single events served when offered "
                    f"{paced['offered_per_s']:,.0f}/s (60% of the baseline's throughput)",
                    "events/s",
                    paced["events_per_s"],
                    paced_base["events_per_s"],
                    "same app, no Kafka",
                )
            )
            for q in ("p50", "p95", "p99"):
                target, passed = (
                    (f"< {INTAKE_TARGET_P99_MS:g} ms, all offered served", intake["meets"]["single_p99_at_target_rate"])
                    if q == "p99"
                    else (None, None)
                )
                rows.append(
                    _row(
                        f"intake.single_paced.{q}_ms",
                        f"Intake single-event latency {q} at {paced['offered_per_s']:,.0f}/s",
                        "ms",
                        paced[f"{q}_ms"],
                        paced_base[f"{q}_ms"],
                        "same app, no Kafka",
                        target,
                        passed,
                    )
                )
        for lower in intake.get("single_paced_lower", []):
            rows.append(
                _row(
                    f"intake.single_paced_{round(lower['fraction_of_baseline'] * 100)}.p99_ms",
                    f"Intake single-event latency p99 at {lower['offered_per_s']:,.0f}/s "
                    f"({lower['fraction_of_baseline']:.0%} of the baseline's throughput; "
                    f"{lower['events_per_s']:,.0f}/s served)",
                    "ms",
                    lower["p99_ms"],
                )
            )
        rows.append(
            _row(
                "intake.batch.events_per_s",
                f"Intake batch throughput ({intake['batch']['size']} "
                f"per request, concurrency {intake['batch']['concurrency']})",
                "events/s",
                b["events_per_s"],
                bb["events_per_s"],
                "same app, no Kafka",
                f">= {BATCH_TARGET:,.0f} events/s",
                b["events_per_s"] >= BATCH_TARGET,
            )
        )
        for q in ("p50", "p95", "p99"):
            rows.append(
                _row(
                    f"intake.batch.{q}_ms",
                    f"Intake batch request latency {q}",
                    "ms",
                    b[f"{q}_ms"],
                    bb[f"{q}_ms"],
                    "same app, no Kafka",
                )
            )
        if producer:
            rows.append(
                _row(
                    "intake.batch.vs_producer_performance",
                    "Intake batch throughput against "
                    f"Kafka's ProducerPerformance ({producer['record_size_bytes']} B records, acks=all)",
                    "events/s",
                    b["events_per_s"],
                    producer["records_per_s"],
                    "ProducerPerformance records/s",
                )
            )
    if producer:
        rows.append(
            _row(
                "kafka.producer_performance.records_per_s",
                "Kafka ProducerPerformance (physical limit)",
                "records/s",
                producer["records_per_s"],
            )
        )
    if mapping:
        f, bare = mapping["faust_agent"], mapping["bare_aiokafka_loop"]
        rows.append(
            _row(
                "mapping.events_per_s",
                f"Mapping faust agent throughput ({mapping['events']:,} events)",
                "events/s",
                f["events_per_s"],
                bare["events_per_s"],
                "bare aiokafka loop",
                f">= {MAPPING_TARGET_RATIO:.0%} of baseline",
                f["events_per_s"] >= MAPPING_TARGET_RATIO * bare["events_per_s"],
            )
        )
    e2e = d.get("e2e")
    if e2e:
        lat = e2e["post_to_webhook"]
        rate = e2e["background_rate_target"]
        rows.append(
            _row(
                "e2e.background.events_per_s",
                "Background load accepted by intake during the end-to-end run",
                "events/s",
                e2e["background_achieved_events_per_s"],
                rate,
                "scheduled rate",
                ">= 95% of schedule",
                e2e["background_achieved_events_per_s"] >= 0.95 * rate,
            )
        )
        for name, per_s in e2e["worker_events_per_s_under_load"].items():
            rows.append(
                _row(
                    f"e2e.worker.{name}.events_per_s",
                    f"Stream worker throughput during the end-to-end load: {name} (committed offsets)",
                    "events/s",
                    per_s,
                    rate,
                    "offered rate",
                )
            )
        rows.append(
            _row(
                "e2e.webhooks_received",
                "Threshold crossings notified by webhook",
                "alerts",
                e2e["webhooks_received"],
                e2e["triggers_posted"],
                "crossings posted",
                "all",
                e2e["webhooks_missing"] == 0,
            )
        )
        for q in ("p50", "p95", "p99"):
            target, passed = (
                (f"< {E2E_TARGET_P99_MS:g} ms", lat["p99_ms"] is not None and lat["p99_ms"] < E2E_TARGET_P99_MS)
                if q == "p99"
                else (None, None)
            )
            rows.append(
                _row(
                    f"e2e.post_to_webhook.{q}_ms",
                    f"Post to webhook latency {q} at {rate:g} events/s",
                    "ms",
                    lat[f"{q}_ms"],
                    target=target,
                    passed=passed,
                )
            )
    load, worker = d.get("reporting_load"), d.get("reporting_worker")
    if load:
        rows.append(
            _row(
                "reporting.bulk.events_per_s",
                f"Rollup ingestion, bulk ({load['events']:,} events, ingest_many x {load['batch_size']:,})",
                "events/s",
                load["events_per_s"],
                target=">= 5,000 events/s",
                passed=load["events_per_s"] >= 5000,
            )
        )
        rows.append(
            _row(
                "reporting.rollup_events",
                "Events in the rollups when the dashboards are queried",
                "events",
                load["rollup_events_total"] + (worker["events"] if worker else 0),
            )
        )
    if worker:
        rows.append(
            _row(
                "reporting.worker.events_per_s",
                f"Rollup ingestion, reporting worker from Kafka ({worker['events']:,} events)",
                "events/s",
                worker["events_per_s"],
                target=">= 5,000 events/s",
                passed=worker["events_per_s"] >= 5000,
            )
        )
    dash = d.get("dashboard")
    if dash:
        o = dash["overview_region_90d"]
        rows.append(
            _row("reporting.overview_90d.p50_ms", "Dashboard JSON, 90-day region overview p50", "ms", o["p50_ms"])
        )
        rows.append(
            _row(
                "reporting.overview_90d.p95_ms",
                "Dashboard JSON, 90-day region overview p95",
                "ms",
                o["p95_ms"],
                target="< 100 ms",
                passed=o["p95_ms"] < 100,
            )
        )
        for name, label in (("heatmap_region_90d", "heat map"), ("unmet_needs_region_90d", "unmet needs")):
            rows.append(
                _row(
                    f"reporting.{name}.p95_ms", f"Dashboard JSON, 90-day region {label} p95", "ms", dash[name]["p95_ms"]
                )
            )
    if intake:
        for name, mib in intake["peak_memory_mib"].items():
            rows.append(
                _row(
                    f"memory.intake_phase.{name}",
                    f"Peak memory (VmHWM), {name.replace('_', ' ')}, intake benchmark",
                    "MiB",
                    mib,
                )
            )
    if mapping:
        rows.append(
            _row(
                "memory.mapping_phase.mapping",
                "Peak memory (VmHWM), mapping agent, mapping benchmark",
                "MiB",
                mapping["faust_agent"]["peak_memory_mib"],
            )
        )
        rows.append(
            _row(
                "memory.mapping_phase.bare_loop",
                "Peak memory (max RSS), bare aiokafka loop",
                "MiB",
                mapping["bare_aiokafka_loop"]["peak_memory_mib"],
            )
        )
    for name, mib in (d.get("memory") or {}).items():
        rows.append(
            _row(
                f"memory.platform.{name}",
                f"Peak memory (VmHWM), {name}, whole platform under the dashboard and end-to-end load",
                "MiB",
                mib,
            )
        )
    return rows


def _fmt(value, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (isinstance(value, float) and abs(value) >= 100):
        return f"{value:,.0f}"
    return f"{value:,.1f}" if isinstance(value, float) else str(value)


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        "# Benchmark report",
        "",
        f"Command: `{report['command']}`"
        f"{' (quick smoke run: small counts, not a measurement)' if report['quick'] else ''}",
        "",
        f"Measured {m['date']} at commit `{m['git_commit'][:12]}`"
        + (
            f" with {m['git_uncommitted_tracked_files']} tracked files changed"
            if m["git_uncommitted_tracked_files"]
            else ""
        )
        + f"; the run took {report['duration_seconds']:,.0f} s.",
        "",
        "| machine | |",
        "|---|---|",
        f"| cores | {m['cores']} ({m['cpu']}) |",
        f"| RAM | {m['ram_gib']} GiB |",
        f"| OS | {m['os']} |",
        f"| Python | {m['python']} |",
        f"| Java | {m['java']} |",
        f"| Kafka | {m['kafka']} (KRaft, single node) |",
        f"| PostgreSQL | {report.get('postgres') or '—'} |",
        f"| load average at start / end | {' '.join(map(str, m['load_average']))} / "
        f"{' '.join(map(str, report['load_average_end']))} |",
        "",
        "| metric | value | baseline | ratio | target | pass/fail |",
        "|---|---:|---:|---:|---|---|",
    ]
    for r in report["metrics"]:
        base = f"{_fmt(r['baseline'])} ({r['baseline_name']})" if r["baseline"] is not None else "—"
        verdict = "—" if r["pass"] is None else ("pass" if r["pass"] else "**fail**")
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.2f}"
        lines.append(
            f"| {r['metric']} | {_fmt(r['value'])} {r['unit']} | {base} | {ratio} | {r['target'] or '—'} | {verdict} |"
        )
    lines += ["", "How the figures were made:", ""]
    lines += [f"- {note}" for note in report["notes"]]
    if report["errors"]:
        lines += ["", "Phases that failed:", ""]
        lines += [f"- {name}: {err}" for name, err in report["errors"].items()]
    lines += ["", "Seconds per phase: " + ", ".join(f"{k} {v:g}" for k, v in report["phase_seconds"].items()), ""]
    return "\n".join(lines)


def _stages(stages: dict | None) -> str:
    if not stages or not all(v.get("n") for v in stages.values()):
        return ""
    return (
        " Where a crossing spent its time, p50 / p99 from the records' own timestamps: "
        + "; ".join(
            f"{name.replace('_', ' ')} {v['p50_ms']:,.0f} / {v['p99_ms']:,.0f} ms" for name, v in stages.items()
        )
        + "."
    )


def notes(d: dict) -> list[str]:
    out = [
        "Everything ran on this one machine, side by side in this run: the services, Kafka, "
        "PostgreSQL and the load generators share its cores, so each figure includes the cost of "
        "the load generator driving it."
    ]
    if "intake" in d:
        i = d["intake"]
        out.append(
            f"Intake: {i['seconds_per_run']:g} s per figure, the service (Kafka, acks=all) "
            "and the baseline (the same FastAPI app and PostgreSQL ledger, a publisher that "
            "acknowledges at once) driven in turn with the same bodies. Throughput in a closed loop "
            "(each of the clients posts again as soon as it is answered: saturated, so latency "
            "there is queueing, concurrency / throughput); latency target in an open loop offering "
            "60% of the baseline's saturated throughput over at most 50 connections, each latency "
            "counted from when its request was due."
        )
        if i.get("single_rounds"):

            def by_round(shape: str) -> str:
                return ", ".join(
                    f"{r['kafka']['events_per_s']:,.0f} against {r['baseline']['events_per_s']:,.0f} ({r['ratio']:.2f})"
                    for r in i[f"{shape}_rounds"]
                )

            out.append(
                f"Intake closed loops in {i['rounds']} rounds, the service and the baseline side by side "
                "in each, who goes first alternating; the table shows the round with the median ratio "
                f"(single events) or the median throughput (batches). Single events by round: "
                f"{by_round('single')} events/s; batches: {by_round('batch')} events/s."
            )
    if "producer_performance" in d:
        pp = d["producer_performance"]
        out.append(
            f"Physical limit: `{pp['tool']}` from the Kafka {pp['kafka']} jars, {pp['records']:,} records of "
            f"{pp['record_size_bytes']} bytes (the mean value size of intake's records on "
            f"{FINDINGS.name}), unthrottled, with intake's producer settings "
            f"({', '.join(f'{k}={v}' for k, v in pp['producer_props'].items())})."
        )
    if "mapping" in d:
        m = d["mapping"]
        rounds = m.get("rounds", 1)
        turns = (
            (
                f" They take turns, {rounds} rounds each, and each side's best round counts (agent "
                f"{', '.join(f'{x:,.0f}' for x in m['faust_agent'].get('rounds_events_per_s', []))}; bare loop "
                f"{', '.join(f'{x:,.0f}' for x in m['bare_aiokafka_loop'].get('rounds_events_per_s', []))} "
                "events/s)."
            )
            if rounds > 1
            else ""
        )
        out.append(
            "Mapping: both read the same pre-loaded findings and produce with acks=all; throughput "
            "from the first to the last output record's broker timestamp." + turns
        )
    if "reporting_load" in d:
        r = d["reporting_load"]
        out.append(
            f"The {r['events']:,} events were bulk-loaded straight into PostgreSQL through "
            f"`ReportingStore.ingest_many` (the reporting worker's own insert, dedupe and rollup code) in "
            f"transactions of {r['batch_size']:,} events, not through Kafka; the bulk rate counts only the "
            f"time inside it ({r['wall_seconds_with_generation']:,.0f} s wall time with generating the "
            "events). The worker row is the reporting worker itself, as deploy/local/services.sh starts "
            "it, consuming mapped.events.v1."
        )
    if "e2e" in d:
        e = d["e2e"]
        out.append(
            f"End to end: {e['seconds']:g} s of background findings at {e['background_rate_target']:g} "
            f"events/s (batches of {e['background_batch']}, themes that cross no threshold) plus "
            f"{e['triggers_posted']} single posts that each open a new unmet-need alert; latency from "
            "just before the post to the signed webhook reaching a receiver in the benchmark process, "
            f"through intake, Kafka, mapping, the alerts worker and the alerts API; crossings not "
            f"notified within {e['settle_seconds']:g} s after the load are counted as missing, not in the "
            f"percentiles. Unexpected alerts notified: {e['unexpected_alerts_notified']}. Worker rows: "
            "offsets each stream worker committed during the load window, per second (its rate when "
            "it keeps up, its capacity when it does not); largest lag seen: "
            + ", ".join(f"{k} {v:,}" for k, v in e["max_consumer_lag_records"].items())
            + " records."
            + _stages(e.get("post_to_webhook_by_stage"))
        )
    if "memory" in d:
        out.append(
            "Peak memory: VmHWM from /proc/<pid>/status of each process deploy/local/services.sh "
            "started (pid files under the stack's run/), added up with its worker processes' "
            "(intake's gunicorn master and workers), read after the end-to-end run."
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run, not a measurement")
    parser.add_argument("--port-base", type=int, default=DEFAULT_BASE)
    parser.add_argument("--out", type=Path, default=ARTIFACTS)
    for key, value in PRESETS["full"].items():
        parser.add_argument(
            f"--{key.replace('_', '-')}",
            type=type(value),
            default=None,
            help=f"default {value:,} (quick: {PRESETS['quick'][key]:,})",
        )
    parser.add_argument(
        "--render",
        type=Path,
        metavar="REPORT_JSON",
        help="measure nothing: rebuild the table and report.md from a report.json",
    )
    args = parser.parse_args(argv)
    if args.render:
        report = json.loads(args.render.read_text())
        report.update(metrics=metrics(report["details"]), notes=notes(report["details"]))
        args.render.write_text(json.dumps(report, indent=2, default=str) + "\n")
        (args.render.parent / "report.md").write_text(markdown(report))
        print(markdown(report))
        return 0
    p = {
        k: (getattr(args, k) if getattr(args, k) is not None else v)
        for k, v in PRESETS["quick" if args.quick else "full"].items()
    }
    stack = Stack(args.port_base)
    started = time.monotonic()
    info = machine()
    run = Run()
    log(
        f"benchmarks ({'quick' if args.quick else 'full'}) on {info['cores']} cores, load average "
        f"{info['load_average']}, commit {info['git_commit'][:12]}"
    )
    postgres = None
    try:
        run_phases(stack, p, run)
        postgres = _postgres_version(stack)
    finally:
        log("stopping the benchmark stack")
        stack.stop_all()
    report = {
        "command": "python -m tests.benchmarks.run_all " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "quick": args.quick,
        "port_base": stack.base,
        "parameters": p,
        "machine": info,
        "postgres": postgres,
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "duration_seconds": round(time.monotonic() - started, 1),
        "phase_seconds": run.timings,
        "errors": run.errors,
        "metrics": metrics(run.details),
        "notes": notes(run.details),
        "details": run.details,
    }
    report["command"] = report["command"].strip()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    text = markdown(report)
    (args.out / "report.md").write_text(text)
    print(text)
    log(f"wrote {args.out / 'report.json'} and {args.out / 'report.md'}")
    return 1 if run.errors else 0


def _postgres_version(stack: Stack) -> str | None:
    import asyncpg

    async def version() -> str:
        conn = await asyncpg.connect(stack.dsn, timeout=10)
        try:
            return await conn.fetchval("SHOW server_version")
        finally:
            await conn.close()

    try:
        return asyncio.run(version())
    except (OSError, asyncpg.PostgresError):
        return None


if __name__ == "__main__":
    sys.exit(main())
