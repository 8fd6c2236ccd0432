"""Workarounds for known defects of the stream library, one place for all of them.

Each workaround names its upstream issue, and ``tests/unit/common/test_upstream.py`` drives the
library's own code to show the defect is still there: when an upgrade fixes it, that test fails,
and the workaround can go.

faust-streaming #315: ``Stream.take_events`` (and ``Stream.events``) acknowledge every event they
handed to an agent in a ``finally`` block, whether the agent's body finished or raised. faust then
commits past records that were never stored or produced. :func:`held_on_failure` takes one more
reference on each event of a body that did not finish, so faust never counts them as processed:
they stay uncommitted and are read again when the worker restarts, and later offsets are not
committed past them either.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

log = logging.getLogger("streams")


@contextlib.contextmanager
def held_on_failure(events: Sequence[Any]) -> Iterator[None]:
    """Around an agent's body for ``events``: if the body does not finish (an error, a
    cancellation), each event's message keeps one more reference (``Message.incref``, faust's
    public API), so the ``finally`` of faust-streaming #315 cannot acknowledge it."""
    try:
        yield
    except BaseException:
        for event in events:
            event.message.incref()
        log.error(
            "batch not processed; its records stay unacknowledged until the worker restarts",
            extra={"records": len(events)},
        )
        raise


async def each_batch(
    stream: Any, batch_max: int, within: float, handle: Callable[[Sequence[Any]], Awaitable[None]]
) -> None:
    """A stream worker's agent loop: ``handle`` each batch of at most ``batch_max`` events, taken
    within ``within`` seconds (``Stream.take_events``, which acks a batch's offsets after the
    body), each held on failure so a batch whose handling did not finish is read again."""
    async for events in stream.take_events(batch_max, within=within):
        with held_on_failure(events):
            await handle(events)
