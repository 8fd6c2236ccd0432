"""Group commit: concurrent calls to one list-in, list-out write go to the store together.

A request that writes one row pays a round trip to PostgreSQL (and a connection from the pool)
for it; fifty requests in flight pay fifty. A :class:`Coalescer` lets the calls that arrive while
a write is in flight wait for it to finish and then go in one write of their own, so the number of
round trips follows the store's speed, not the request rate, and a lone call waits for nothing.

If a merged write fails, each call's items are written again on their own, so one call's bad item
fails that call alone, never the calls it happened to share a write with.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from prometheus_client import Histogram

WRITE_SECONDS = Histogram(
    "csp_group_commit_write_duration_seconds",
    "Duration of one merged write (services.common.coalesce), by what it writes.",
    ["write"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
WRITE_ITEMS = Histogram(
    "csp_group_commit_write_items",
    "Items in one merged write, by what it writes.",
    ["write"],
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000),
)

T = TypeVar("T")
R = TypeVar("R")


class Coalescer(Generic[T, R]):
    """``await coalescer(items)`` runs ``write(items)``, merged with the calls waiting alongside.

    ``write`` takes the items of the merged calls in the order the calls came and returns one
    result per item, in the same order. At most one write is in flight; at most ``max_items``
    items go in one (a call larger than that goes alone).
    """

    def __init__(self, write: Callable[[list[T]], Awaitable[list[R]]], name: str, max_items: int = 5000) -> None:
        self._write = write
        self.name = name
        self.max_items = max_items
        self._waiting: deque[tuple[list[T], asyncio.Future]] = deque()
        self._drainer: asyncio.Task | None = None
        #: Writes made and calls they served, for tests and metrics.
        self.writes = 0
        self.calls = 0

    async def __call__(self, items: list[T]) -> list[R]:
        if not items:
            return []
        loop = asyncio.get_running_loop()
        done: asyncio.Future = loop.create_future()
        self._waiting.append((items, done))
        if self._drainer is None:
            self._drainer = loop.create_task(self._drain())
        return await done

    def _take(self) -> list[tuple[list[T], asyncio.Future]]:
        taken: list[tuple[list[T], asyncio.Future]] = []
        count = 0
        while self._waiting and (not taken or count + len(self._waiting[0][0]) <= self.max_items):
            items, done = self._waiting.popleft()
            taken.append((items, done))
            count += len(items)
        return taken

    async def _drain(self) -> None:
        try:
            while self._waiting:
                taken = self._take()
                merged = [item for call, _ in taken for item in call]
                began = time.perf_counter()
                try:
                    results = await self._write(merged)
                    self.writes += 1
                    WRITE_SECONDS.labels(self.name).observe(time.perf_counter() - began)
                    WRITE_ITEMS.labels(self.name).observe(len(merged))
                except asyncio.CancelledError as exc:
                    for _, done in taken:
                        _settle(done, exc)
                    raise
                except Exception as exc:
                    if len(taken) == 1:
                        _settle(taken[0][1], exc)
                    else:
                        await self._one_by_one(taken)
                    continue
                self.calls += len(taken)
                start = 0
                for call, done in taken:
                    _settle(done, results[start : start + len(call)])
                    start += len(call)
        finally:
            self._drainer = None

    async def _one_by_one(self, taken: list[tuple[list[T], asyncio.Future]]) -> None:
        for items, done in taken:
            try:
                result: list[R] | BaseException = await self._write(items)
                self.writes += 1
                self.calls += 1
            except Exception as exc:
                result = exc
            _settle(done, result)


def _settle(done: asyncio.Future, result) -> None:
    """Answer a waiting call unless it was cancelled meanwhile (its items were written anyway)."""
    if done.done():
        return
    if isinstance(result, BaseException):
        done.set_exception(result)
    else:
        done.set_result(result)
