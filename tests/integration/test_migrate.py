"""The one migration step, and the services' check that it ran (services/common/migrate.py),
against the session's real PostgreSQL, on a scratch database of its own; and the schema per
service it builds: every table in its owner's schema, a database of the old layout (everything in
public) moved without losing a row, and a service's connection blind to another's tables."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid

import asyncpg
import pytest

from services.common.db import create_pool, session_settings
from services.common.migrate import LEDGER, SchemaNotCurrent, digest, files, migrate, pending, require_current, shipped
from tests.conftest import REPO, TEST_ENV
from tests.unit.common.test_schemas import owners

#: The last migration of the layout before the schemas: every table in public.
OLD_LAYOUT = "012_rollup_community_theme.sql"


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
            assert all(m in str(refused.value) for m in shipped())  # names every missing one
            waiting = asyncio.ensure_future(require_current(dsn, wait_seconds=60, every=0.2))
            await asyncio.sleep(0.5)
            assert not waiting.done()  # a migration job still running: it waits
            assert await migrate(dsn, verbose=False) == list(shipped())
            await asyncio.wait_for(waiting, 10)  # and starts once the step has run
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
        done = subprocess.run(
            [sys.executable, "-m", "services.common.keys", "list"],
            cwd=REPO,
            env={**TEST_ENV, "CSP_PG_DSN": dsn},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1, done.stdout + done.stderr
        assert "python -m services.common.migrate" in done.stderr
    finally:
        asyncio.run(_drop(name))


async def _placed(conn: asyncpg.Connection) -> dict[str, str]:
    """Every table, view and function of the database outside the system's schemas, by name, with
    its schema; sequences too, so one left behind in public shows."""
    rows = await conn.fetch("""
        SELECT c.relname AS name, n.nspname AS schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
        UNION ALL
        SELECT p.proname, n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')""")
    return {r["name"]: r["schema"] for r in rows}


def test_a_fresh_database_gets_every_table_in_its_owners_schema_and_a_service_sees_only_its_own(infra):
    async def go():
        name, dsn = await _scratch()
        try:
            await migrate(dsn, verbose=False)
            conn = await asyncpg.connect(dsn)
            try:
                placed = await _placed(conn)
            finally:
                await conn.close()
            tables = {n: s for n, s in placed.items() if not n.endswith("_seq")}
            assert tables == {**owners(), "schema_migrations": "public"}
            sequences = {n: s for n, s in placed.items() if n.endswith("_seq")}
            assert sequences and all(s == placed[n.removesuffix("_id_seq")] for n, s in sequences.items())

            # Intake's pool, as the service opens it: its ledger and the registry, no alert.
            pool = await create_pool(dsn, 1, 1, schema="intake", attempts=1)
            try:
                async with pool.acquire() as c:
                    assert await c.fetchval("SELECT count(*) FROM intake_events") == 0
                    assert await c.fetchval("SELECT count(*) FROM api_keys") == 0
                    with pytest.raises(asyncpg.UndefinedTableError, match='relation "alerts" does not exist'):
                        await c.fetchval("SELECT count(*) FROM alerts")
                    with pytest.raises(asyncpg.UndefinedTableError, match="reporting_events"):
                        await c.fetchval("SELECT count(*) FROM reporting_events")
                    await c.execute("SET search_path = alerts")  # a session change ends with its user
                async with pool.acquire() as c:
                    assert await c.fetchval("SHOW search_path") == "intake, registry"
            finally:
                await pool.close()
            # The alerts service's own connections see no intake table either.
            conn = await asyncpg.connect(dsn, server_settings=session_settings("alerts"))
            try:
                assert await conn.fetchval("SELECT count(*) FROM alerts") == 0
                with pytest.raises(asyncpg.UndefinedTableError, match="intake_events"):
                    await conn.fetchval("SELECT count(*) FROM intake_events")
            finally:
                await conn.close()
            # A person's psql session (no search_path of its own) reads every table by its bare name.
            conn = await asyncpg.connect(dsn)
            try:
                for table in ("alerts", "intake_events", "reporting_events", "api_keys", "schema_migrations"):
                    await conn.fetchval(f"SELECT count(*) FROM {table}")
            finally:
                await conn.close()
        finally:
            await _drop(name)

    asyncio.run(go())


#: A little of everything in the old layout, written before the move.
OLD_ROWS = """
INSERT INTO organisations (id, name, kind) VALUES ('lead-org', 'Lead', 'vcse'), ('member-org', 'Member', 'vcse');
INSERT INTO organisation_members (lead_id, member_id, share) VALUES ('lead-org', 'member-org', 0.4);
INSERT INTO api_keys (key_id, secret_sha256, organisation_id, role)
    VALUES ('csp_old', sha256('secret'::bytea), 'lead-org', 'partner');
INSERT INTO intake_events (event_id, organisation_id, type, area, body_sha256, status)
    SELECT gen_random_uuid(), 'lead-org', 'finding', 'SHEF', sha256('body'::bytea), 'published'
    FROM generate_series(1, 50);
INSERT INTO alerts (fingerprint, rule, area, region, subject, severity, status, summary, stages,
                    competencies, evidence, event_ids, starts_at, updated_at, record)
    VALUES ('0123456789abcdef', 'unmet_need', 'SHEF', 'yorkshire_and_humber', 'somali', 'red', 'firing',
            'old alert', '{1}', '{2}', '{}', '{}', now(), now(), '{}');
INSERT INTO alert_audit (fingerprint, at, action, to_status, severity)
    VALUES ('0123456789abcdef', now(), 'fired', 'firing', 'red');
INSERT INTO reporting_events (event_id, type, source, region, area, occurred_at, day, stages, competencies,
                              cdw_roles, plans, rule_ids, rules_version, mapped_at)
    SELECT gen_random_uuid(), 'finding', 'lead-org', 'yorkshire_and_humber', 'SHEF', now(), current_date,
           '{1}', '{2}', '{}', '{}', '{}', 'v1', now()
    FROM generate_series(1, 30);
INSERT INTO reporting_sessions (session_sha256, key_id, expires_at, sealed_key)
    VALUES (sha256('session'::bytea), 'csp_old', now() + interval '1 day', 'sealed'::bytea);
"""


def test_a_database_of_the_old_layout_is_moved_to_the_schemas_without_losing_a_row(infra):
    async def go():
        name, dsn = await _scratch()
        try:
            conn = await asyncpg.connect(dsn)
            try:
                # Up to 012 as the runner applied them before the schemas: all in public.
                await conn.execute(
                    f"CREATE TABLE {LEDGER} (name text PRIMARY KEY, sha256 text NOT NULL, "
                    "applied_at timestamptz NOT NULL DEFAULT now())"
                )
                for file_name, path in files().items():
                    await conn.execute(path.read_text())
                    await conn.execute(f"INSERT INTO {LEDGER} (name, sha256) VALUES ($1, $2)", file_name, digest(path))
                    if file_name == OLD_LAYOUT:
                        break
                await conn.execute(OLD_ROWS)
                before = await _placed(conn)
                assert {s for n, s in before.items() if n in owners()} == {"public"}
                counts = {
                    t: await conn.fetchval(f"SELECT count(*) FROM public.{t}")
                    for t, s in before.items()
                    if t in owners()
                    and t not in ("rollup_cycle_daily_v",)
                    and await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"public.{t}")
                }
            finally:
                await conn.close()
            assert sum(counts.values()) >= 86

            applied = await migrate(dsn, verbose=False)
            assert applied[:4] == [
                "013_intake_schema.sql",
                "014_alerts_schema.sql",
                "015_reporting_schema.sql",
                "016_registry_schema.sql",
            ]
            conn = await asyncpg.connect(dsn)
            try:
                placed = await _placed(conn)
                assert {n: s for n, s in placed.items() if not n.endswith("_seq")} == {
                    **owners(),
                    "schema_migrations": "public",
                }
                where = owners()
                assert {t: await conn.fetchval(f"SELECT count(*) FROM {where[t]}.{t}") for t in counts} == counts
                assert await pending(conn) == []
            finally:
                await conn.close()

            # The moved objects still work: a serial column's sequence, an append-only trigger...
            alerts = await asyncpg.connect(dsn, server_settings=session_settings("alerts"))
            try:
                new_id = await alerts.fetchval(
                    "INSERT INTO alert_audit (fingerprint, at, action, to_status, severity) "
                    "VALUES ('0123456789abcdef', now(), 'acknowledged', 'acknowledged', 'red') RETURNING id"
                )
                assert new_id == 2
                with pytest.raises(asyncpg.RaiseError, match="append-only"):
                    await alerts.execute("DELETE FROM alert_audit")
            finally:
                await alerts.close()
            # ...and revoking a key from the registry alone (the keys command's view) ends its
            # dashboard sessions in the reporting schema, forgetting the sealed key.
            registry = await asyncpg.connect(dsn, server_settings=session_settings("registry"))
            try:
                await registry.execute("UPDATE api_keys SET revoked_at = now() WHERE key_id = 'csp_old'")
            finally:
                await registry.close()
            reporting = await asyncpg.connect(dsn, server_settings=session_settings("reporting"))
            try:
                ended = await reporting.fetchrow("SELECT end_reason, sealed_key FROM reporting_sessions")
                assert (ended["end_reason"], ended["sealed_key"]) == ("key_revoked", None)
            finally:
                await reporting.close()
        finally:
            await _drop(name)

    asyncio.run(go())
