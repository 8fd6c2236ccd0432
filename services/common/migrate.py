"""Apply the numbered SQL files in deploy/migrations/ in order, once each, in a transaction each.

    python -m services.common.migrate

This is the one step that changes the schema: the local stack runs it after PostgreSQL starts
(deploy/local/stack.sh), compose and Kubernetes as a job before the services. The services only
check, at start-up, that every migration they ship has been applied (:func:`require_current`),
waiting a while for a migration job still running, and refuse to start on an older schema.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import sys
import time
from pathlib import Path

import asyncpg

from .settings import CommonSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "deploy" / "migrations"
log = logging.getLogger("migrate")


class SchemaNotCurrent(RuntimeError):
    """The database lacks migrations this code needs, or has one changed after it was applied."""


def shipped() -> dict[str, str]:
    """Every migration file this code ships, by name, with its SHA-256."""
    files = sorted(MIGRATIONS.glob("[0-9][0-9][0-9]_*.sql"))
    if not files:  # an install without the SQL files must not pass for an up-to-date schema
        raise RuntimeError(f"no migrations found in {MIGRATIONS}")
    return {p.name: hashlib.sha256(p.read_text().encode()).hexdigest() for p in files}


async def pending(conn: asyncpg.Connection) -> list[str]:
    """The shipped migrations the database has not applied (all of them on an empty database)."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    done = {} if not exists else {
        r["name"]: r["sha256"] for r in await conn.fetch("SELECT name, sha256 FROM schema_migrations")}
    changed = [n for n, digest in shipped().items() if n in done and done[n] != digest]
    if changed:
        raise SchemaNotCurrent(f"migrations changed after they were applied: {', '.join(changed)}")
    return [n for n in shipped() if n not in done]


async def require_current(dsn: str, wait_seconds: float = 120.0, every: float = 1.0) -> None:
    """Return once the database has every shipped migration, waiting up to ``wait_seconds`` for a
    migration step still running; else raise :class:`SchemaNotCurrent` naming what is missing."""
    deadline = time.monotonic() + wait_seconds
    while True:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            missing = await pending(conn)
        finally:
            await conn.close()
        if not missing:
            return
        if time.monotonic() >= deadline:
            raise SchemaNotCurrent(f"the database schema is not up to date: {len(missing)} migration(s) "
                                   f"not applied ({', '.join(missing)}); run python -m services.common.migrate")
        log.warning("waiting for the schema migration step", extra={"pending": ",".join(missing)})
        await asyncio.sleep(every)


async def migrate(dsn: str, verbose: bool = True) -> list[str]:
    conn = await asyncpg.connect(dsn)
    applied_now: list[str] = []
    try:
        # One migrator at a time, whichever service starts first.
        await conn.execute("SELECT pg_advisory_lock(4242001)")
        await conn.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
            name text PRIMARY KEY, sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())""")
        done = {r["name"]: r["sha256"] for r in await conn.fetch("SELECT name, sha256 FROM schema_migrations")}
        for name, digest in shipped().items():
            path = MIGRATIONS / name
            sql = path.read_text()
            if path.name in done:
                if done[path.name] != digest:
                    raise SystemExit(f"migration {path.name} was changed after it was applied; "
                                     "add a new numbered file instead")
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (name, sha256) VALUES ($1, $2)",
                                   path.name, digest)
            applied_now.append(path.name)
            if verbose:
                print(f"applied {path.name}")
    finally:
        await conn.execute("SELECT pg_advisory_unlock(4242001)")
        await conn.close()
    return applied_now


def main() -> int:
    applied = asyncio.run(migrate(CommonSettings().pg_dsn))
    print(f"migrations: {len(applied)} applied, schema up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
