"""Group commit: calls in flight together share one write; a failure stays with its own call."""

from __future__ import annotations

import asyncio

import pytest

from services.common.coalesce import Coalescer


class Store:
    """A write that takes a while, records what each write carried, and refuses item 'bad'."""

    def __init__(self) -> None:
        self.writes: list[list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def write(self, items: list[str]) -> list[str]:
        await self.gate.wait()
        await asyncio.sleep(0)
        if "bad" in items:
            raise ValueError("bad item")
        self.writes.append(list(items))
        return [item.upper() for item in items]


async def behind_a_write_in_flight(store: Store, coalescer: Coalescer, *calls: list[str]):
    """Call with ['a'] while the store holds writes, then make ``calls`` while that write is in
    flight. The caller releases the store (``store.gate.set()``)."""
    store.gate.clear()
    first = asyncio.create_task(coalescer(["a"]))
    await asyncio.sleep(0.01)
    rest = [asyncio.create_task(coalescer(items)) for items in calls]
    await asyncio.sleep(0.01)
    return first, rest


async def test_a_lone_call_is_written_at_once_with_its_own_results():
    store = Store()
    assert await Coalescer(store.write, "test")(["a", "b"]) == ["A", "B"]
    assert store.writes == [["a", "b"]]


async def test_calls_arriving_while_a_write_is_in_flight_share_the_next_write_in_order():
    store = Store()
    coalescer = Coalescer(store.write, "test")
    first, rest = await behind_a_write_in_flight(store, coalescer, *([x, x + "2"] for x in "bcd"))
    store.gate.set()
    assert await first == ["A"]
    assert [await t for t in rest] == [["B", "B2"], ["C", "C2"], ["D", "D2"]]
    assert store.writes == [["a"], ["b", "b2", "c", "c2", "d", "d2"]]
    assert (coalescer.writes, coalescer.calls) == (2, 4)


async def test_a_failed_merged_write_is_retried_per_call_so_only_the_bad_call_fails():
    store = Store()
    coalescer = Coalescer(store.write, "test")
    first, (good1, bad, good2) = await behind_a_write_in_flight(store, coalescer, ["b"], ["bad", "c"], ["d"])
    store.gate.set()
    assert await first == ["A"]
    assert await good1 == ["B"] and await good2 == ["D"]
    with pytest.raises(ValueError, match="bad item"):
        await bad
    assert store.writes == [["a"], ["b"], ["d"]]


async def test_max_items_bounds_a_write_but_never_splits_a_call():
    store = Store()
    coalescer = Coalescer(store.write, "test", max_items=3)
    store.gate.clear()
    calls = [
        asyncio.create_task(coalescer(items)) for items in (["a"], ["b", "c"], ["d", "e"], ["f", "g", "h", "i"], ["j"])
    ]
    await asyncio.sleep(0.01)
    store.gate.set()
    await asyncio.gather(*calls)
    # All five were waiting when the first write began: a + b,c fill it (d,e would make 5 > 3);
    # then d,e; the call of four, larger than the bound, alone; then j.
    assert store.writes == [["a", "b", "c"], ["d", "e"], ["f", "g", "h", "i"], ["j"]]


async def test_a_cancelled_caller_does_not_stop_the_others():
    store = Store()
    coalescer = Coalescer(store.write, "test")
    gone, (kept,) = await behind_a_write_in_flight(store, coalescer, ["b"])
    gone.cancel()
    store.gate.set()
    assert await kept == ["B"]
    assert store.writes == [["a"], ["b"]]  # the cancelled call's items were written all the same
