"""Shared pieces of the benchmarks: their own stack, a progress log, timing, process memory,
machine facts and JSON reports.

Every benchmark runs on a stack of its own, started by the project's scripts (deploy/local/) on
one port base: 59000 by default (Kafka 59092, PostgreSQL 55432, services 58081-58086, the intake
baseline 58091, data under .local/bench), so it never touches the demo stack or a test session.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tests.stackenv import REPO, run_script, stack_env

DEFAULT_BASE = 59000
ARTIFACTS = REPO / "artifacts" / "benchmarks"
SERVICES = ("intake", "mapping", "alerts", "alerts-api", "reporting-worker", "reporting")
#: Settings every benchmark stack runs with: a bigger broker heap, quiet logs, and rate limits
#: out of the way (the load generator posts with one key, as no partner would).
BENCH_SETTINGS = {
    "CSP_KAFKA_HEAP": "1g",
    "CSP_LOG_LEVEL": "WARNING",
    "CSP_KEY_CACHE_SECONDS": "60",
    "CSP_RATE_LIMIT_PER_SECOND": "1000000",
    "CSP_RATE_LIMIT_BURST": "1000000",
    # The benchmarks read as fast as the services answer: no per-key read limit.
    "CSP_READS_PER_SECOND": "1000000",
    "CSP_READS_BURST": "1000000",
}

_STARTED = time.monotonic()


def log(message: str) -> None:
    """One progress line on stderr: wall clock and seconds since the run began."""
    print(f"[{datetime.now():%H:%M:%S} +{time.monotonic() - _STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


@dataclass
class Stack:
    """Kafka, PostgreSQL and the services on one port base, driven by deploy/local's scripts."""

    base: int = DEFAULT_BASE
    home: Path = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.home is None:
            name = "bench" if self.base == DEFAULT_BASE else f"bench-{self.base}"
            self.home = REPO / ".local" / name
        self.env = {**stack_env(self.base, self.home), **BENCH_SETTINGS}

    # -- addresses ---------------------------------------------------------------------------
    @property
    def bootstrap(self) -> str:
        return self.env["CSP_KAFKA_BOOTSTRAP"]

    @property
    def dsn(self) -> str:
        return self.env["CSP_PG_DSN"]

    @property
    def baseline_port(self) -> int:
        """The intake baseline (no Kafka) listens next to the service ports."""
        return self.base - 909

    def port(self, service: str) -> int:
        return int(self.env[f"CSP_{service.upper().replace('-', '_')}_PORT"])

    def url(self, service: str, path: str) -> str:
        return f"http://127.0.0.1:{self.port(service)}{path}"

    def process_env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, **self.env, "PYTHONPATH": str(REPO), **extra}

    # -- processes ---------------------------------------------------------------------------
    def script(self, script: str, *args: str, timeout: int = 600) -> str:
        return run_script(self.env, script, *args, timeout=timeout)

    def fresh(self) -> None:
        """A clean Kafka and PostgreSQL, topics created, schema migrated."""
        self.script("stack.sh", "reset")
        self.wait_ports(self.ports())
        self.script("stack.sh", "infra")

    def ports(self) -> dict[str, int]:
        named = {
            "kafka": int(self.env["CSP_KAFKA_PORT"]),
            "kafka-controller": int(self.env["CSP_KAFKA_CONTROLLER_PORT"]),
            "postgres": int(self.env["CSP_PG_PORT"]),
            "intake-baseline": self.baseline_port,
        }
        return {**named, **{name: self.port(name) for name in SERVICES}}

    def busy_ports(self, names=None) -> list[str]:
        """Ports of this stack that cannot be bound now, with what holds them if ss can tell.
        Ports in the kernel's ephemeral range (32768-60999 by default) can be held for a while by
        any outgoing connection on the machine, which makes a service fail to start."""
        busy = []
        for name, port in self.ports().items():
            if names is not None and name not in names:
                continue
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("0.0.0.0", port))
                except OSError as exc:
                    held = (
                        subprocess.run(["ss", "-tanpH", f"sport = :{port}"], capture_output=True, text=True)
                        .stdout.strip()
                        .replace("\n", "; ")
                    )
                    busy.append(f"{name} {port} ({exc.strerror}{': ' + held if held else ''})")
        return busy

    def wait_ports(self, names, timeout: float = 60) -> None:
        """Until the named services' ports can be bound; waits out connections that hold one."""
        deadline = time.monotonic() + timeout
        while busy := self.busy_ports(set(names)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"ports still in use after {timeout:g}s: {', '.join(busy)}")
            log(f"waiting for ports in use: {', '.join(busy)}")
            time.sleep(5)

    def start(self, *services: str, attempts: int = 3) -> None:
        """services.sh start, retried when a port was taken meanwhile (see :meth:`busy_ports`)."""
        for attempt in range(1, attempts + 1):
            self.wait_ports([n for n in (services or SERVICES) if self.pid(n) is None])
            try:
                self.script("services.sh", "start", *services, timeout=600)
                return
            except RuntimeError as exc:
                if "address already in use" not in str(exc) or attempt == attempts:
                    raise
                log(
                    f"a port was taken while the services started (attempt {attempt}); starting the "
                    "ones that exited again"
                )
                time.sleep(5)

    def stop(self, *services: str) -> None:
        self.script("services.sh", "stop", *services)

    def stop_all(self) -> None:
        for script, action in (("services.sh", "stop"), ("kafka.sh", "stop"), ("postgres.sh", "stop")):
            try:
                self.script(script, action)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:  # keep stopping the rest
                print(f"warning: {exc}", file=sys.stderr)

    def pid(self, name: str) -> int | None:
        """The pid services.sh (or kafka.sh) recorded for ``name``, if that process is alive."""
        path = self.home / ("kafka/kafka.pid" if name == "kafka" else f"run/{name}.pid")
        try:
            pid = int(path.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def peak_memory(self, names: tuple[str, ...] = SERVICES) -> dict[str, float]:
        """VmHWM (peak resident set) in MiB of each named process that is running."""
        out = {}
        for name in names:
            pid = self.pid(name)
            mib = vmhwm_mib(pid) if pid else None
            if mib is not None:
                out[name] = mib
        return out

    def create_key(self, org: str, role: str, areas: str = "", name: str | None = None) -> str:
        """A key from the project's key CLI; a partner's ``areas`` are those its organisation serves
        (the organisation registry), where intake lets it post."""
        args = [sys.executable, "-m", "services.common.keys", "create", "--org", org, "--role", role, "--json"]
        if areas:
            args += ["--areas", areas]
        if name:
            args += ["--name", name]
        out = subprocess.run(args, env=self.process_env(), cwd=REPO, capture_output=True, text=True, check=True)
        return json.loads(out.stdout)["api_key"]

    # -- topics ------------------------------------------------------------------------------
    def end_offsets(self, topic: str) -> dict:
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None)
        try:
            parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            return consumer.end_offsets(parts)
        finally:
            consumer.close()

    def truncate(self, *topics: str) -> int:
        """Delete every record now on ``topics`` (Kafka's DeleteRecords): a consumer group that
        starts later from "earliest" begins at today's end. Returns how many records went."""
        from kafka.admin import KafkaAdminClient

        ends = {}
        for topic in topics:
            ends.update({tp: end for tp, end in self.end_offsets(topic).items() if end > 0})
        if ends:
            admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
            try:
                admin.delete_records(ends, timeout_ms=30000)
            finally:
                admin.close()
        return sum(ends.values())

    def create_topic(self, name: str, partitions: int) -> None:
        from kafka.admin import KafkaAdminClient, NewTopic
        from kafka.errors import TopicAlreadyExistsError

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        try:
            admin.create_topics([NewTopic(name, partitions, 1)])
        except TopicAlreadyExistsError:
            pass
        finally:
            admin.close()


def vmhwm_mib(pid: int) -> float | None:
    """Peak resident set size of a live process (VmHWM in /proc/<pid>/status), in MiB, added up
    over it and its descendants (a service's worker processes)."""
    total, pending, seen = 0, [pid], False
    while pending:
        one = pending.pop()
        try:
            text = Path(f"/proc/{one}/status").read_text()
            children = Path(f"/proc/{one}/task/{one}/children").read_text().split()
        except OSError:
            continue
        match = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
        if match:
            total, seen = total + int(match.group(1)), True
        pending.extend(int(c) for c in children)
    return round(total / 1024, 1) if seen else None


def wait_http(url: str, timeout: float = 60, proc: subprocess.Popen | None = None) -> None:
    """Until ``url`` answers 200 (``proc`` exiting first is an error)."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} not ready after {timeout}s")


# -- statistics --------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def latency_summary(seconds: list[float]) -> dict:
    """n, p50/p95/p99, mean and max in milliseconds."""
    ms = [s * 1000 for s in seconds]
    if not ms:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None, "mean_ms": None, "max_ms": None}
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "mean_ms": round(sum(ms) / len(ms), 2),
        "max_ms": round(max(ms), 2),
    }


# -- machine and reports -----------------------------------------------------------------------


def kafka_libs() -> tuple[str, Path]:
    """The Kafka version and jar folder the local scripts use (deploy/local/env.sh)."""
    out = subprocess.run(
        ["bash", "-c", f'source "{REPO}/deploy/local/env.sh"; echo "$CSP_KAFKA_VERSION"; echo "$KAFKA_LIBS"'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    return out[0], Path(out[1])


def machine() -> dict:
    """What the numbers were measured on."""
    meminfo = Path("/proc/meminfo").read_text()
    ram_kb = int(re.search(r"^MemTotal:\s+(\d+) kB", meminfo, re.M).group(1))
    cpu = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()

    changed = [line for line in git("status", "--porcelain", "--untracked-files=no").splitlines() if line]
    kafka_version, libs = kafka_libs()
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()
    return {
        "cores": os.cpu_count(),
        "cpu": cpu.group(1).strip() if cpu else platform.processor(),
        "ram_gib": round(ram_kb / 1024 / 1024, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "java": java[0] if java else None,
        "kafka": kafka_version,
        "kafka_jar_present": (libs / f"kafka_2.13-{kafka_version}.jar").exists(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git("rev-parse", "HEAD"),
        "git_uncommitted_tracked_files": len(changed),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def report(name: str, body: dict) -> dict:
    """Print one benchmark's JSON report and keep it as artifacts/benchmarks/<name>.json."""
    out = {
        "benchmark": name,
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cores": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        },
        **body,
    }
    text = json.dumps(out, indent=2, default=str)
    print(text)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.json").write_text(text + "\n")
    return out
