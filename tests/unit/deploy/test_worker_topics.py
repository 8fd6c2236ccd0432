"""deploy/validate.py sizes each stream worker's replicas by the partitions of the topics it reads
(worker_topics, from the faust app each worker's factory builds); they must be the topics the
worker's agents are declared on in its source."""

from __future__ import annotations

import ast
from pathlib import Path

from deploy.validate import WORKER_MODULES, worker_topics

ROOT = Path(__file__).resolve().parents[3]
MODULES = {
    "mapping": "services/mapping/worker.py",
    "alerts": "services/alerts/worker.py",
    "reporting-worker": "services/reporting/worker.py",
}


def agent_topics(path: Path) -> set[str]:
    """The topic constants named in the worker's ``@app.agent(...)`` sources: each
    ``raw_topic(app, X.name, ...)`` that an agent iterates (directly or through a variable)."""
    tree = ast.parse(path.read_text())
    named: dict[str, set[str]] = {}
    agents: set[str] = set()

    def constants(call: ast.Call) -> set[str]:
        return {a.value.id for a in call.args[1:] if isinstance(a, ast.Attribute) and isinstance(a.value, ast.Name)}

    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and getattr(node.value.func, "id", None) == "raw_topic"
        ):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    named[target.id] = constants(node.value)
        if isinstance(node, (ast.AsyncFunctionDef, ast.FunctionDef)):
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and getattr(deco.func, "attr", None) == "agent" and deco.args:
                    source = deco.args[0]
                    if isinstance(source, ast.Call) and getattr(source.func, "id", None) == "raw_topic":
                        agents |= constants(source)
                    elif isinstance(source, ast.Name):
                        agents.add(f"var:{source.id}")
    out: set[str] = set()
    for a in agents:
        out |= named.get(a[4:], set()) if a.startswith("var:") else {a}
    return out


def test_worker_topics_are_the_topics_each_workers_agents_read():
    read = worker_topics()
    assert set(read) == set(MODULES) == set(WORKER_MODULES)
    for worker, module in MODULES.items():
        assert set(read[worker]) == agent_topics(ROOT / module), worker
