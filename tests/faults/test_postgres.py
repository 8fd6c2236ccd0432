"""PostgreSQL under load: restarted (fast shutdown), every session terminated again and again,
then crashed (immediate shutdown) and started with crash recovery."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from contracts.vocabulary import Community
from tests.conftest import TEST_ENV

from .harness import Scenario, Timeline, account, assert_books_balance, run, script
from .load import Sender

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.timeout(1200)]

SCENARIO = Scenario(
    "postgres-restarted", days_ago=(11, 12, 13, 14), communities=(Community.SOMALI, Community.PAKISTANI)
)


async def terminate_sessions(seconds: float, every: float = 0.25) -> int:
    """pg_terminate_backend on every other client session of the database, repeatedly: what a
    restart does to the sessions, as an administrator or a failover would, mid-statement."""
    conn = await asyncpg.connect(TEST_ENV["CSP_PG_DSN"])
    ended, until = 0, time.monotonic() + seconds
    try:
        while time.monotonic() < until:
            ended += await conn.fetchval(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'"
            )
            await asyncio.sleep(every)
    finally:
        await conn.close()
    return ended


async def test_postgres_restarted_and_crashed_loses_and_doubles_nothing(whole_stack, load_partners):
    async def fault(sender: Sender, t: Timeline) -> dict:
        await sender.reached(0.3)
        t.mark("PostgreSQL restarting (fast shutdown: sessions are terminated)")
        await script("postgres.sh", "restart", timeout=120)
        t.mark("PostgreSQL restarted")
        await sender.reached(0.6)
        ended = await terminate_sessions(20)
        t.mark(f"{ended} sessions terminated over 20s")
        await script("postgres.sh", "kill", timeout=120)
        t.mark("PostgreSQL killed (immediate shutdown)")
        await asyncio.sleep(3)
        await script("postgres.sh", "start", timeout=120)
        t.mark("PostgreSQL started after crash recovery")
        return {"sessions_terminated": ended}

    ledger = await account(await run(SCENARIO, load_partners, fault))
    assert_books_balance(ledger)
