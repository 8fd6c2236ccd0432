"""A light HTTP/1.1 load generator: keep-alive connections that send pre-encoded requests.

The benchmarks' load generator shares the machine's two cores with what it measures. aiohttp's
client spent about 250 microseconds of CPU per request (43% of a core at 1,600 single events/s),
CPU that intake, the broker and PostgreSQL then did not have, and its scheduling contention showed
in the latency tail. This client writes a request's bytes as built once and reads the answer by
its Content-Length, nothing more: enough for the services measured here (HTTP/1.1, keep-alive,
Content-Length on every answer), not a general client. It refuses what it does not read (a
chunked answer, a closed connection) rather than guess.
"""

from __future__ import annotations

import asyncio


class ProtocolError(Exception):
    pass


class Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time (``await conn.request(data)``)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self._answer()

    def connection_lost(self, exc) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc or ProtocolError("connection closed by the server"))

    def _answer(self) -> None:
        waiter, buffer = self._waiter, self._buffer
        if waiter is None or waiter.done():
            return
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(buffer[:end]).lower()
        length_at = head.find(b"\r\ncontent-length:")
        if length_at < 0:
            waiter.set_exception(ProtocolError(f"an answer without Content-Length: {head[:200]!r}"))
            return
        line_end = head.find(b"\r\n", length_at + 2)
        length = int(head[length_at + 17 : line_end if line_end >= 0 else None])
        if len(buffer) < end + 4 + length:
            return
        body = bytes(buffer[end + 4 : end + 4 + length])
        del buffer[: end + 4 + length]
        waiter.set_result((int(head[9:12]), body))

    async def request(self, data: bytes) -> tuple[int, bytes]:
        """Send one request (its whole bytes); the answer's status and body."""
        if self.transport is None or self.transport.is_closing():
            raise ProtocolError("connection closed")
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self._waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def connect(port: int, host: str = "127.0.0.1") -> Connection:
    _, conn = await asyncio.get_running_loop().create_connection(Connection, host, port)
    return conn


def post(path: str, body: bytes, headers: dict[str, str], host: str = "127.0.0.1") -> bytes:
    """A POST request's bytes, ready to send on a keep-alive connection."""
    lines = [f"POST {path} HTTP/1.1", f"host: {host}", f"content-length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
