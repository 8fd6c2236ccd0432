"""services.common.db.until_done: which PostgreSQL errors the workers wait out, and which they raise.

An error that escapes a faust agent acks its event (the stream's iterator acks in a ``finally``),
so every error that only says "PostgreSQL is away" must be retried, never raised.
"""

from __future__ import annotations

import asyncpg
import pytest

from services.common import db


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    async def instant(_seconds):
        return None

    monkeypatch.setattr(db.asyncio, "sleep", instant)


def flaky(*errors: Exception):
    """A write that fails with each of ``errors`` in turn, then succeeds."""
    calls = []

    async def write():
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "stored"

    return write, calls


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.InternalClientError("cannot switch to state 15; another operation (2) is in progress"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.CrashShutdownError("terminating connection because of crash of another server process"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        ConnectionRefusedError(111, "Connect call failed"),
        TimeoutError(),
    ],
)
async def test_postgres_going_away_is_waited_out(error):
    write, calls = flaky(error, error)
    assert await db.until_done(write, "some-event") == "stored"
    assert len(calls) == 3


async def test_a_value_postgres_cannot_hold_is_raised_at_once():
    write, calls = flaky(asyncpg.NumericValueOutOfRangeError("integer out of range"))
    with pytest.raises(asyncpg.DataError):
        await db.until_done(write, "some-event")
    assert len(calls) == 1
