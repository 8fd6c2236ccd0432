"""The physical limit for intake's batches: Kafka's own producer performance tool.

    python -m tests.benchmarks.bench_producer [--records 200000] [--record-size 700]

Runs ``org.apache.kafka.tools.ProducerPerformance`` from the same jars the broker runs from
(deploy/local/env.sh's KAFKA_LIBS), launched with the machine's java the way deploy/local/kafka.sh
launches its tools, against the benchmark's broker. It writes to a topic of its own with the
findings topic's partition count, with acks=all and the producer settings intake uses (idempotent,
linger.ms=2, batch.size=1 MiB, no compression), records of the size intake's records have
on the findings topic. Unthrottled (--throughput -1): the most this broker takes from one producer.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

from contracts.topics import FINDINGS
from tests.benchmarks.common import Stack, kafka_libs, log, report

TOPIC = "bench.producer-performance"
#: intake's AIOKafkaProducer (services/intake/adapters/producer.py), in Java client names.
PRODUCER_PROPS = {
    "acks": "all",
    "enable.idempotence": "true",
    "linger.ms": "2",
    "batch.size": str(1 << 20),
    "compression.type": "none",
}
SUMMARY = re.compile(
    r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, "
    r"([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th"
)


def run(stack: Stack, records: int, record_size: int) -> dict:
    """Needs Kafka up."""
    stack.create_topic(TOPIC, FINDINGS.partitions)
    version, libs = kafka_libs()
    log4j = stack.home / "producer-performance-log4j.properties"
    log4j.write_text(
        "log4j.rootLogger=WARN, stderr\n"
        "log4j.appender.stderr=org.apache.log4j.ConsoleAppender\n"
        "log4j.appender.stderr.Target=System.err\n"
        "log4j.appender.stderr.layout=org.apache.log4j.PatternLayout\n"
        "log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
    )
    props = {"bootstrap.servers": stack.bootstrap, **PRODUCER_PROPS}
    cmd = [
        "java",
        "-Xmx512m",
        "-cp",
        f"{libs}/*",
        f"-Dlog4j.configuration=file:{log4j}",
        "org.apache.kafka.tools.ProducerPerformance",
        "--topic",
        TOPIC,
        "--num-records",
        str(records),
        "--record-size",
        str(record_size),
        "--throughput",
        "-1",
        "--producer-props",
        *(f"{k}={v}" for k, v in props.items()),
    ]
    log(f"ProducerPerformance (Kafka {version}): {records:,} records of {record_size} bytes, acks=all")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"ProducerPerformance failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    match = None
    for line in proc.stdout.splitlines():
        match = SUMMARY.search(line) or match
    if match is None:
        raise RuntimeError(f"no summary line in ProducerPerformance's output:\n{proc.stdout}")
    sent, rate, mb, avg, mx, p50, p95, p99 = match.groups()
    out = {
        "tool": "org.apache.kafka.tools.ProducerPerformance",
        "kafka": version,
        "topic": TOPIC,
        "partitions": FINDINGS.partitions,
        "record_size_bytes": record_size,
        "producer_props": PRODUCER_PROPS,
        "records": int(sent),
        "records_per_s": float(rate),
        "mb_per_s": float(mb),
        "avg_latency_ms": float(avg),
        "max_latency_ms": float(mx),
        "p50_ms": int(p50),
        "p95_ms": int(p95),
        "p99_ms": int(p99),
    }
    log(f"ProducerPerformance: {out['records_per_s']:,.0f} records/s, p99 {out['p99_ms']} ms")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--record-size", type=int, default=700)
    args = parser.parse_args(argv)
    stack = Stack()
    try:
        log(f"fresh Kafka and PostgreSQL ({stack.home})")
        stack.fresh()
        body = run(stack, args.records, args.record_size)
    finally:
        stack.stop_all()
    report("producer_performance", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
