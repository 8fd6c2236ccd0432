"""Schemathesis fuzzes the running intake service from the OpenAPI document it serves.

The ``schemathesis run`` command line (its stable interface) is pointed at the served
``/openapi.json`` with a real partner key, against the real service (real Kafka, real
PostgreSQL). It runs its three phases (the documented examples, boundary "coverage" cases,
random fuzzing; valid and deliberately invalid requests) with the settings in
``tests/hostile/schemathesis.toml``: at most 150 examples per operation and phase, no deadline.
Every answer must

* never be a 5xx (``not_a_server_error``);
* use a documented status code, content type, headers and body schema
  (``status_code_conformance``, ``content_type_conformance``, ``response_headers_conformance``,
  ``response_schema_conformance``);
* refuse what the schema says is invalid with a documented 4xx (``negative_data_rejection``);
* answer 401 to a request without the key or with a wrong one (``ignored_auth``).

The valid cases are sent as the key's own organisation (``fuzz_hooks.py``), so they reach the
privacy guard, the ledger and Kafka. Afterwards the service's own count of 5xx answers has not
moved, every event it acknowledged reached the reporting store, and a fresh finding still does:
nothing the fuzzer got accepted may stop a worker downstream.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import urllib.request

import asyncpg
import pytest

from tests.conftest import REPO, TEST_ENV, TEST_HOME, bearer, url, wait_until
from tests.hostile.conftest import PARTNER_ORG, pipeline_still_flows

pytestmark = pytest.mark.integration

HERE = REPO / "tests" / "hostile"
SCHEMATHESIS = REPO / ".venv" / "bin" / "schemathesis"


def server_errors() -> float:
    """5xx answers counted by the intake service's own request metric since it started."""
    with urllib.request.urlopen(url("intake", "/metrics"), timeout=10) as r:
        text = r.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("csp_http_requests_total{") and re.search(r'status="5\d\d"', line)
    )


def acknowledged_and_reported(organisation: str) -> tuple[int, int]:
    """(events intake acknowledged for the organisation, events of it stored where they end up):
    findings, performance returns and funding flows in the reporting store; peer review returns,
    which the alerts service keeps (migration 009), in its table of returns."""

    async def counts() -> tuple[int, int]:
        conn = await asyncpg.connect(TEST_ENV["CSP_PG_DSN"])
        try:
            acked = await conn.fetchval(
                "SELECT count(*) FROM intake_events WHERE organisation_id = $1 AND status = 'published'", organisation
            )
            stored = await conn.fetchval(
                "SELECT (SELECT count(*) FROM reporting_events WHERE source = $1) "
                "     + (SELECT count(*) FROM peer_reviews WHERE organisation_id = $1)",
                organisation,
            )
            return acked, stored
        finally:
            await conn.close()

    return asyncio.run(counts())


def test_intake_answers_every_generated_request_as_documented(actors):
    errors_before = server_errors()
    env = {
        **os.environ,
        **TEST_ENV,
        "PYTHONPATH": str(REPO),
        "SCHEMATHESIS_HOOKS": "tests.hostile.fuzz_hooks",
        "CSP_FUZZ_SOURCE": PARTNER_ORG,
    }
    auth = bearer(actors["partner"])["authorization"]
    proc = subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(HERE / "schemathesis.toml"),
            "--no-color",
            "run",
            url("intake", "/openapi.json"),
            "--header",
            f"Authorization: {auth}",
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--output-sanitize",
            "true",
        ],
        # Run from the session's data folder: schemathesis keeps its example database there.
        env=env,
        cwd=TEST_HOME,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    report = proc.stdout[-12000:] + proc.stderr[-3000:]
    print(report)
    assert proc.returncode == 0, report
    summary = re.search(r"(\d+) generated, (\d+) passed", proc.stdout)
    assert summary and int(summary.group(1)) >= 500, report  # it really exercised the API
    operations = re.search(r"(\d+) selected / (\d+) total", proc.stdout)
    assert operations and operations.group(1) == operations.group(2) and int(operations.group(1)) >= 4, report

    assert server_errors() == errors_before
    acked, _ = acknowledged_and_reported(PARTNER_ORG)
    assert acked > 0, "no generated event got through to Kafka: the fuzzing stayed at the door"
    wait_until(
        lambda: (c := acknowledged_and_reported(PARTNER_ORG))[0] == c[1],
        180,
        what="every event intake acknowledged during the fuzzing to reach its store",
    )
    pipeline_still_flows(actors["partner"], actors["kent"])
