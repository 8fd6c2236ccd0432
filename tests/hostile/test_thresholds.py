"""Thresholds a commissioner puts, and one area's bad stored state, can never stop the alerts
worker for the other areas (security issue, item 1).

* NaN, the infinities and numbers JSON turns into infinity are refused with 422 naming the
  field, and nothing is stored;
* a thresholds row that does not read back (as the old API stored Infinity: as null) leaves its
  area on the defaults, shown as such by the API, and the area is still evaluated;
* an area whose stored state is corrupt is skipped by the timer pass, counted and logged, and
  the areas due after it are still evaluated.
"""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from tests.conftest import bearer, url, wait_until
from tests.hostile.conftest import (
    AREA,
    REGION,
    fields_named,
    problem_of,
    raw,
    sql,
    unmet_need_alert,
)

pytestmark = pytest.mark.integration

BAD_AREA, BAD_REGION = "NHAM", "east_midlands"  # Northamptonshire: no other hostile test posts there


def metric(name: str) -> float:
    with urllib.request.urlopen(url("alerts", "/metrics"), timeout=10) as answer:
        text = answer.read().decode()
    found = re.findall(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.M)
    return sum(float(v) for v in found)


@pytest.mark.parametrize(
    "body,field",
    [
        (b'{"unmet_need":{"amber_score":1,"red_score":Infinity}}', "unmet_need.red_score"),
        (b'{"unmet_need":{"amber_score":NaN}}', "unmet_need.amber_score"),
        (b'{"unmet_need":{"red_score":-Infinity}}', "unmet_need.red_score"),
        (b'{"unmet_need":{"red_score":1e999}}', "unmet_need.red_score"),
        (b'{"performance":{"targets":{"four_week_wait":NaN}}}', "performance.targets.four_week_wait"),
        (b'{"unmet_need":{"rise_alpha":NaN}}', "unmet_need.rise_alpha"),
    ],
)
def test_non_finite_thresholds_are_refused_and_nothing_is_stored(actors, body, field):
    before = sql("SELECT thresholds::text, updated_at FROM alert_thresholds WHERE area = $1", AREA)
    status, headers, answer = raw(
        "alerts-api",
        "PUT",
        f"/v1/areas/{AREA}/thresholds",
        body,
        {**bearer(actors["kent"]), "content-type": "application/json"},
    )
    problem = problem_of(status, headers, answer)
    assert status == 422 and field in fields_named(problem), problem
    assert sql("SELECT thresholds::text, updated_at FROM alert_thresholds WHERE area = $1", AREA) == before
    status, _, shown = raw("alerts-api", "GET", f"/v1/areas/{AREA}/thresholds", None, bearer(actors["kent"]))
    assert status == 200, shown


@pytest.fixture
def poisoned_area(actors):
    """BAD_AREA with the row the old API stored for red_score Infinity; removed afterwards."""
    sql(
        "INSERT INTO alert_thresholds (area, thresholds, updated_by) "
        'VALUES ($1, \'{"unmet_need": {"amber_score": 1.0, "red_score": null}}\'::jsonb, \'old-api\') '
        "ON CONFLICT (area) DO UPDATE SET thresholds = EXCLUDED.thresholds",
        BAD_AREA,
    )
    yield BAD_AREA
    sql("DELETE FROM alert_thresholds WHERE area = $1", BAD_AREA)


def test_a_stored_row_that_does_not_read_back_leaves_the_defaults_in_force(actors, poisoned_area):
    invalid_before = metric("csp_alert_invalid_thresholds_total")
    status, _, answer = raw(
        "alerts-api", "GET", f"/v1/areas/{poisoned_area}/thresholds", None, bearer(actors["operator"])
    )
    assert status == 200, answer
    shown = json.loads(answer)
    assert shown["thresholds"]["unmet_need"]["amber_score"] == 15.0 and "overrides_invalid" in shown
    # The area is still watched, on the defaults: two findings scoring 18 fire amber.
    unmet_need_alert(
        actors["operator"], actors["operator"], "gypsy_and_traveller", area=poisoned_area, region=BAD_REGION
    )
    # The alert may have fired before (the fault tests load this area too): wait for the worker to
    # have read the bad row for these findings, rather than for the alert.
    wait_until(
        lambda: metric("csp_alert_invalid_thresholds_total") > invalid_before,
        60,
        what="the worker to read the stored row and fall back to the defaults",
    )


def test_a_corrupt_area_is_skipped_and_the_areas_due_after_it_are_still_evaluated(actors, poisoned_area):
    # Both areas have state rows: an alert in each.
    unmet_need_alert(
        actors["operator"], actors["operator"], "refugees_and_asylum_seekers", area=poisoned_area, region=BAD_REGION
    )
    unmet_need_alert(actors["partner"], actors["kent"], "refugees_and_asylum_seekers", area=AREA, region=REGION)
    (saved,) = sql("SELECT state::text AS state FROM alert_area_state WHERE area = $1", poisoned_area)
    failures_before = metric("csp_alert_area_failures_total")
    try:
        # The corrupt area comes due first; the healthy one after it.
        sql(
            'UPDATE alert_area_state SET state = \'{"not": "a state"}\'::jsonb, '
            "next_check_at = now() - interval '10 minutes' WHERE area = $1",
            poisoned_area,
        )
        sql("UPDATE alert_area_state SET next_check_at = now() - interval '5 minutes' WHERE area = $1", AREA)
        wait_until(
            lambda: sql("SELECT 1 FROM alert_area_state WHERE area = $1 AND next_check_at > now()", AREA),
            60,
            what=f"the timer to evaluate {AREA} after the corrupt area",
        )
        assert metric("csp_alert_area_failures_total") > failures_before
    finally:
        sql("UPDATE alert_area_state SET state = $2::jsonb WHERE area = $1", poisoned_area, saved["state"])
    # Restored, the area is evaluated again.
    sql("UPDATE alert_area_state SET next_check_at = now() - interval '1 minute' WHERE area = $1", poisoned_area)
    wait_until(
        lambda: sql("SELECT 1 FROM alert_area_state WHERE area = $1 AND next_check_at > now()", poisoned_area),
        60,
        what="the restored area to be evaluated",
    )
