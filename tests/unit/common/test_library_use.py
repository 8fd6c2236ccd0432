"""Issue 19's first rule, checked on the source: the services use their libraries through the
public API only. No private name is imported from a library, no ``._name`` is read or written on
anything but the code's own ``self``/``cls``, and nothing is assigned (or ``setattr``) onto a
library's class or module."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[3] / "services"
LIBRARIES = (
    "faust",
    "mode",
    "aiokafka",
    "kafka",
    "fastapi",
    "starlette",
    "uvicorn",
    "uvicorn_worker",
    "gunicorn",
    "asyncpg",
    "prometheus_client",
    "pydantic",
    "pydantic_settings",
    "jinja2",
    "httpx",
    "openpyxl",
    "cryptography",
)


def _findings(source: str, where: str) -> list[str]:
    tree = ast.parse(source)
    library_names: set[str] = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in LIBRARIES:
            for alias in node.names:
                library_names.add(alias.asname or alias.name)
                if alias.name.startswith("_"):
                    found.append(f"{where}:{node.lineno} imports {node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in LIBRARIES:
                    library_names.add((alias.asname or alias.name).split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                found.append(f"{where}:{node.lineno} reaches into {ast.unparse(node)}")
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr" and node.args:
            targets = [ast.Attribute(value=node.args[0], attr="?", ctx=ast.Store())]
        for target in targets:
            root = target
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(target, ast.Attribute) and isinstance(root, ast.Name) and root.id in library_names:
                found.append(f"{where}:{node.lineno} assigns onto {ast.unparse(target)}")
    return found


def test_the_services_use_their_libraries_through_the_public_api_only():
    found = []
    for path in sorted(SERVICES.rglob("*.py")):
        found += _findings(path.read_text(), str(path.relative_to(SERVICES.parent)))
    assert found == []


def test_the_check_sees_each_kind_of_reach():
    """The scan above would pass on anything if it saw nothing: each pattern it must catch."""
    source = """
from faust.transport.consumer import _private_helper
from aiokafka import AIOKafkaConsumer
import mode
import faust
AIOKafkaConsumer._fetch = lambda self: None
mode.Service.wait_first = None
setattr(faust.Stream, "ack", None)
def f(consumer):
    return consumer._committed_offset
class Mine:
    def g(self):
        return self._own
"""
    found = _findings(source, "x.py")
    assert {f.split(" ", 1)[1] for f in found} == {
        "imports faust.transport.consumer._private_helper",
        "reaches into AIOKafkaConsumer._fetch",
        "reaches into consumer._committed_offset",
        "assigns onto AIOKafkaConsumer._fetch",
        "assigns onto mode.Service.wait_first",
        "assigns onto faust.Stream.?",
    }
