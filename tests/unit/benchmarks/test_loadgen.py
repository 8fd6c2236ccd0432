"""The benchmarks' minimal HTTP/1.1 client (tests/benchmarks/loadgen.py) against a local server
that answers as told: split across writes, several on one connection, or in ways it refuses."""

from __future__ import annotations

import asyncio

import pytest

from tests.benchmarks import loadgen


async def _serve(answers: list[list[bytes]]):
    """A server that, for each request it reads, writes the next answer's pieces one by one;
    an answer of ``[]`` closes the connection instead."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for pieces in answers:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            seen.append(head + await reader.readexactly(length))
            if not pieces:
                writer.close()
                return
            for piece in pieces:
                writer.write(piece)
                await writer.drain()
                await asyncio.sleep(0.01)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], seen


async def test_answers_are_read_by_content_length_however_they_arrive():
    first = b'{"status":"accepted"}'
    server, port, seen = await _serve(
        [
            [
                b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Len",
                b"gth: " + str(len(first)).encode() + b"\r\n\r\n" + first[:5],
                first[5:],
            ],
            [b"HTTP/1.1 409 Conflict\r\ncontent-length: 2\r\n\r\n{}"],
        ]
    )
    async with server:
        conn = await loadgen.connect(port)
        body = b'{"a": 1}'
        request = loadgen.post("/v1/findings", body, {"authorization": "Bearer k"})
        assert await conn.request(request) == (202, first)
        assert await conn.request(request) == (409, b"{}")  # the same keep-alive connection
        conn.close()
    assert seen[0].startswith(b"POST /v1/findings HTTP/1.1\r\n")
    assert b"\r\ncontent-length: 8\r\n" in seen[0] and b"\r\nauthorization: Bearer k\r\n" in seen[0]
    assert seen[0].endswith(b"\r\n\r\n" + body)


async def test_an_answer_it_cannot_read_or_a_closed_connection_is_an_error_not_a_guess():
    server, port, _ = await _serve([[b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"]])
    async with server:
        conn = await loadgen.connect(port)
        with pytest.raises(loadgen.ProtocolError, match="Content-Length"):
            await conn.request(loadgen.post("/", b"", {}))
        conn.close()
    server, port, _ = await _serve([[]])
    async with server:
        conn = await loadgen.connect(port)
        with pytest.raises((loadgen.ProtocolError, ConnectionError)):
            await conn.request(loadgen.post("/", b"x", {}))
