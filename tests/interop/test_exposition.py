"""Every service's /metrics, linted by the ecosystem's own tool: ``promtool check metrics``
(metric and label naming, units, help text), as Prometheus' operators would point it."""
from __future__ import annotations

import shutil
import subprocess
import urllib.request

import pytest

from tests.conftest import url

SERVICES = ("intake", "mapping", "alerts", "alerts-api", "reporting", "reporting-worker")


def lint(exposition: bytes) -> subprocess.CompletedProcess:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is installed by deploy/local/install.sh (Debian's prometheus)"
    return subprocess.run([promtool, "check", "metrics"], input=exposition, capture_output=True,
                          timeout=60)


@pytest.mark.parametrize("service", SERVICES)
def test_metrics_pass_promtool_check_metrics(stack, service):
    with urllib.request.urlopen(url(service, "/metrics"), timeout=10) as answer:
        exposition = answer.read()
    assert b"# HELP" in exposition
    checked = lint(exposition)
    problems = (checked.stdout + checked.stderr).decode().strip()
    assert checked.returncode == 0 and not problems, f"{service}:\n{problems}"


def test_promtool_flags_a_badly_named_counter():
    """The check can fail: a counter without the _total suffix is a lint problem."""
    checked = lint(b"# HELP csp_broken_events Events.\n# TYPE csp_broken_events counter\n"
                   b"csp_broken_events 1\n")
    assert checked.returncode != 0
    assert b"_total" in checked.stdout + checked.stderr
