"""The delivery loop outlives any one failed round: a dead loop delivers nothing, silently."""

from __future__ import annotations

import asyncio

import asyncpg

from services.alerts.config import AlertsSettings
from services.alerts.deliverer import Deliverer


class QuietListener:
    def __init__(self) -> None:
        self.outbox_ready = asyncio.Event()

    async def ensure(self) -> None:
        return None


async def test_the_loop_goes_on_after_asyncpg_internal_errors_and_unexpected_ones():
    settings = AlertsSettings(alerts_delivery_poll_seconds=0.01)
    deliverer = Deliverer(pool=None, settings=settings, listener=QuietListener(), webhooks=None, email=None)
    failures = [
        asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
        OSError("connection reset"),
        RuntimeError("something unforeseen"),
    ]
    rounds = []
    done = asyncio.Event()

    async def deliver_due() -> int:
        rounds.append(len(rounds))
        if failures:
            raise failures.pop(0)
        done.set()
        return 0

    deliverer.deliver_due = deliver_due
    task = asyncio.create_task(deliverer.run())
    try:
        await asyncio.wait_for(done.wait(), 5)
    finally:
        task.cancel()
    assert rounds == [0, 1, 2, 3] and not failures
