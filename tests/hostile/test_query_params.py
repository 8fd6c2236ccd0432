"""No query parameter of any read route answers 5xx (security issue, item 4).

Every GET route in the reporting and alerts APIs' own OpenAPI documents, and every dashboard page,
is sent each hostile value in each of its query parameters: far dates (the year 9999 was an
OverflowError, a 500), dates before the platform's range, huge and negative numbers, NaN,
infinities, empty and non-ASCII text. Each answer must be below 500, and a refusal of a JSON
route must be problem+json naming a parameter.
"""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

import pytest

from tests.conftest import http_json, url
from tests.hostile.conftest import AREA, raw, sign_in

pytestmark = pytest.mark.integration

HOSTILE = (
    "9999-12-31",
    "0001-01-01",
    "1999-12-31",
    "-1",
    "0",
    "99999999999999999999",
    "NaN",
    "Infinity",
    "1e999",
    "",
    "é",
    "%00",
    "2026-02-30",
    "BSOL'--",
    "9" * 5000,
    "\u0663\u0660",
    "1_000",
)
DASHBOARD_PAGES = (
    "/dashboard",
    "/dashboard/heatmap",
    "/dashboard/unmet-needs",
    "/dashboard/performance",
    "/dashboard/funding",
    "/dashboard/alerts",
    "/dashboard/findings",
)


def get_routes(service: str) -> list[tuple[str, list[str]]]:
    status, _, document = http_json("GET", url(service, "/openapi.json"))
    assert status == 200
    out = []
    for path, operations in document["paths"].items():
        get = operations.get("get")
        if get is None or not path.startswith("/v1/") or "{" in path or path.endswith("/stream"):
            continue
        out.append((path, [p["name"] for p in get.get("parameters", []) if p["in"] == "query"]))
    return out


def base_query(path: str) -> dict[str, str]:
    return {"area": AREA} if "area" in path or path.startswith("/v1/reports") else {}


@pytest.mark.parametrize("service", ["reporting", "alerts-api"])
def test_no_query_parameter_of_any_read_route_gives_a_5xx(actors, service):
    failures, unnamed = [], []
    for path, names in get_routes(service):
        for name in names:
            for value in HOSTILE:
                query = {**base_query(path), name: value}
                target = f"{path}?{urlencode(query, safe='%')}"
                status, headers, body = raw(
                    service, "GET", target, None, {"authorization": f"Bearer {actors['operator']['api_key']}"}
                )
                if status >= 500:
                    failures.append((target, status, body[:200]))
                elif status == 422:
                    problem = json.loads(body)
                    if not headers.get("content-type", "").startswith("application/problem+json") or not problem.get(
                        "errors"
                    ):
                        unnamed.append((target, problem))
    assert not failures, failures[:10]
    assert not unnamed, unnamed[:10]


def test_the_issues_far_dates_are_a_422_naming_the_parameter(actors):
    for path in ("/v1/reports/performance", "/v1/reports/completeness", "/v1/reports/overview"):
        status, headers, body = raw(
            "reporting",
            "GET",
            f"{path}?area={AREA}&from=9999-12-31&to=9999-12-31",
            None,
            {"authorization": f"Bearer {actors['operator']['api_key']}"},
        )
        assert status == 422, (path, status, body[:200])
        assert [e["field"] for e in json.loads(body)["errors"]] == ["to"], body


def test_no_dashboard_page_gives_a_5xx(actors):
    cookie = sign_in(actors["operator"])
    failures = []
    for page in DASHBOARD_PAGES:
        for name in (
            "area",
            "region",
            "days",
            "from",
            "to",
            "community",
            "theme",
            "stage",
            "competency",
            "provider",
            "limit",
        ):
            for value in HOSTILE:
                target = f"{page}?{name}={quote(value, safe='%')}"
                status, _, body = raw("reporting", "GET", target, None, {"cookie": cookie})
                if status >= 500:
                    failures.append((target, status, body[:200]))
        status, _, body = raw(
            "reporting", "GET", f"{page}?area={AREA}&from=9999-12-31&to=9999-12-31", None, {"cookie": cookie}
        )
        assert status == 422 and b"to: the window ends after" in body, (page, status, body[:200])
    assert not failures, failures[:10]
