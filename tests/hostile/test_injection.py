"""SQL injection attempts in every filter, sort and path parameter of the reporting and alerts
APIs (taken from their own OpenAPI documents, so a new parameter is attacked too) and of the
dashboard pages.

Each attempt must be a 4xx: problem+json naming the parameter for the APIs, an HTML error page
that does not reflect the attempt unescaped for the dashboard. None may take time in the
database (``pg_sleep``), and afterwards every table still exists, no append-only table lost a
row and the keys, organisations, silences, subscriptions and thresholds are exactly as before.
"""

from __future__ import annotations

import json
import time
import urllib.request
from urllib.parse import quote

import pytest

from tests.conftest import bearer, url
from tests.hostile.conftest import AREA, alive, assert_database_untouched, database_snapshot, problem_of, raw

pytestmark = pytest.mark.integration

ATTEMPTS = [
    "EASI' OR '1'='1",
    "KENT'; DROP TABLE reporting_events; --",
    "created_at;DROP TABLE alerts",
    "1 union select 1",
    "1; DELETE FROM api_keys",
    "' OR 1=1 --",
    "1)) OR ((1=1",
    "newest, (SELECT 1)",
    "age DESC; UPDATE api_keys SET role='operator'",
    "1' AND pg_sleep(10) IS NULL --",
    "$1",
    "KENT\x00",
    "<script>alert(1)</script>",
]
SLOW = 8.0  # seconds: pg_sleep(10) would show


def _operations(service: str) -> list[tuple[str, list[dict]]]:
    with urllib.request.urlopen(url(service, "/openapi.json"), timeout=10) as r:
        doc = json.load(r)
    return [
        (path, ops["get"].get("parameters", []))
        for path, ops in doc["paths"].items()
        if "get" in ops and ops["get"].get("parameters")
    ]


def _names_the_parameter(problem: dict, name: str) -> bool:
    return any(e["field"] == name or e["field"].endswith("." + name) for e in problem.get("errors") or [])


def _attack(service: str, path: str, params: list[dict], key: dict, attempts: list[str]) -> int:
    sent = 0
    for param in params:
        name = param["name"]
        for attempt in attempts:
            value = quote(attempt, safe="")
            if param["in"] == "path":
                target = path.replace("{" + name + "}", value)
            else:
                target = f"{path}?{name}={value}"
            started = time.monotonic()
            status, headers, body = raw(service, "GET", target, headers=bearer(key))
            assert time.monotonic() - started < SLOW, (service, target)
            problem = problem_of(status, headers, body)
            if status == 422:
                assert _names_the_parameter(problem, name), (service, target, problem)
            else:  # a path that no longer matches its route once decoded ("/" in it)
                assert status == 404 and param["in"] == "path", (service, target, problem)
            sent += 1
    return sent


def test_injection_in_every_parameter_is_refused_and_changes_nothing(actors):
    operator = actors["operator"]
    before = database_snapshot()
    sent = 0
    for path, params in _operations("reporting"):
        # The CSV twin of each report shares its handler: one attempt per parameter is enough.
        attempts = ATTEMPTS if not path.endswith(".csv") else ATTEMPTS[1:2]
        sent += _attack("reporting", path, params, operator, attempts)
    for path, params in _operations("alerts-api"):
        sent += _attack("alerts-api", path, params, operator, ATTEMPTS)
    assert sent > 800
    assert alive("reporting") and alive("alerts-api")
    assert_database_untouched(before, database_snapshot())


PAGES = (
    "/dashboard",
    "/dashboard/heatmap",
    "/dashboard/unmet-needs",
    "/dashboard/performance",
    "/dashboard/funding",
    "/dashboard/alerts",
    "/dashboard/findings",
)
PAGE_PARAMS = ("area", "region", "days", "from", "to")
FINDINGS_PARAMS = ("stage", "competency", "community", "theme")


def test_injection_in_the_dashboard_pages_is_an_error_page_that_reflects_nothing(actors):
    before = database_snapshot()
    key = actors["operator"]
    for page in PAGES:
        names = PAGE_PARAMS + (FINDINGS_PARAMS if page.endswith("findings") else ())
        for name in names:
            for attempt in ATTEMPTS:
                started = time.monotonic()
                status, headers, body = raw(
                    "reporting", "GET", f"{page}?{name}={quote(attempt, safe='')}", headers=bearer(key)
                )
                assert time.monotonic() - started < SLOW
                assert status == 422 and headers["content-type"].startswith("text/html"), (page, name, status)
                assert b"<script" not in body, (page, name)  # reflected only escaped, if at all
    # And a commissioner's own area with a hostile extra parameter is simply the page.
    status, _, body = raw(
        "reporting", "GET", f"/dashboard?area={AREA}&sort={quote(ATTEMPTS[2], safe='')}", headers=bearer(key)
    )
    assert status == 200 and b"DROP TABLE" not in body
    assert_database_untouched(before, database_snapshot())
