"""Each service owns its tables: its migrations sit beside it (services/<name>/migrations/), the
one migrate step collects them all in number order, and the files ship with the package."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

from services.common import migrate

ROOT = Path(__file__).resolve().parents[3]
FOLDERS = sorted((ROOT / "services").glob("*/migrations"))


def test_every_migrations_folder_belongs_to_an_owner_and_holds_only_numbered_files():
    assert {f.parent.name for f in FOLDERS} == set(migrate.SCHEMAS)
    strays = [str(p.relative_to(ROOT)) for f in FOLDERS for p in f.iterdir() if not migrate.NUMBERED.match(p.name)]
    assert strays == []
    assert not (ROOT / "deploy" / "migrations").exists()  # one home for the migrations


def test_numbers_are_unique_across_the_folders_and_applied_in_number_order():
    names = [p.name for f in FOLDERS for p in f.iterdir()]
    numbers = [n[:3] for n in names]
    assert sorted(numbers) == sorted(set(numbers))
    assert list(migrate.files()) == sorted(names)
    assert list(migrate.shipped()) == sorted(names)


def _write(root: Path, folder: str, name: str) -> None:
    (root / folder / "migrations").mkdir(parents=True, exist_ok=True)
    (root / folder / "migrations" / name).write_text("SELECT 1;\n")


def test_the_runner_refuses_two_files_with_one_number(tmp_path):
    _write(tmp_path, "intake", "013_a.sql")
    _write(tmp_path, "reporting", "013_b.sql")
    with pytest.raises(RuntimeError, match="share the number 013"):
        migrate.files(tmp_path)


@pytest.mark.parametrize(
    "folder, name, reason",
    [
        ("intake", "13_short.sql", "not a numbered migration"),
        ("intake", "014_notes.txt", "not a numbered migration"),
        ("intake", "__init__.py", "not a numbered migration"),
        ("mapping", "014_rules.sql", "no known owner"),
    ],
)
def test_the_runner_refuses_a_stray_file(tmp_path, folder, name, reason):
    _write(tmp_path, folder, name)
    with pytest.raises(RuntimeError, match=reason):
        migrate.files(tmp_path)


def test_an_install_without_the_sql_files_is_refused(tmp_path):
    """An image missing the files must not pass for an up-to-date schema."""
    (tmp_path / "intake").mkdir()
    with pytest.raises(RuntimeError, match="no migrations found"):
        migrate.files(tmp_path)


def test_the_migrations_are_package_data_and_in_the_image():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert all("migrations/*.sql" in data.get(f"services.{f.parent.name}", []) for f in FOLDERS)
    assert "COPY services ./services" in (ROOT / "Dockerfile").read_text()


def test_a_migration_runs_with_its_owners_search_path():
    assert {migrate.owner(p) for p in migrate.files().values()} <= set(migrate.SCHEMAS.values())
    assert migrate.owner(migrate.files()["003_alerts.sql"]) == "alerts"
    assert migrate.search_path("alerts") == "alerts, registry"
    assert migrate.search_path("registry") == "registry"
    with pytest.raises(ValueError, match="no schema 'public'"):
        migrate.search_path("public")


# --- Who owns each table, as the migrations build them ------------------------------------------

_COMMENT = re.compile(r"--[^\n]*")
_STATEMENT = re.compile(
    r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(?P<create>TABLE|VIEW|MATERIALIZED\s+VIEW|FUNCTION)\s+(?P<new>[\w.]+)"
    r"|\bALTER\s+(?:TABLE|VIEW|MATERIALIZED\s+VIEW|FUNCTION)\s+(?P<moved>[\w.]+)(?:\([^)]*\))?\s+SET\s+SCHEMA\s+(?P<to>\w+)"
    r"|\bDROP\s+(?:TABLE|VIEW|MATERIALIZED\s+VIEW|FUNCTION)\s+(?:IF\s+EXISTS\s+)?(?P<dropped>[\w.]+)"
    r"|\bCREATE\s+SCHEMA\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<schema>\w+)",
    re.I,
)


def owners() -> dict[str, str]:
    """Each table, view and function the migrations leave, by name, with its schema: replays the
    files in order as the runner applies them (an unqualified name lands in the first schema of
    the file's search_path that exists, else public; SET SCHEMA moves it; DROP forgets it)."""
    where: dict[str, str] = {}
    schemas = {"public"}
    for path in migrate.files().values():
        searched = [s.strip() for s in migrate.search_path(migrate.owner(path)).split(",")] + ["public"]
        for m in _STATEMENT.finditer(_COMMENT.sub("", path.read_text())):
            if m["schema"]:
                schemas.add(m["schema"].lower())
            elif m["new"]:
                schema, _, name = m["new"].lower().rpartition(".")
                where[name] = schema or next(s for s in searched if s in schemas)
            elif m["moved"]:
                where[m["moved"].lower().rpartition(".")[2]] = m["to"].lower()
            elif m["dropped"]:
                where.pop(m["dropped"].lower().rpartition(".")[2], None)
    return where


def test_every_table_view_and_function_sits_in_its_owners_schema_none_in_public():
    where = owners()
    assert [name for name, schema in where.items() if schema not in migrate.SCHEMAS.values()] == []
    assert {where[t] for t in ("organisations", "api_keys", "organisation_members")} == {"registry"}
    assert where["intake_events"] == "intake"
    assert {where[t] for t in ("alerts", "alert_audit", "recommendations", "peer_reviews")} == {"alerts"}
    assert {
        where[t]
        for t in (
            "reporting_events",
            "reporting_alerts",
            "reporting_sessions",
            "rollup_cycle_daily_v",
            "rollup_community_theme",
        )
    } == {"reporting"}
    assert "rollup_stage_competency_daily" not in where  # dropped by 004


# --- No service reads another's tables ---------------------------------------------------------

#: A table named after one of these keywords, optionally schema-qualified. Upper case only: the
#: project writes SQL keywords in capitals, and prose ("read from alerts") is not SQL.
_NAMED = re.compile(
    r"\b(?:FROM|JOIN|INTO|UPDATE|COPY|TABLE|TRUNCATE)\s+(?:ONLY\s+)?"
    r"(?:([a-z_][a-z0-9_]*)\.)?([a-z_][a-z0-9_]*)\b"
)


def named_tables(source: str, where: dict[str, str]) -> set[tuple[str, str]]:
    """The (schema, table) pairs the string literals of ``source`` name in SQL, for names the
    migrations created (a CTE, a function or an alias is none of them) or qualified by a schema."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for schema, name in _NAMED.findall(node.value):
                if schema in where.values() or (not schema and name in where):
                    found.add((schema or where[name], name))
    return found


def crossings(folder: Path, own: str, where: dict[str, str]) -> list[str]:
    allowed = {own, migrate.REGISTRY}
    return sorted(
        f"{p.relative_to(folder.parent)}: {schema}.{name}"
        for p in folder.rglob("*.py")
        for schema, name in named_tables(p.read_text(), where)
        if schema not in allowed
    )


@pytest.mark.parametrize("folder, own", sorted(migrate.SCHEMAS.items()) + [("mapping", "none")])
def test_no_service_names_another_services_table(folder, own):
    """A service's SQL names its own tables and the registry's, nothing else; its connections
    could not find another's anyway (services/common/db.py), this finds the query before a run."""
    assert crossings(ROOT / "services" / folder, own, owners()) == []


def test_the_check_sees_the_tables_each_service_uses():
    where = owners()
    seen = {
        f: {n for p in (ROOT / "services" / f).rglob("*.py") for _, n in named_tables(p.read_text(), where)}
        for f in migrate.SCHEMAS
    }
    assert {"intake_events"} <= seen["intake"]
    assert {"alerts", "alert_audit", "recommendations", "peer_reviews"} <= seen["alerts"]
    assert {"reporting_events", "reporting_alerts", "reporting_sessions", "api_keys"} <= seen["reporting"]
    assert {"organisations", "organisation_members", "api_keys"} <= seen["common"]


@pytest.mark.parametrize(
    "sql",
    [
        'q = "SELECT fingerprint FROM alerts WHERE area = $1"',
        'q = f"SELECT count(*) FROM reporting_alerts r JOIN {x} USING (area)"',
        'q = "UPDATE alerts.alert_silences SET ends_at = now()"',
        'q = "INSERT INTO intake_events (event_id) VALUES ($1)"',
    ],
)
def test_the_check_fails_on_a_read_of_another_services_table(tmp_path, sql):
    (tmp_path / "store.py").write_text(sql + "\n")
    assert crossings(tmp_path, "reporting" if "intake_events" in sql else "intake", owners()) != []


def test_every_connection_a_service_opens_sets_its_own_search_path():
    """The database's default search_path lists every schema (for people at a psql prompt), so a
    service connection that set none would see every table. Each one passes ``server_settings``
    (services/common/db.py); only the migrate step, which names its ledger with its schema and
    sets each file's search_path itself, connects without."""
    bare = []
    for path in (ROOT / "services").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "asyncpg"
                and node.func.attr in ("connect", "create_pool")
                and "server_settings" not in {k.arg for k in node.keywords}
            ):
                bare.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert [b for b in bare if not b.startswith("services/common/migrate.py:")] == []
    assert any(b.startswith("services/common/migrate.py:") for b in bare)  # the scan sees calls
