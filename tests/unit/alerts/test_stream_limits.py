"""The live alert stream's own limits, driven without a server: a stream re-checks its key on
time even while alerts keep it busy, ends when the key is revoked or its time is up, and a key
holds at most its number of streams. (Against the running stack: tests/hostile/test_streams.py.)"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from types import SimpleNamespace

import pytest

from services.alerts.routes import stream
from services.common.auth import Principal, Role
from services.common.problems import Problem

WHO = Principal("k1", "kent-icb", Role.COMMISSIONER, frozenset({"KENT"}))


class Listener:
    """Hands out one queue that the test fills as the database's notifications would."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue = asyncio.Queue()
        self.subscribed = 0

    def subscribe(self) -> asyncio.Queue:
        self.subscribed += 1
        return self.queue

    def unsubscribe(self, queue) -> None:
        self.subscribed -= 1


class Keys:
    def __init__(self) -> None:
        self.revoked = False
        self.checks = 0

    async def authenticate(self, token: str):
        self.checks += 1
        return None if self.revoked else WHO


class FakeRequest:
    def __init__(self, state) -> None:
        self.app = SimpleNamespace(state=state)
        self.headers = {"authorization": "Bearer csp_k1_secret"}

    async def is_disconnected(self) -> bool:
        return False


def _state(**settings) -> SimpleNamespace:
    defaults = {"alerts_streams_per_key": 5, "key_cache_seconds": 1.0, "alerts_stream_max_seconds": 3600.0}
    return SimpleNamespace(
        settings=SimpleNamespace(**{**defaults, **settings}), open_streams=Counter(), listener=Listener(), keys=Keys()
    )


def _change(i: int) -> dict:
    return {"area": "KENT", "fingerprint": f"{i:016x}", "updated_at": f"t{i}"}


def test_a_busy_stream_still_ends_when_its_key_is_revoked():
    state = _state()

    async def run() -> tuple[list[str], float]:
        response = await stream(FakeRequest(state), WHO, "KENT")
        loop = asyncio.get_running_loop()

        async def busy():
            i = 0
            while True:  # an alert every 50 ms: the stream is never quiet
                state.listener.queue.put_nowait(_change(i))
                i += 1
                await asyncio.sleep(0.05)

        feeder = asyncio.create_task(busy())
        loop.call_later(0.3, lambda: setattr(state.keys, "revoked", True))
        start, chunks = loop.time(), []
        try:
            async with asyncio.timeout(5):
                async for chunk in response.body_iterator:
                    chunks.append(chunk)
        finally:
            feeder.cancel()
        return chunks, loop.time() - start

    chunks, took = asyncio.run(run())
    assert any(c.startswith("event: alert") for c in chunks)
    assert chunks[-1].startswith("event: end") and json.loads(chunks[-1].split("data: ")[1]) == {
        "reason": "the key was revoked"
    }
    assert took < 2.5  # revoked at 0.3 s, re-checked every second
    assert state.open_streams["k1"] == 0 and state.listener.subscribed == 0


def test_a_stream_ends_when_its_time_is_up():
    state = _state(alerts_stream_max_seconds=0.5)

    async def run() -> list[str]:
        response = await stream(FakeRequest(state), WHO, "KENT")
        async with asyncio.timeout(5):
            return [chunk async for chunk in response.body_iterator]

    chunks = asyncio.run(run())
    assert "time is up" in chunks[-1] and state.open_streams["k1"] == 0


def test_one_key_past_its_streams_is_a_429_naming_the_credential():
    state = _state(alerts_streams_per_key=2)
    state.open_streams["k1"] = 2
    with pytest.raises(Problem) as refused:
        asyncio.run(stream(FakeRequest(state), WHO, "KENT"))
    assert refused.value.status == 429 and refused.value.errors[0]["field"] == "authorization"
    assert refused.value.headers["Retry-After"]
