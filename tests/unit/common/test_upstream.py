"""faust-streaming #315 (services/common/upstream.py): ``Stream.take_events`` acknowledges, in a
``finally``, every event it handed to an agent, whether the body finished or not.

These tests drive faust's own ``take_events`` and ``Stream.ack`` through its documented test
harness (``Agent.test_context``), so they follow the library: the first one fails the day an
upgrade stops acknowledging a failed batch, and the workaround can then go.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust

from services.common.upstream import held_on_failure


def _agent(app: faust.App, *, hold: bool) -> Any:
    """An agent that takes two events at a time and fails on a batch holding ``"fail"``."""

    @app.agent()
    async def body(stream):
        async for events in stream.take_events(2, within=0.1):
            if hold:
                with held_on_failure(events):
                    if any(event.value == "fail" for event in events):
                        raise RuntimeError("store broke")
            elif any(event.value == "fail" for event in events):
                raise RuntimeError("store broke")
            for event in events:
                yield event.value

    return body


async def _acked_after(values: tuple[str, ...], *, hold: bool) -> list[bool]:
    """Whether faust counts each record as processed (safe to commit) once the agent has run."""
    app = faust.App("upstream-315", store="memory://", web_enabled=False)
    async with _agent(app, hold=hold).test_context() as agent:
        channel = agent.stream().channel
        messages = []
        for offset, value in enumerate(values):
            message = agent.to_message(None, value, offset=offset)
            message.incref()  # the reference the conductor takes for the one stream reading it
            await channel.put(await channel.decode(message))
            messages.append(message)
        await asyncio.sleep(0.5)  # the batch's window (0.1 s) closes and the body runs
        return [message.acked for message in messages]


async def test_faust_still_acknowledges_a_batch_whose_body_failed():
    """The upstream defect itself. When this fails, faust no longer acknowledges a failed batch:
    remove services/common/upstream.py and its uses."""
    assert await _acked_after(("ok", "fail"), hold=False) == [True, True]


async def test_a_held_batch_whose_body_failed_is_never_acknowledged_so_never_committed():
    assert await _acked_after(("ok", "fail"), hold=True) == [False, False]


async def test_a_held_batch_whose_body_finished_is_acknowledged_as_before():
    assert await _acked_after(("ok", "also ok"), hold=True) == [True, True]
