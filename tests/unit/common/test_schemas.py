"""Each service owns its tables: its migrations sit beside it (services/<name>/migrations/), the
one migrate step collects them all in number order, and the files ship with the package."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from services.common import migrate

ROOT = Path(__file__).resolve().parents[3]
FOLDERS = sorted((ROOT / "services").glob("*/migrations"))


def test_every_migrations_folder_belongs_to_an_owner_and_holds_only_numbered_files():
    assert {f.parent.name for f in FOLDERS} == set(migrate.SCHEMAS)
    strays = [str(p.relative_to(ROOT)) for f in FOLDERS for p in f.iterdir()
              if not migrate.NUMBERED.match(p.name)]
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


@pytest.mark.parametrize("folder, name, reason", [
    ("intake", "13_short.sql", "not a numbered migration"),
    ("intake", "014_notes.txt", "not a numbered migration"),
    ("intake", "__init__.py", "not a numbered migration"),
    ("mapping", "014_rules.sql", "no known owner"),
])
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
