"""Apply the numbered SQL files in deploy/migrations/ in order, once each, in a transaction each.

    python -m services.common.migrate
"""
from __future__ import annotations

import asyncio
import hashlib
import sys
from pathlib import Path

import asyncpg

from .settings import CommonSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "deploy" / "migrations"


async def migrate(dsn: str, verbose: bool = True) -> list[str]:
    conn = await asyncpg.connect(dsn)
    applied_now: list[str] = []
    try:
        # One migrator at a time, whichever service starts first.
        await conn.execute("SELECT pg_advisory_lock(4242001)")
        await conn.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
            name text PRIMARY KEY, sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())""")
        done = {r["name"]: r["sha256"] for r in await conn.fetch("SELECT name, sha256 FROM schema_migrations")}
        files = sorted(MIGRATIONS.glob("[0-9][0-9][0-9]_*.sql"))
        if not files:  # an install without the SQL files must not pass for an up-to-date schema
            raise RuntimeError(f"no migrations found in {MIGRATIONS}")
        for path in files:
            sql = path.read_text()
            digest = hashlib.sha256(sql.encode()).hexdigest()
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
