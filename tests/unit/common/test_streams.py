"""Counting a batch of records with one increment per series."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from services.common.streams import inc_each


def test_inc_each_adds_each_distinct_label_tuple_once_with_its_count():
    registry = CollectorRegistry()
    seen = Counter("t_records_total", "test", ["worker", "topic", "outcome"], registry=registry)
    calls = []

    def series(topic, outcome):
        calls.append((topic, outcome))
        return seen.labels("w", topic, outcome)

    inc_each(series, [("a", "stored"), ("a", "stored"), ("b", "duplicate"), ("a", "stored")])
    value = lambda topic, outcome: registry.get_sample_value(  # noqa: E731
        "t_records_total", {"worker": "w", "topic": topic, "outcome": outcome})
    assert value("a", "stored") == 3 and value("b", "duplicate") == 1
    assert sorted(calls) == [("a", "stored"), ("b", "duplicate")]
    inc_each(series, [])
    assert value("a", "stored") == 3
