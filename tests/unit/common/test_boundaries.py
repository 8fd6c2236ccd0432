"""The services stay apart: no service imports another (each may import contracts and
services.common), and contracts import no service."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ("intake", "mapping", "alerts", "reporting")
#: The one known crossing: the reporting API's explain endpoint runs mapping's pure rule set (no
#: Kafka, nothing published) to show how an event would be routed. Any other crossing fails.
ALLOWED = {
    ("services/reporting/taxonomy_api.py", m)
    for m in (
        "services.mapping.config",
        "services.mapping.domain.describe",
        "services.mapping.domain.ruleset",
        "services.mapping.reloader",
    )
}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_imports_another(service):
    others = [s for s in SERVICES if s != service]
    crossing = sorted(
        f"{p.relative_to(ROOT)}: {m}"
        for p in (ROOT / "services" / service).rglob("*.py")
        for m in _imports(p)
        if any(m == f"services.{o}" or m.startswith(f"services.{o}.") for o in others)
        and (str(p.relative_to(ROOT)), m) not in ALLOWED
    )
    assert crossing == []


def test_common_and_contracts_import_no_service():
    crossing = sorted(
        f"{p.relative_to(ROOT)}: {m}"
        for folder in (ROOT / "services" / "common", ROOT / "contracts")
        for p in folder.rglob("*.py")
        for m in _imports(p)
        if any(m == f"services.{s}" or m.startswith(f"services.{s}.") for s in SERVICES)
    )
    assert crossing == []
