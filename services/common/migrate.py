"""Apply the numbered SQL files of every service (services/*/migrations/) in number order, once
each, in a transaction each.

    python -m services.common.migrate

This is the one step that changes the schema: the local stack runs it after PostgreSQL starts
(deploy/local/stack.sh), compose and Kubernetes as a job before the services. The services only
check, at start-up, that every migration they ship has been applied (:func:`require_current`),
waiting a while for a migration job still running, and refuse to start on an older schema.

Each service keeps its migrations beside its code and its tables in a PostgreSQL schema of its
own (:data:`SCHEMAS`); services/common/migrations holds the shared registry's. A
migration runs with its owner's search_path, so the names in it stay unqualified and a table it
creates lands in its owner's schema. The files before the schemas existed (001-012) created
everything in public, on an existing database and a fresh one alike; 013-016 move each object to
its owner. Numbers are unique across the folders; the ledger, schema_migrations, stays in public.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import sys
import time
from pathlib import Path

import asyncpg

from .settings import CommonSettings

#: The folder whose services/<name>/migrations/ are collected.
SERVICES = Path(__file__).resolve().parents[1]
NUMBERED = re.compile(r"^[0-9]{3}_[a-z0-9_]+\.sql$")
LEDGER = "public.schema_migrations"
log = logging.getLogger("migrate")

#: The PostgreSQL schema of each folder of services/ that owns tables; services/common's
#: migrations build the registry (organisations, their API keys, alliances) every service reads.
SCHEMAS = {"intake": "intake", "alerts": "alerts", "reporting": "reporting", "common": "registry"}
REGISTRY = "registry"


def search_path(schema: str) -> str:
    """What a connection of the service owning ``schema`` searches: its own tables, then the
    registry's. Another service's table is not found there ("relation ... does not exist")."""
    if schema not in SCHEMAS.values():
        raise ValueError(f"no schema {schema!r}; one of {', '.join(SCHEMAS.values())}")
    return schema if schema == REGISTRY else f"{schema}, {REGISTRY}"


class SchemaNotCurrent(RuntimeError):
    """The database lacks migrations this code needs, or has one changed after it was applied."""


def files(root: Path = SERVICES) -> dict[str, Path]:
    """Every migration file this code ships, by name, in number order. Refuses a file that is not
    ``NNN_name.sql``, a folder of no known owner, and two files with one number."""
    found = sorted(root.glob("*/migrations/*"), key=lambda p: p.name)
    if not found:  # an install without the SQL files must not pass for an up-to-date schema
        raise RuntimeError(f"no migrations found in {root}/*/migrations")
    by_number: dict[str, Path] = {}
    for path in found:
        if not NUMBERED.match(path.name):
            raise RuntimeError(f"{path}: not a numbered migration (NNN_name.sql)")
        if owner(path) not in SCHEMAS.values():
            raise RuntimeError(f"{path}: in a folder of no known owner ({', '.join(SCHEMAS)})")
        if (clash := by_number.get(path.name[:3])) is not None:
            raise RuntimeError(f"migrations {clash} and {path} share the number {path.name[:3]}")
        by_number[path.name[:3]] = path
    return {p.name: p for p in found}


def owner(path: Path) -> str:
    """The schema of the service whose migrations folder holds ``path``."""
    return SCHEMAS.get(path.parent.parent.name, "")


def digest(path: Path) -> str:
    """The SHA-256 schema_migrations records for a file: an applied file must never change."""
    return hashlib.sha256(path.read_text().encode()).hexdigest()


def shipped() -> dict[str, str]:
    """Every migration file this code ships, by name, with its SHA-256."""
    return {name: digest(p) for name, p in files().items()}


async def pending(conn: asyncpg.Connection) -> list[str]:
    """The shipped migrations the database has not applied (all of them on an empty database)."""
    exists = await conn.fetchval(f"SELECT to_regclass('{LEDGER}') IS NOT NULL")
    done = (
        {} if not exists else {r["name"]: r["sha256"] for r in await conn.fetch(f"SELECT name, sha256 FROM {LEDGER}")}
    )
    changed = [n for n, sha256 in shipped().items() if n in done and done[n] != sha256]
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
            raise SchemaNotCurrent(
                f"the database schema is not up to date: {len(missing)} migration(s) "
                f"not applied ({', '.join(missing)}); run python -m services.common.migrate"
            )
        log.warning("waiting for the schema migration step", extra={"pending": ",".join(missing)})
        await asyncio.sleep(every)


async def migrate(dsn: str, verbose: bool = True) -> list[str]:
    conn = await asyncpg.connect(dsn)
    applied_now: list[str] = []
    try:
        # One migrator at a time, whichever service starts first.
        await conn.execute("SELECT pg_advisory_lock(4242001)")
        await conn.execute(f"""CREATE TABLE IF NOT EXISTS {LEDGER} (
            name text PRIMARY KEY, sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())""")
        done = {r["name"]: r["sha256"] for r in await conn.fetch(f"SELECT name, sha256 FROM {LEDGER}")}
        for name, path in files().items():
            sha256 = digest(path)
            if name in done:
                if done[name] != sha256:
                    raise SystemExit(
                        f"migration {name} was changed after it was applied; add a new numbered file instead"
                    )
                continue
            async with conn.transaction():
                # The owner's schema first (skipped while it does not exist yet), public last.
                await conn.execute(f"SET LOCAL search_path = {search_path(owner(path))}, public")
                await conn.execute(path.read_text())
                await conn.execute(f"INSERT INTO {LEDGER} (name, sha256) VALUES ($1, $2)", name, sha256)
            applied_now.append(name)
            if verbose:
                print(f"applied {path.relative_to(SERVICES.parent)}")
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
