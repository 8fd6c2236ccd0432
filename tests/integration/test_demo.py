"""The demo `make up` loads (deploy/local/demo.py), against the real stack (domain issue #20,
item 7): every alert kind the platform has fires somewhere in it, the performance report has a
year of points or more for every provider series, the overview shows a change on the previous
window, and a second run posts duplicates and counts nothing twice.

The demo runs as `make up` runs it (python -m deploy.local.demo, as a process) with the test
stack's settings. It posts into its own partners' areas; the other modules of the session read
their own areas and organisations, or count differences (before and after), and the demo adds
areas and providers to an organisation's registration without taking any away.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date, datetime, timezone

import pytest

from contracts.events import AlertRule
from deploy.local import demo_funding
from deploy.local.demo import PARTNERS, build_events, expected_alerts, per_area
from services.alerts.domain.thresholds import FUNDING_INDICATORS
from tests.conftest import REPO, TEST_ENV, TEST_HOME, http_json, url, wait_until

pytestmark = pytest.mark.integration


def run_demo() -> tuple[subprocess.CompletedProcess, float]:
    began = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "deploy.local.demo"],
        env={**os.environ, **TEST_ENV},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return proc, time.monotonic() - began


@pytest.fixture(scope="module")
def demo(stack) -> dict:
    proc, seconds = run_demo()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    keys = json.loads((TEST_HOME / "demo-keys.json").read_text())
    day0 = date.fromisoformat((TEST_HOME / "demo-anchor").read_text().strip())
    events = build_events(day0)
    print(f"\ndemo: {sum(map(len, events.values()))} events loaded in {seconds:.0f}s")
    return {
        "keys": keys,
        "events": events,
        "output": proc.stdout,
        "seconds": seconds,
        "day0": day0,
        "operator": {"authorization": f"Bearer {keys['platform-operations']['api_key']}"},
    }


def report(demo: dict, path: str, **params) -> dict:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    status, _, body = http_json("GET", url("reporting", f"{path}?{query}"), headers=demo["operator"])
    assert status == 200, body
    return body


def test_every_alert_kind_the_platform_has_fires_somewhere_in_the_demo(demo):
    """Each rule of contracts.events.AlertRule has a firing alert raised by the demo's own
    events, where the demo says it raises it."""
    flows = demo_funding.build_events(demo["day0"])  # the funding flows the demo posts too
    ids = {e["event_id"] for items in [*demo["events"].values(), *flows.values()] for e in items}
    areas = set(per_area(demo["events"])) | {demo_funding.AREA}

    def firing() -> dict[str, list[dict]]:
        items = report(demo, "/v1/reports/alerts")["items"]
        by_rule: dict[str, list[dict]] = {}
        for i in items:
            if i["state"] == "firing" and i["area"] in areas and ids & set(i["event_ids"]):
                by_rule.setdefault(i["rule"], []).append(i)
        return by_rule if {r.value for r in AlertRule} <= set(by_rule) else None

    found = wait_until(firing, 180, interval=2, what="an alert of every kind from the demo")
    for rule, (area, subject) in {**expected_alerts(), **demo_funding.expected_alerts(demo["day0"])}.items():
        assert (area, subject) in {(i["area"], i["subject"]) for i in found[rule.value]}, rule
    ethnicity = next(i for i in found["ethnicity_data_gap"] if i["subject"] == "provider:bsol-mental-health-trust")
    assert "have a valid code, but" in ethnicity["summary"] and '"not stated"' in ethnicity["summary"]
    print("\ndemo alerts firing: " + ", ".join(f"{r} {len(v)}" for r, v in sorted(found.items())))


def test_every_provider_series_shows_a_year_of_points_or_more(demo):
    """The performance page: at least 12 points per provider series, for every series the demo
    reports (funding, contract and payment figures are the funding page's)."""
    wanted = {
        (e["area"], e["data"]["provider_id"], e["data"]["indicator"], e["data"].get("community"))
        for items in demo["events"].values()
        for e in items
        if "indicator" in e["data"] and e["data"]["indicator"] not in {i.value for i in FUNDING_INDICATORS}
    }
    providers = {p.id for p in PARTNERS}

    def series() -> dict[tuple, dict]:
        shown = {}
        for area in sorted({w[0] for w in wanted}):
            for item in report(demo, "/v1/reports/performance", area=area, days=90)["items"]:
                if item["provider_id"] in providers:
                    shown[(area, item["provider_id"], item["indicator"], item["community"])] = item
        return shown

    def complete() -> dict[tuple, dict] | None:
        shown = series()
        return shown if set(shown) == wanted and min(len(i["series"]) for i in shown.values()) >= 12 else None

    # The reporting worker may still be storing the last returns when the alerts are out.
    shown = wait_until(complete, 120, interval=2, what="every demo series with 12 points or more")
    points = {key: len(item["series"]) for key, item in shown.items()}
    assert min(points.values()) >= 12, points
    trust = shown[("BSOL", "bsol-mental-health-trust", "four_week_wait", None)]
    assert trust["spc"] is not None and trust["spc"]["points_used"] >= 12
    assert trust["target_label"] == "local target" and trust["meets_target"] is False


def test_the_overview_shows_a_change_on_the_previous_window(demo):
    """The overview's default window (30 days) against the 30 days before it: the demo's areas
    had events in both, and not as many; Sheffield's findings rose."""
    body = report(demo, "/v1/reports/overview")
    rows = {r["area"]: r for r in body["areas"]}
    current = sum(rows[a]["events"]["current"] for a in per_area(demo["events"]))
    previous = sum(rows[a]["events"]["previous"] for a in per_area(demo["events"]))
    assert previous > 0 and current > 0 and current != previous, (current, previous)
    sheffield = rows["SHEF"]["unmet_need_findings"]
    assert sheffield["current"] > sheffield["previous"], sheffield
    assert body["totals"]["events"]["previous"] > 0


def test_the_funding_page_has_grants_beside_contracts_and_no_hospital(demo):
    """Value Added Grants of £500 to £10,000 (001:739) beside a larger contract; Pattigift, a
    registered hospital (001:234), is not among the voluntary providers."""
    required = {}
    for area in ("NHAM", "BEH", "SOM", "BSOL"):
        for item in report(demo, "/v1/reports/funding", area=area)["items"]:
            required[item["provider_id"]] = item
    assert "pattigift" not in required
    assert required["northampton-voluntary-forum"]["funding_gap_gbp"] == 2500.0
    assert required["somerset-vcse-alliance"]["contract_ending_soon"] is True


def test_a_second_run_posts_duplicates_and_counts_nothing_twice(demo):
    areas = per_area(demo["events"])
    days = (datetime.now(timezone.utc).date() - date(2000, 1, 1)).days  # everything the demo holds
    days = min(days, 3000)

    def counts() -> dict[str, int]:
        return {a: report(demo, "/v1/reports/summary", area=a, days=days)["events"]["current"] for a in areas}

    before = counts()
    assert all(before[a] >= n for a, n in areas.items()), (before, areas)
    proc, _ = run_demo()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    total = sum(areas.values())
    answered = next(line for line in proc.stdout.splitlines() if "intake answered" in line)
    assert f"'duplicate': {total}" in answered and "accepted" not in answered, answered
    time.sleep(3)
    assert counts() == before
