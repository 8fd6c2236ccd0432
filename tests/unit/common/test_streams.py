"""Counting a batch of records with one increment per series."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from services.common.metrics import inc_each


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


async def test_worker_consumers_get_the_fetch_wait_set_not_fausts_fixed_1500_ms():
    """aiokafka consumers are made inside a running loop; nothing connects until start()."""
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    from services.common.settings import CommonSettings
    from services.common.streams import bound_fetch_wait, make_app

    app = make_app("csp-test-fetch-wait", CommonSettings(kafka_fetch_max_wait_ms=120), 65000)
    thread = app.consumer._thread
    consumer = thread._create_worker_consumer(app.transport)
    assert consumer._fetch_max_wait_ms == 120
    bound_fetch_wait(80)  # set again: replaces the value, does not wrap the wrapper
    assert thread._create_worker_consumer(app.transport)._fetch_max_wait_ms == 80
    assert not hasattr(AIOKafkaConsumerThread._create_worker_consumer.__wrapped__, "__wrapped__")


def test_worker_apps_get_the_stream_buffer_size_set():
    """faust's own 4,096 paused the reporting worker's fetches so often it fell behind."""
    from services.common.settings import CommonSettings
    from services.common.streams import make_app

    assert CommonSettings().stream_buffer_maxsize == 16384
    app = make_app("csp-test-buffer", CommonSettings(stream_buffer_maxsize=1234), 65002)
    assert app.conf.stream_buffer_maxsize == 1234
