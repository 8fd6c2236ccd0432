"""Read the real topics back, to check what intake and the workers actually wrote."""

from __future__ import annotations

import json
import time

from kafka import KafkaConsumer, TopicPartition

from tests.conftest import TEST_ENV


def _reader() -> KafkaConsumer:
    """A consumer outside any group that commits nothing: it reads, it never moves an offset."""
    return KafkaConsumer(
        bootstrap_servers=TEST_ENV["CSP_KAFKA_BOOTSTRAP"],
        enable_auto_commit=False,
        group_id=None,
        consumer_timeout_ms=1000,
    )


def records(topic: str, timeout: float = 60.0) -> list:
    """Every record on ``topic`` now, from the beginning of each partition."""
    consumer = _reader()
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        out, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline and any(consumer.position(tp) < ends[tp] for tp in parts):
            for batch in consumer.poll(timeout_ms=500).values():
                out.extend(batch)
        return out
    finally:
        consumer.close()


def between(topic: str, partition: int, first: int, last: int, timeout: float = 10.0) -> dict:
    """The records at offsets ``first``..``last`` of one partition, by offset: a read of just
    that range, however long the log."""
    consumer = _reader()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, first)
        out, deadline = {}, time.monotonic() + timeout
        while time.monotonic() < deadline and consumer.position(tp) <= last:
            for batch in consumer.poll(timeout_ms=500).values():
                out.update((r.offset, r) for r in batch if first <= r.offset <= last)
        return out
    finally:
        consumer.close()


def json_values(topic: str, timeout: float = 60.0) -> list:
    """The JSON objects on ``topic``; records that are not JSON objects (poison that tests put on
    the log on purpose) are left out."""
    out = []
    for r in records(topic, timeout):
        try:
            value = json.loads(r.value)
        except (ValueError, TypeError):
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def with_header(topic: str, name: str, value: str) -> list:
    return [r for r in records(topic) if (name, value.encode()) in list(r.headers or [])]
