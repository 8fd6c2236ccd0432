"""Impossible dates and values are refused at intake, and what intake acknowledges is exactly what
the consumers store (security issue, item 3)."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from contracts.vocabulary import MAX_COUNT, MAX_GBP
from contracts.examples import PERFORMANCE
from tests.conftest import bearer, wait_until
from tests.hostile.conftest import (
    AREA,
    PARTNER_ORG,
    REGION,
    fields_named,
    finding,
    problem_of,
    raw,
    sql,
)

pytestmark = pytest.mark.integration


def performance(**data) -> dict:
    body = copy.deepcopy(PERFORMANCE)
    body.update(
        event_id=str(uuid.uuid4()),
        source=PARTNER_ORG,
        area=AREA,
        region=REGION,
        occurred_at=datetime.now(timezone.utc).isoformat(),
    )
    body["data"].update(provider_id=PARTNER_ORG, provider_name="Medway Community Voice", **data)
    return body


def post(path: str, body: bytes, key: dict) -> tuple[int, dict, bytes]:
    return raw("intake", "POST", path, body, {**bearer(key), "content-type": "application/json"})


TOMORROW_BUT_ONE = (datetime.now(timezone.utc) + timedelta(days=2)).date().isoformat()


@pytest.mark.parametrize(
    "case,field",
    [
        ({"data": {"period_start": "0001-01-01"}}, "data.period_start"),
        ({"data": {"period_end": "9999-12-31"}}, "data.period_end"),
        ({"data": {"period_end": TOMORROW_BUT_ONE}}, "data.period_end"),
        ({"occurred_at": "0001-01-01T00:00:00Z"}, "occurred_at"),
        ({"data": {"value": -5.0}}, "data.value"),
        ({"data": {"value": 250.0}}, "data.value"),
        ({"data": {"target": -1.0}}, "data.target"),
        ({"data": {"numerator": "163"}}, "data.numerator"),
        ({"data": {"period_start": "1999-12-31"}}, "data.period_start"),  # just before the earliest
        ({"data": {"value": 100.001}}, "data.value"),  # just above 100 per cent
        ({"data": {"period_start": 20261001}}, "data.period_start"),  # a date is text
        ({"occurred_at": 1_793_437_200}, "occurred_at"),  # not seconds since 1970
        ({"occurred_at": "1999-12-31T23:59:59Z"}, "occurred_at"),
        (
            {
                "data": {
                    "indicator": "funding",
                    "value": 1.0,
                    "target": None,
                    "numerator": None,
                    "denominator": None,
                    "funding_committed_gbp": 1.7e308,
                    "funding_required_gbp": 1.7e308,
                }
            },
            "data.funding_committed_gbp",
        ),  # stored, its report's totals were infinite: a 500
    ],
)
def test_impossible_performance_events_are_refused_naming_the_field(actors, case, field):
    body = performance(**case.get("data", {}))
    if "occurred_at" in case:
        body["occurred_at"] = case["occurred_at"]
    status, headers, answer = post("/v1/performance-events", json.dumps(body).encode(), actors["partner"])
    problem = problem_of(status, headers, answer)
    assert status == 422 and field in fields_named(problem), problem
    assert not sql("SELECT 1 FROM intake_events WHERE event_id = $1", uuid.UUID(body["event_id"]))


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_numbers_json_does_not_have_are_refused(actors, token):
    body = json.dumps(performance(value=12345.678)).encode().replace(b"12345.678", token)
    status, headers, answer = post("/v1/performance-events", body, actors["partner"])
    assert status == 422 and "data.value" in fields_named(problem_of(status, headers, answer))


def test_people_affected_is_a_json_number(actors):
    body = finding(people_affected="12")
    status, headers, answer = post("/v1/findings", json.dumps(body).encode(), actors["partner"])
    assert status == 422 and "data.people_affected" in fields_named(problem_of(status, headers, answer))


def test_what_intake_acknowledges_at_the_edges_is_what_reporting_stores(actors):
    body = performance(
        period_start="2000-01-01", period_end="2000-01-31", value=0.0, target=100.0, numerator=0, denominator=200
    )
    status, _, answer = post("/v1/performance-events", json.dumps(body).encode(), actors["partner"])
    assert status == 202, answer
    (row,) = wait_until(
        lambda: sql(
            "SELECT period_start, period_end, value, target, numerator FROM provider_indicator_series "
            "WHERE event_id = $1",
            uuid.UUID(body["event_id"]),
        ),
        90,
        what="the reporting worker to store it",
    )
    assert (row["period_start"], row["period_end"]) == (date(2000, 1, 1), date(2000, 1, 31))
    assert (row["value"], row["target"], row["numerator"]) == (0.0, 100.0, 0)


def test_what_intake_acknowledges_at_the_upper_edges_is_what_reporting_stores(actors):
    today = datetime.now(timezone.utc).date()
    body = performance(
        period_start=today.isoformat(),
        period_end=today.isoformat(),
        value=100.0,
        target=0.0,
        numerator=MAX_COUNT,
        denominator=MAX_COUNT,
    )
    status, _, answer = post("/v1/performance-events", json.dumps(body).encode(), actors["partner"])
    assert status == 202, answer
    (row,) = wait_until(
        lambda: sql(
            "SELECT period_start, period_end, value, target, numerator, denominator "
            "FROM provider_indicator_series WHERE event_id = $1",
            uuid.UUID(body["event_id"]),
        ),
        90,
        what="the reporting worker to store it",
    )
    assert (row["period_start"], row["period_end"]) == (today, today)
    assert (row["value"], row["target"], row["numerator"], row["denominator"]) == (100.0, 0.0, MAX_COUNT, MAX_COUNT)


def test_the_largest_sums_of_money_are_stored_as_sent_and_reported_finite(actors):
    today = datetime.now(timezone.utc).date().isoformat()
    body = performance(
        indicator="funding",
        period_start=today,
        period_end=today,
        value=MAX_GBP,
        target=None,
        numerator=None,
        denominator=None,
        funding_committed_gbp=MAX_GBP,
        funding_required_gbp=MAX_GBP,
    )
    status, _, answer = post("/v1/performance-events", json.dumps(body).encode(), actors["partner"])
    assert status == 202, answer
    (row,) = wait_until(
        lambda: sql(
            "SELECT value, funding_committed_gbp, funding_required_gbp FROM provider_indicator_series "
            "WHERE event_id = $1",
            uuid.UUID(body["event_id"]),
        ),
        90,
        what="the reporting worker to store it",
    )
    assert tuple(row) == (MAX_GBP, MAX_GBP, MAX_GBP)
    # The report adds them up and works out percentages: every figure stays a JSON number.
    status, _, answer = raw("reporting", "GET", f"/v1/reports/funding?area={AREA}", None, bearer(actors["operator"]))
    assert status == 200, answer[:300]
    assert json.loads(answer)["totals"]["required_gbp"] >= MAX_GBP
