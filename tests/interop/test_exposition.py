"""``promtool check metrics`` is the exposition check: every process's /metrics passes it in
tests/integration/test_prometheus.py (test_each_process_exposition_passes_promtool_...). Here,
that the check can fail: promtool flags what Prometheus' naming conventions forbid."""

from __future__ import annotations

import shutil
import subprocess


def test_promtool_flags_a_badly_named_counter():
    promtool = shutil.which("promtool")
    assert promtool, "promtool is installed by deploy/local/install.sh (Debian's prometheus)"
    checked = subprocess.run(
        [promtool, "check", "metrics"],
        capture_output=True,
        timeout=60,
        input=b"# HELP csp_broken_events Events.\n# TYPE csp_broken_events counter\ncsp_broken_events 1\n",
    )
    assert checked.returncode != 0
    assert b"_total" in checked.stdout + checked.stderr
