"""The one migration step, and the services' check that it ran (services/common/migrate.py),
against the session's real PostgreSQL, on a scratch database of its own."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid

import asyncpg
import pytest

from services.common.migrate import SchemaNotCurrent, migrate, pending, require_current, shipped
from tests.conftest import REPO, TEST_ENV


async def _scratch() -> tuple[str, str]:
    """A new, empty database on the session's server, and its DSN."""
    name = f"csp_scratch_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(TEST_ENV["CSP_PG_DSN"])
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name, TEST_ENV["CSP_PG_DSN"].rsplit("/", 1)[0] + "/" + name


async def _drop(name: str) -> None:
    admin = await asyncpg.connect(TEST_ENV["CSP_PG_DSN"])
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def test_a_service_refuses_an_unmigrated_database_and_starts_once_the_step_ran(infra):
    async def go():
        name, dsn = await _scratch()
        try:
            with pytest.raises(SchemaNotCurrent, match="run python -m services.common.migrate") as refused:
                await require_current(dsn, wait_seconds=0)
            assert all(m in str(refused.value) for m in shipped())      # names every missing one
            waiting = asyncio.ensure_future(require_current(dsn, wait_seconds=60, every=0.2))
            await asyncio.sleep(0.5)
            assert not waiting.done()                     # a migration job still running: it waits
            assert await migrate(dsn, verbose=False) == list(shipped())
            await asyncio.wait_for(waiting, 10)           # and starts once the step has run
            conn = await asyncpg.connect(dsn)
            try:
                assert await pending(conn) == []
                # A migration edited after it was applied is refused, not silently accepted.
                first = next(iter(shipped()))
                await conn.execute("UPDATE schema_migrations SET sha256 = 'x' WHERE name = $1", first)
                with pytest.raises(SchemaNotCurrent, match=first):
                    await pending(conn)
            finally:
                await conn.close()
        finally:
            await _drop(name)
    asyncio.run(go())


def test_the_keys_command_refuses_an_unmigrated_database_with_the_step_to_run(infra):
    async def make():
        return await _scratch()
    name, dsn = asyncio.run(make())
    try:
        done = subprocess.run([sys.executable, "-m", "services.common.keys", "list"], cwd=REPO,
                              env={**TEST_ENV, "CSP_PG_DSN": dsn}, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "python -m services.common.migrate" in done.stderr
    finally:
        asyncio.run(_drop(name))
