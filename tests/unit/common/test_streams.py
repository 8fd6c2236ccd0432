"""Stream worker helpers: counting a batch of records, faust settings, consumer lag."""

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
        "t_records_total", {"worker": "w", "topic": topic, "outcome": outcome}
    )
    assert value("a", "stored") == 3 and value("b", "duplicate") == 1
    assert sorted(calls) == [("a", "stored"), ("b", "duplicate")]
    inc_each(series, [])
    assert value("a", "stored") == 3


def test_worker_apps_get_the_stream_buffer_size_set():
    """faust's own 4,096 paused the reporting worker's fetches so often it fell behind."""
    from services.common.settings import CommonSettings
    from services.common.streams import make_app

    assert CommonSettings().stream_buffer_maxsize == 16384
    app = make_app("csp-test-buffer", CommonSettings(stream_buffer_maxsize=1234), 65002)
    assert app.conf.stream_buffer_maxsize == 1234


def test_worker_apps_refresh_their_metadata_every_ten_seconds():
    """After a broker comes back from a partition, aiokafka asks the old leader for offsets until
    its metadata is refreshed; faust's default of five minutes stalled a worker that long."""
    from services.common.settings import CommonSettings
    from services.common.streams import make_app

    assert CommonSettings().kafka_metadata_max_age_ms == 10_000
    app = make_app("csp-test-metadata", CommonSettings(kafka_metadata_max_age_ms=4321), 65004)
    assert app.conf.consumer_metadata_max_age_ms == 4321
