"""One way to start every process: ``python -m services.<name> api|worker [options]``.

``api`` serves the service's HTTP app (``services.<name>.api:app``) with gunicorn and uvicorn's
workers, set up by services.common.gunicorn_conf; ``--host H --port P`` say where it listens
(gunicorn's ``--bind H:P``), and every other option is gunicorn's (``--workers N``, ...).
``worker`` runs the service's stream worker (``services.<name>.worker.create_worker``) with
faust's worker command, the options passed on.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence

USAGE = "usage: python -m services.{name} {kinds} [options]"
#: How each service's HTTP process names itself in its log lines.
API_LOG_NAMES = {"alerts": "alerts-api"}


def run(name: str, argv: Sequence[str] | None = None) -> int:
    """Start the process ``argv[0]`` names (``api`` or ``worker``) for service ``name``."""
    args = list(sys.argv[1:] if argv is None else argv)
    kinds = [kind for kind in ("api", "worker") if _has(name, kind)]
    if not args or args[0] not in kinds:
        print(USAGE.format(name=name, kinds="|".join(kinds)), file=sys.stderr)
        return 2
    kind, rest = args[0], args[1:]
    if kind == "api":
        return serve_http(
            f"services.{name}.api:app", rest, API_LOG_NAMES.get(name, name), prog=f"python -m services.{name} api"
        )
    worker = importlib.import_module(f"services.{name}.worker").create_worker()
    if not any(opt in rest for opt in ("-l", "--loglevel")):
        rest = [*rest, "-l", "info"]
    sys.argv = [f"services.{name}", "--quiet", "worker", *rest]
    worker.main()
    return 0


def serve_http(app: str, argv: Sequence[str], log_name: str, prog: str = "gunicorn") -> int:
    """Run gunicorn in this process on ``app`` (``module:attribute``, or ``module:factory()``)
    with services.common.gunicorn_conf; ``--host``/``--port`` in ``argv`` become its ``--bind``.
    Returns when gunicorn's master has stopped (gunicorn exits the process itself on failure)."""
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--host", default="127.0.0.1")
    where.add_argument("--port", type=int)
    known, rest = where.parse_known_args(list(argv))
    bind = []
    if known.port is not None:
        host = f"[{known.host}]" if ":" in known.host else known.host
        bind = ["--bind", f"{host}:{known.port}"]
    os.environ["CSP_HTTP_SERVICE"] = log_name  # the log lines' service (gunicorn_conf)
    from gunicorn.app.wsgiapp import run as gunicorn

    sys.argv = [prog, "-c", "python:services.common.gunicorn_conf", *bind, *rest, app]
    gunicorn(prog=prog)
    return 0


def _has(name: str, kind: str) -> bool:
    return importlib.util.find_spec(f"services.{name}.{kind}") is not None
