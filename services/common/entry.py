"""One way to start every process: ``python -m services.<name> api|worker [options]``.

``api`` serves the service's HTTP app (``services.<name>.api:app``) with uvicorn, the options
passed on (``--host``, ``--port``, ...); intake's API has its own server with several worker
processes (``services.intake.serve``). ``worker`` runs the service's stream worker
(``services.<name>.worker.create_worker``) with faust's worker command, the options passed on.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence

USAGE = "usage: python -m services.{name} {kinds} [options]"


def run(name: str, argv: Sequence[str] | None = None,
        api: Callable[[list[str]], int | None] | None = None) -> int:
    """Start the process ``argv[0]`` names (``api`` or ``worker``) for service ``name``."""
    args = list(sys.argv[1:] if argv is None else argv)
    kinds = [kind for kind in ("api", "worker") if _has(name, kind)]
    if not args or args[0] not in kinds:
        print(USAGE.format(name=name, kinds="|".join(kinds)), file=sys.stderr)
        return 2
    kind, rest = args[0], args[1:]
    if kind == "api":
        if api is not None:
            return api(rest) or 0
        from uvicorn.main import main as uvicorn
        return uvicorn([f"services.{name}.api:app", *rest], prog_name=f"python -m services.{name} api") or 0
    worker = importlib.import_module(f"services.{name}.worker").create_worker()
    if not any(opt in rest for opt in ("-l", "--loglevel")):
        rest = [*rest, "-l", "info"]
    sys.argv = [f"services.{name}", "--quiet", "worker", *rest]
    worker.main()
    return 0


def _has(name: str, kind: str) -> bool:
    return importlib.util.find_spec(f"services.{name}.{kind}") is not None
