"""Shared fixtures. Integration and e2e tests run against a real Kafka broker and a real
PostgreSQL, started by the project's own scripts on test-only ports under .local/test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.stackenv import REPO, run_script, stack_env

#: Test ports derive from one base (tests/stackenv.py): the default 29000 gives Kafka 29092/29093,
#: PostgreSQL 25432 and services 28081-28086; CSP_TEST_PORT_BASE=39000 gives Kafka 39092/39093,
#: PostgreSQL 35432, services 38081-38086 and data under .local/test-39000, so two test sessions
#: can run side by side.
BASE = int(os.environ.get("CSP_TEST_PORT_BASE", "29000"))
TEST_HOME = REPO / ".local" / ("test" if BASE == 29000 else f"test-{BASE}")
#: The seed documents, vendored byte for byte (docs/seeds/README.md).
SEEDS = REPO / "docs" / "seeds"
TEST_ENV = {
    **stack_env(BASE, TEST_HOME),
    "CSP_KEY_CACHE_SECONDS": "0",  # revocation must bite at once in tests
    "CSP_RATE_LIMIT_PER_SECOND": "100000",
    "CSP_RATE_LIMIT_BURST": "100000",
    # The suite reads and fails authentication far faster than any person; the limits' own tests
    # (tests/unit/common/test_limits.py) use the defaults.
    "CSP_READS_PER_SECOND": "100000",
    "CSP_READS_BURST": "100000",
    "CSP_AUTH_FAILURES_PER_SECOND": "100000",
    "CSP_AUTH_FAILURES_BURST": "100000",
    # The mapping worker reads a copy of the rule file that tests may edit (hot reload).
    "CSP_MAPPING_RULES": str(TEST_HOME / "rules.yaml"),
    "CSP_RULES_CHECK_SECONDS": "1",
}


def run(script: str, *args: str, timeout: int = 600) -> str:
    return run_script(TEST_ENV, script, *args, timeout=timeout)


@pytest.fixture(scope="session")
def test_env() -> dict[str, str]:
    for k, v in TEST_ENV.items():
        os.environ[k] = v
    return TEST_ENV


@pytest.fixture(scope="session")
def infra(test_env):
    """Kafka (KRaft) and PostgreSQL, fresh for this session, topics created, schema migrated."""
    run("stack.sh", "reset")
    try:
        run("stack.sh", "infra")
    except BaseException:
        # pytest runs no teardown for a fixture that failed before its yield: stop the parts that
        # did start (PostgreSQL, some Kafka nodes, a cluster's network namespace) so the next run
        # on this machine does not meet them.
        run("stack.sh", "reset")
        raise
    yield test_env
    run("services.sh", "stop")
    run("kafka.sh", "stop")
    run("postgres.sh", "stop")


def http_json(method: str, url: str, body=None, headers=None, timeout: float = 10):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url, data=data, method=method, headers={"content-type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, dict(e.headers), json.loads(raw) if raw else None


def keys_cli(*args: str) -> str:
    """Run the project's key and registry CLI (python -m services.common.keys) on the test stack."""
    out = subprocess.run(
        [sys.executable, "-m", "services.common.keys", *args],
        env={**os.environ, **TEST_ENV},
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    return out.stdout


def create_key(org: str, role: str, areas: str = "", name: str | None = None, provider_ids: str = "") -> dict:
    """A key made with the project's key CLI. For a partner, ``areas`` are the areas its
    organisation serves and ``provider_ids`` the providers it reports for besides itself, both
    added to the organisation registry: intake refuses its posts anywhere else (403)."""
    args = ["create", "--org", org, "--role", role, "--json"]
    if areas:
        args += ["--areas", areas]
    if provider_ids:
        args += ["--provider-ids", provider_ids]
    if name:
        args += ["--name", name]
    return json.loads(keys_cli(*args))


def wait_until(predicate, timeout: float = 60, interval: float = 0.5, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


def url(service: str, path: str) -> str:
    port = TEST_ENV[f"CSP_{service.upper().replace('-', '_')}_PORT"]
    return f"http://127.0.0.1:{port}{path}"


@pytest.fixture(scope="session")
def stack(infra):
    """The five platform processes on their test ports, against the session's Kafka and PostgreSQL."""
    shutil.copyfile(REPO / "services" / "mapping" / "rules" / "ruleset.yaml", TEST_ENV["CSP_MAPPING_RULES"])
    run("services.sh", "start", timeout=300)
    yield infra


@pytest.fixture(scope="session")
def keys(stack) -> dict[str, dict]:
    """API keys for the organisations the tests act as (created with the project's key CLI). Each
    partner is registered for the areas the suite posts it into, and for no provider but itself
    (a test reporting on another provider registers it first)."""
    return {
        # BSOL, its own; the first five areas of contracts.places for test_intake's batch across
        # partitions; EASI for test_mapping's bulk load; ARDN for test_reporting's providers.
        "pattigift": create_key("pattigift", "partner", areas="BSOL,BLKC,ARDN,STAF,WMER,EASI", name="Pattigift"),
        # BLKC, its own (e2e, interop); WMER (test_unstorable), ARDN (test_reporting), STAF
        # (e2e test_restart): each reads an area no other test writes to.
        "black-country-cdw": create_key(
            "black-country-cdw", "partner", areas="BLKC,WMER,ARDN,STAF", name="Black Country CDW team"
        ),
        "bsol-commissioner": create_key("bsol-icb", "commissioner", areas="BSOL", name="BSOL ICB"),
        "som-commissioner": create_key("somerset-icb", "commissioner", areas="SOM", name="Somerset ICB"),
        "operator": create_key("platform-ops", "operator", name="Platform operations"),
    }


def bearer(key: dict) -> dict[str, str]:
    return {"authorization": f"Bearer {key['api_key']}"}


def findings_reported(key: dict, area: str, days: int = 7) -> int:
    """Findings the reporting API counts for ``area`` in the last ``days`` days."""
    status, _, body = http_json(
        "GET", url("reporting", f"/v1/reports/summary?area={area}&days={days}"), headers=bearer(key)
    )
    assert status == 200, body
    return body["findings"]["current"]


def recent_finding(area: str, region: str, source: str = "black-country-cdw", **data) -> dict:
    """The example finding with a fresh id, from yesterday, in ``area``; ``data`` overrides its payload."""
    import copy
    import uuid
    from datetime import datetime, timedelta, timezone

    from contracts.examples import FINDING

    body = copy.deepcopy(FINDING)
    body.update(
        event_id=str(uuid.uuid4()),
        source=source,
        area=area,
        region=region,
        occurred_at=(datetime.now(timezone.utc) - timedelta(days=1)).isoformat(),
    )
    body["data"].update(cdw_role=None, **data)
    return body
