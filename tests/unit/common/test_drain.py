"""faust's per-record wait_first, stepped eagerly: same answers, no tasks when nothing waits."""
from __future__ import annotations

import asyncio

import pytest
from mode import Service

from services.common.drain import Resume, eager_drain, step


class Base(Service):
    """mode's wait_first, counted."""

    def __init__(self) -> None:
        super().__init__()
        self.suspend_flow = asyncio.Event()
        self.slow_calls = 0

    async def wait_first(self, *coros, timeout=None):
        self.slow_calls += 1
        return await super().wait_first(*coros, timeout=timeout)


class Drainer(Base):
    pass


eager_drain(Drainer)


async def test_a_callback_that_never_waits_is_answered_on_the_spot_without_tasks():
    d = Drainer()
    seen = []

    async def callback(x):
        seen.append(x)
        return x * 2

    suspended = d.suspend_flow.wait()
    tasks_before = len(asyncio.all_tasks())
    result = await d.wait_first(callback(21), suspended)
    assert result.results == [42] and not result.stopped and seen == [21]
    assert d.slow_calls == 0 and len(asyncio.all_tasks()) == tasks_before
    assert suspended.cr_frame is None          # closed, never awaited: no warning either


async def test_a_callback_that_waits_finishes_through_modes_wait_first():
    d = Drainer()
    room = asyncio.get_running_loop().create_future()
    steps = []

    async def callback():
        steps.append("before")
        await asyncio.sleep(0)                 # a bare yield to the loop
        value = await room                     # a full queue
        steps.append("after")
        return value + 1

    waiting = asyncio.ensure_future(d.wait_first(callback(), d.suspend_flow.wait()))
    await asyncio.sleep(0.01)
    assert steps == ["before"] and not waiting.done()
    room.set_result(41)
    result = await asyncio.wait_for(waiting, 1)
    assert result.results == [42] and steps == ["before", "after"] and d.slow_calls == 1


async def test_suspending_the_flow_breaks_a_waiting_callback_as_before():
    d = Drainer()
    outcome = []

    async def callback():
        try:
            await asyncio.get_running_loop().create_future()   # never has room
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    waiting = asyncio.ensure_future(d.wait_first(callback(), d.suspend_flow.wait()))
    await asyncio.sleep(0.01)
    d.suspend_flow.set()
    result = await asyncio.wait_for(waiting, 1)
    await asyncio.sleep(0.01)
    assert len(result.done) == 1 and result.results == [True]   # the suspension won
    assert outcome == ["cancelled"]


async def test_with_the_flow_suspended_the_callback_is_not_stepped_eagerly():
    d = Drainer()
    d.suspend_flow.set()

    async def callback():
        return "ran"

    result = await d.wait_first(callback(), d.suspend_flow.wait())
    assert d.slow_calls == 1 and result.results and set(result.results) <= {"ran", True}


@pytest.mark.parametrize("wait_first", [False, True])
async def test_a_callbacks_error_propagates(wait_first):
    d = Drainer()

    async def callback():
        if wait_first:
            await asyncio.sleep(0)
        raise ValueError("undecodable")

    suspended = d.suspend_flow.wait()
    with pytest.raises(ValueError, match="undecodable"):
        await d.wait_first(callback(), suspended)
    if not wait_first:
        assert suspended.cr_frame is None


async def test_other_calls_go_to_modes_wait_first_untouched():
    d = Drainer()
    result = await d.wait_first(asyncio.sleep(0, "x"), timeout=1)
    assert d.slow_calls == 1 and result.results == ["x"]


async def test_resume_drives_the_rest_of_a_stepped_coroutine():
    async def three():
        total = 0
        for i in range(3):
            await asyncio.sleep(0)
            total += i
        return total

    coro = three()
    done, pending = step(coro)
    assert not done
    assert await Resume(coro, pending) == 3


def test_installing_twice_wraps_once():
    before = Drainer.wait_first
    eager_drain(Drainer)
    assert Drainer.wait_first.__wrapped__ is before.__wrapped__


async def test_the_event_loop_still_turns_once_per_record():
    """The stream that reads the queue gets to run between two records (see eager_drain)."""
    d = Drainer()
    order = []

    async def callback(i):
        order.append(f"record {i}")

    async def stream():
        for i in range(2):
            order.append(f"stream {i}")
            await asyncio.sleep(0)

    reader = asyncio.ensure_future(stream())
    for i in range(2):
        await d.wait_first(callback(i), d.suspend_flow.wait())
    await reader
    assert order == ["record 0", "stream 0", "record 1", "stream 1"]


def test_make_app_installs_it_on_fausts_kafka_consumer():
    from faust.transport.drivers.aiokafka import Consumer

    from services.common.settings import CommonSettings
    from services.common.streams import make_app

    make_app("csp-test-drain", CommonSettings(), 65001)
    assert Consumer.wait_first is not Service.wait_first
    assert Consumer.wait_first.__wrapped__ is Service.wait_first
