"""The stream workers' one agent loop: each batch handled in turn, a batch whose handling did not
finish held (faust-streaming #315) and the error passed on."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from services.common.upstream import each_batch


class _Message:
    def __init__(self) -> None:
        self.refs = 0

    def incref(self) -> None:
        self.refs += 1


class _Event:
    def __init__(self) -> None:
        self.message = _Message()


class _Stream:
    """What each_batch uses of a faust Stream: take_events(max, within=...)."""

    def __init__(self, batches: list[list[_Event]]) -> None:
        self.batches, self.asked = batches, []

    async def take_events(self, max_: int, within: float):
        self.asked.append((max_, within))
        for batch in self.batches:
            yield batch


def test_each_batch_is_handled_and_a_failed_one_is_held() -> None:
    first, second, third = [_Event(), _Event()], [_Event()], [_Event()]
    stream, seen = _Stream([first, second, third]), []

    async def handle(events: Sequence[Any]) -> None:
        seen.append(events)
        if events is second:
            raise RuntimeError("PostgreSQL went away")

    with pytest.raises(RuntimeError):
        asyncio.run(each_batch(stream, 500, 0.02, handle))
    assert stream.asked == [(500, 0.02)] and seen == [first, second]
    assert [e.message.refs for e in first + second] == [0, 0, 1]
    assert third[0].message.refs == 0
