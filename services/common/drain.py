"""faust's fetch loop without four tasks per record.

faust's consumer hands every record it fetched to the streams with
``await self.wait_first(callback(message), self.suspend_flow.wait())`` (``Consumer._drain_messages``,
faust-streaming 0.11.3): mode's ``wait_first`` wraps the callback, the flow-suspension wait and
the consumer's own stopped and crashed events in four tasks, waits for the first to finish and
cancels the rest. The callback almost never waits for anything: it decodes the record and puts it
on the stream's queue. Profiled in the mapping worker, those tasks took about a sixth of the
event loop.

:func:`eager_drain` gives faust's consumer a ``wait_first`` that first steps the callback on the
spot. When the callback finishes without waiting (flow not suspended, queue not full), that is
the answer, with no task at all (the loop still gets one turn per record). When it has to
wait, the rest of it goes to mode's ``wait_first`` as before, still raced against the
suspension of the flow (a rebalance must be able to break a callback blocked on a full queue),
so nothing changes when it matters. A callback's exception propagates as from mode's
``wait_first``.
"""
from __future__ import annotations

import asyncio
import functools
from collections.abc import Coroutine, Generator
from typing import Any

from faust.transport.consumer import Consumer
from mode.services import WaitResults


class Resume:
    """The rest of a coroutine that was stepped once and yielded ``pending``, as an awaitable:
    what ``yield from`` would have done had it been awaited from the start."""

    __slots__ = ("coro", "pending")

    def __init__(self, coro: Coroutine, pending: Any) -> None:
        self.coro, self.pending = coro, pending

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, pending = self.coro, self.pending
        while True:
            try:
                value = yield pending
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:   # a cancellation, thrown in by the task: pass it on
                try:
                    pending = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
                continue
            try:
                pending = coro.send(value)
            except StopIteration as stop:
                return stop.value


def step(coro: Coroutine) -> tuple[bool, Any]:
    """Run ``coro`` up to its first wait: (True, its result) if it finished, else (False, what
    it yielded to the event loop). Its exception propagates."""
    try:
        pending = coro.send(None)
    except StopIteration as stop:
        return True, stop.value
    return False, pending


def eager_drain(cls: type = Consumer) -> None:
    """Install the eager ``wait_first`` on faust's consumer class (idempotent)."""
    original = getattr(cls.wait_first, "__wrapped__", cls.wait_first)

    @functools.wraps(original)
    async def wait_first(self, *coros: Any, timeout: Any = None) -> WaitResults:
        if (len(coros) == 2 and timeout is None and asyncio.iscoroutine(coros[0])
                and asyncio.iscoroutine(coros[1]) and not self.suspend_flow.is_set()
                and not self.should_stop):
            callback, suspended = coros
            try:
                done, out = step(callback)
            except BaseException:
                suspended.close()
                raise
            if done:
                suspended.close()
                # Still one turn of the event loop per record, as the tasks gave: without it
                # the fetch loop runs a hundred records ahead of the stream between its own
                # yields, and the mapping benchmark's agent was slower than with no change
                # (6.6-7.1 s per 30,000 records against 4.3-5.9 s; 3.5-3.7 s with the turn).
                await asyncio.sleep(0)
                return WaitResults([callback], [out], False)
            coros = (Resume(callback, out), suspended)
        return await original(self, *coros, timeout=timeout)

    cls.wait_first = wait_first
