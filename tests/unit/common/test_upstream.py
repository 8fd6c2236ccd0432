"""faust-streaming #315 (services/common/upstream.py): take_events acknowledges, in a ``finally``,
every event it handed to an agent, whether the body finished or not. These tests replay that
``finally`` on real faust messages and check that a batch whose body failed is never acknowledged."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from faust.types.tuples import ConsumerMessage

from services.common.upstream import held_on_failure


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
    consumer = _Consumer()
    for failure in (RuntimeError("store broke"), asyncio.CancelledError()):
        events = _handed_over(consumer, 1, 2)
        with pytest.raises(type(failure)):
            with held_on_failure(events):
                raise failure
        _take_events_finally(events)
        assert consumer.acked == []


async def test_a_batch_whose_body_finishes_is_acknowledged_as_before():
    consumer = _Consumer()
    events = _handed_over(consumer, 1, 2)
    for _ in range(1):
        with held_on_failure(events):
            continue            # an agent's "nothing to store here" is a finished body too
    _take_events_finally(events)
    assert consumer.acked == [1, 2]
