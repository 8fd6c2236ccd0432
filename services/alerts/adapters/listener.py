"""PostgreSQL LISTEN: the worker's commits wake the API's delivery loop and live streams."""

from __future__ import annotations

import asyncio
import json
import logging

import asyncpg

from services.common.db import session_settings

log = logging.getLogger("alerts.listener")
CHANGES, OUTBOX = "csp_alert_changes", "csp_alert_outbox"


class Listener:
    """One connection listening on both channels; reconnects when PostgreSQL comes back."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn: asyncpg.Connection | None = None
        self.outbox_ready = asyncio.Event()
        self.streams: set[asyncio.Queue] = set()

    async def ensure(self) -> bool:
        if self.conn is not None and not self.conn.is_closed():
            return True
        try:
            self.conn = await asyncpg.connect(self.dsn, timeout=5, server_settings=session_settings("alerts"))
            await self.conn.add_listener(CHANGES, self._changed)
            await self.conn.add_listener(OUTBOX, self._outbox)
            self.outbox_ready.set()  # catch up with anything committed while disconnected
            return True
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("listen connection failed; polling only", extra={"error": repr(exc)})
            self.conn = None
            return False

    def _outbox(self, *_args) -> None:
        self.outbox_ready.set()

    def _changed(self, _conn, _pid, _channel, payload: str) -> None:
        change = json.loads(payload)
        for queue in list(self.streams):
            if queue.full():  # a client that does not read loses the oldest, not the process
                queue.get_nowait()
            queue.put_nowait(change)

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=1000)
        self.streams.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self.streams.discard(queue)

    async def close(self) -> None:
        if self.conn is not None and not self.conn.is_closed():
            await self.conn.close()
