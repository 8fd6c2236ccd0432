"""Stream worker helpers: counting a batch of records, faust settings, holding a failed batch."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from faust.types.tuples import ConsumerMessage
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


class _Consumer:
    """Records the offsets faust's consumer would be allowed to commit."""

    def __init__(self) -> None:
        self.acked: list[int] = []

    def ack(self, message) -> bool:
        self.acked.append(message.offset)
        return True


def _handed_over(consumer: _Consumer, *offsets: int) -> list:
    """Events as take_events hands them to an agent: one reference each, held by the stream."""
    events = []
    for offset in offsets:
        message = ConsumerMessage("mapped.events.v1", 0, offset, 0.0, 0, None, b"k", b"v", None)
        message.incref()
        events.append(SimpleNamespace(message=message, ack=lambda m=message: m.ack(consumer)))
    return events


def _take_events_finally(events) -> None:
    """What take_events does after the agent's body for a batch, finished or not (its finally)."""
    for event in events:
        event.ack()


async def test_a_batch_whose_body_fails_is_never_acknowledged_so_never_committed():
    from services.common.streams import held_on_failure

    consumer = _Consumer()
    for failure in (RuntimeError("store broke"), asyncio.CancelledError()):
        events = _handed_over(consumer, 1, 2)
        with pytest.raises(type(failure)):
            with held_on_failure(events):
                raise failure
        _take_events_finally(events)
        assert consumer.acked == []


async def test_a_batch_whose_body_finishes_is_acknowledged_as_before():
    from services.common.streams import held_on_failure

    consumer = _Consumer()
    events = _handed_over(consumer, 1, 2)
    for _ in range(1):
        with held_on_failure(events):
            continue            # an agent's "nothing to store here" is a finished body too
    _take_events_finally(events)
    assert consumer.acked == [1, 2]
