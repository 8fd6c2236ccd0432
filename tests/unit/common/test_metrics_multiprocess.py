"""services.common.metrics in a service of several worker processes (prometheus_client's
multiprocess mode): real processes writing real files, one of them answering the scrape."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap

from tests.metrics_text import series
from tests.stackenv import REPO

WORKER = textwrap.dedent("""
    import os, sys
    from services.common import metrics
    metrics.set_build_info("intake", "9.9.9")
    metrics.HTTP_REQUESTS.labels("/v1/findings", "POST", "202").inc(int(sys.argv[1]))
    metrics.HTTP_IN_FLIGHT.inc(int(sys.argv[2]))
    print(os.getpid())
""")

SCRAPE = textwrap.dedent("""
    from services.common import metrics
    metrics.set_build_info("intake", "9.9.9")
    body, ctype = metrics.exposition()
    print(body.decode())
""")


def run(code: str, folder: str, *args: str) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": folder, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=env, cwd=REPO, capture_output=True, text=True, check=True
    ).stdout


def test_a_scrape_reports_every_workers_counts_and_only_live_workers_gauges(tmp_path):
    folder = str(tmp_path)
    # Two workers, both ended by the time of the scrape, their files still saying they had
    # requests in flight; gunicorn's master has called its child_exit hook for each.
    stopped = int(run(WORKER, folder, "3", "2"))
    killed = int(run(WORKER, folder, "5", "4"))
    assert f"gauge_livesum_{killed}.db" in os.listdir(folder)
    for pid in (stopped, killed):
        run(
            f"from types import SimpleNamespace; from services.common.gunicorn_conf import child_exit; "
            f"child_exit(None, SimpleNamespace(pid={pid}))",
            folder,
        )
    scraped = series(run(SCRAPE, folder))
    requests = 'csp_http_requests_total{method="POST",route="/v1/findings",status="202"}'
    assert scraped[requests] == 8  # 3 + 5: counts outlive their workers
    assert scraped["csp_http_requests_in_flight"] == 0  # the dead workers' 2 and 4 are not added
    assert (
        scraped['csp_build_info{component="intake",python_version="%s",version="9.9.9"}' % platform.python_version()]
        == 1
    )
    names = os.listdir(folder)
    assert f"gauge_livesum_{stopped}.db" not in names and f"gauge_livesum_{killed}.db" not in names
    assert f"counter_{stopped}.db" in names and f"counter_{killed}.db" in names


def test_without_the_multiprocess_directory_a_process_reports_its_own_registry():
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from services.common import metrics; "
            "metrics.HTTP_IN_FLIGHT.inc(2); print(metrics.MULTIPROCESS); "
            "print(metrics.exposition()[0].decode())",
        ],
        env={**env, "PYTHONPATH": str(REPO)},
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    first, _, rest = out.partition("\n")
    assert first == "False"
    assert series(rest)["csp_http_requests_in_flight"] == 2
    assert any(k.startswith("python_gc_collections_total") for k in series(rest))
