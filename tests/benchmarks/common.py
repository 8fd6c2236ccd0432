"""Shared pieces of the benchmarks: their own stack on port base 59000, timing, JSON reports."""
from __future__ import annotations

import json
import platform
import statistics
import sys
from datetime import datetime, timezone

from tests.stackenv import REPO, run_script, stack_env

BENCH_BASE = 59000
BENCH_HOME = REPO / ".local" / "bench"
BENCH_ENV = {**stack_env(BENCH_BASE, BENCH_HOME), "CSP_KAFKA_HEAP": "1g", "CSP_LOG_LEVEL": "WARNING"}


def bench(script: str, *args: str, timeout: int = 600) -> str:
    return run_script(BENCH_ENV, script, *args, timeout=timeout)


def fresh_infra() -> None:
    """A clean Kafka and PostgreSQL for the benchmark, topics created, schema migrated."""
    bench("stack.sh", "reset")
    bench("stack.sh", "infra")


def stop_all() -> None:
    for script, action in (("services.sh", "stop"), ("kafka.sh", "stop"), ("postgres.sh", "stop")):
        try:
            bench(script, action)
        except RuntimeError as exc:  # keep stopping the rest
            print(f"warning: {exc}", file=sys.stderr)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def latency_summary(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 2), "p99_ms": round(percentile(ms, 99), 2),
            "mean_ms": round(statistics.fmean(ms), 2) if ms else None, "max_ms": round(max(ms), 2) if ms else None}


def report(name: str, body: dict) -> dict:
    out = {"benchmark": name, "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()}, **body}
    text = json.dumps(out, indent=2)
    print(text)
    path = REPO / "artifacts" / "benchmarks" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    return out
