"""The reporting service against the real stack: intake -> Kafka -> mapping -> reporting rollups ->
JSON, CSV and HTML. Windows and their previous windows, replays, area scoping, sign-in, SPC.

Counts are taken before and after posting, and the module works in areas other tests leave
alone (Arden, West Mercia), so it holds whatever else the session has posted.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import re
import urllib.error
import urllib.request
import uuid
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest
from kafka import KafkaProducer

from contracts.topics import ALERTS, FINDINGS
from contracts.examples import FINDING, PERFORMANCE
from tests.conftest import TEST_ENV, bearer, create_key, http_json, keys_cli, url, wait_until

pytestmark = pytest.mark.integration

AREA, OTHER_AREA, REGION = "ARDN", "WMER", "west_midlands"
AGES = {2: 3, 20: 5, 60: 7}  # days ago -> findings posted that many days ago


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def fetch(path: str, *, headers=None, data: bytes | None = None, method: str = "GET"):
    """(status, headers, text) without following redirects."""
    req = urllib.request.Request(url("reporting", path), data=data, method=method, headers=headers or {})
    try:
        with _opener.open(req, timeout=15) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def report(key, name: str, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    status, _, body = http_json("GET", url("reporting", f"/v1/reports/{name}?{query}"), headers=bearer(key))
    assert status == 200, body
    return body


def _finding(days_ago: int, *, community="somali", theme="unmet_need", people=10, area=AREA) -> dict:
    body = copy.deepcopy(FINDING)
    body.update(
        event_id=str(uuid.uuid4()),
        source="black-country-cdw",
        area=area,
        region=REGION,
        occurred_at=(datetime.now(timezone.utc) - timedelta(days=days_ago)).isoformat(),
    )
    body["data"].update(community=community, theme=theme, people_affected=people, cdw_role=None)
    return body


def _post(kind: str, events: list[dict], key) -> dict:
    status, _, answer = http_json(
        "POST", url("intake", f"/v1/{kind}:batch"), {"events": events}, bearer(key), timeout=60
    )
    assert status == 200, answer
    assert not answer["counts"].get("rejected"), answer
    return answer["counts"]


def _month_start(d: date, back: int) -> date:
    months = d.year * 12 + d.month - 1 - back
    return date(months // 12, months % 12 + 1, 1)


def _provider(prefix: str) -> str:
    """A provider slug unique to this run, in letters only: a hex suffix such as "ad12ab" turns the
    provider's name ("Arden Peer Support Ad12Ab") into what the privacy guard rightly takes for a
    full postcode (AD1 2AB), about once in fifty draws. Registered as one Pattigift reports for
    (the organisation registry refuses a provider the partner does not report for)."""
    provider = f"{prefix}-" + "".join(chr(ord("a") + b % 26) for b in uuid.uuid4().bytes[:8])
    keys_cli("org", "add", "pattigift", "--provider-ids", provider)
    return provider


def _perf(provider: str, month: date, value_pct: float, denominator: int = 200, **data) -> dict:
    body = copy.deepcopy(PERFORMANCE)
    nxt = _month_start(month, -1)
    end = nxt - timedelta(days=1)
    numerator = round(value_pct * denominator / 100)
    body.update(
        event_id=str(uuid.uuid4()),
        source="pattigift",
        area=AREA,
        region=REGION,
        occurred_at=datetime(end.year, end.month, end.day, 12, tzinfo=timezone.utc).isoformat(),
    )
    body["data"].update(
        provider_id=provider,
        provider_name=provider.replace("-", " ").title(),
        provider_sector="voluntary",
        indicator="four_week_wait",
        period_start=month.isoformat(),
        period_end=end.isoformat(),
        value=100 * numerator / denominator,
        target=95.0,
        numerator=numerator,
        denominator=denominator,
        **data,
    )
    return body


def _csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


class _Balance(HTMLParser):
    """Valid-ish HTML: every non-void element closed in order."""

    VOID = {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
        "path",
        "rect",
        "circle",
        "line",
        "polyline",
        "polygon",
        "stop",
    }

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> but open: {self.stack[-3:]}")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
        else:
            self.stack.pop()


def assert_valid_html(text: str) -> None:
    assert text.startswith("<!DOCTYPE html>")
    p = _Balance()
    p.feed(text)
    p.close()
    assert not p.errors and not p.stack, (p.errors[:5], p.stack)
    for tag in ("<html lang=", "<title>", "<main", "<h1>", 'class="skip"'):
        assert tag in text


# ---------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ardn_commissioner(keys) -> dict:
    return create_key("arden-icb", "commissioner", areas=AREA, name="Arden ICB")


@pytest.fixture(scope="module")
def windows_baseline(keys):
    """Report figures for every window before this module posts anything."""
    op = keys["operator"]
    return {d: report(op, "summary", area=AREA, days=d) for d in (7, 10, 15, 30, 45, 90)}


@pytest.fixture(scope="module")
def posted(keys, windows_baseline):
    """Findings 2, 20 and 60 days ago in Arden, mapped and rolled up."""
    events = [
        _finding(age, community="somali" if i % 2 else "irish", theme="unmet_need" if i % 3 else "stigma", people=i + 1)
        for age, n in AGES.items()
        for i in range(n)
    ]
    assert _post("findings", events, keys["black-country-cdw"]) == {"accepted": len(events)}
    total = sum(AGES.values())
    before = windows_baseline[90]["findings"]["current"]
    wait_until(
        lambda: report(keys["operator"], "summary", area=AREA, days=90)["findings"]["current"] - before == total,
        120,
        what=f"{total} findings in the Arden report",
    )
    return events


# ---------------------------------------------------------------------------------------------
# windows, replay, scoping
# ---------------------------------------------------------------------------------------------


def _delta(after, before, field="findings"):
    return (after[field]["current"] - before[field]["current"], after[field]["previous"] - before[field]["previous"])


def test_rolling_windows_and_their_previous_windows(keys, windows_baseline, posted):
    op = keys["operator"]
    expect = {  # window days -> (current, previous): 2 days ago: 3, 20 days ago: 5, 60 days ago: 7
        7: (3, 0),  # current: 2; previous: days 7..13 ago
        10: (3, 0),  # previous: days 10..19 ago (20 is just outside)
        15: (3, 5),  # previous: days 15..29 ago
        30: (8, 0),  # previous: days 30..59 ago (60 is just outside)
        45: (8, 7),  # previous: days 45..89 ago
        90: (15, 0),
    }
    for days, (cur, prev) in expect.items():
        after = report(op, "summary", area=AREA, days=days)
        assert _delta(after, windows_baseline[days]) == (cur, prev), days
        assert after["window"]["days"] == days and after["previous_window"]["days"] == days
    # A custom window: exactly the day 20 days ago; the previous window is the day before it.
    d20 = (datetime.now(timezone.utc) - timedelta(days=20)).date()
    custom = report(op, "overview", area=AREA, **{"from": d20.isoformat(), "to": d20.isoformat()})
    row = custom["areas"][0]
    assert custom["window"] == {"from": d20.isoformat(), "to": d20.isoformat(), "days": 1}
    assert row["findings"]["current"] >= 5

    # The region overview lists the area with the same figures as the area on its own (read
    # again while alerts from other tests in the session are still arriving between the reads).
    def same_figures():
        region = report(op, "overview", region=REGION, days=90)
        alone = report(op, "overview", area=AREA, days=90)["areas"][0]
        return region if next(a for a in region["areas"] if a["area"] == AREA) == alone else None

    region = wait_until(same_figures, 60, what="the region's row for the area equal to the area alone")
    assert AREA in [a["area"] for a in region["areas"]] and OTHER_AREA in [a["area"] for a in region["areas"]]
    assert region["totals"]["findings"]["current"] == sum(a["findings"]["current"] for a in region["areas"])


def test_unmet_needs_heatmap_and_drill_down(keys, posted):
    op = keys["operator"]
    unmet = report(op, "unmet-needs", area=AREA, days=30)
    mine = {(i["community"], i["theme"]): i for i in unmet["items"]}
    posted_30 = [e for e in posted if (datetime.now(timezone.utc) - datetime.fromisoformat(e["occurred_at"])).days < 30]
    for community, theme in {(e["data"]["community"], e["data"]["theme"]) for e in posted_30}:
        n = sum(1 for e in posted_30 if (e["data"]["community"], e["data"]["theme"]) == (community, theme))
        assert mine[(community, theme)]["findings"]["current"] >= n
        assert mine[(community, theme)]["trend"] in ("new", "rising", "steady", "falling")
    heat = report(op, "heatmap", area=AREA, days=90)
    assert len(heat["cells"]) == 88 and heat["gaps"]["cells"] == 88
    busiest = max(heat["cells"], key=lambda c: c["events"])
    assert busiest["events"] > 0
    # Drill-down from that cell: the findings behind it, as many as the cell says.
    drill = report(
        op, "findings", area=AREA, days=90, stage=busiest["stage"], competency=busiest["competency"], limit=1000
    )
    assert drill["total"] == busiest["events"] == len(drill["items"])
    assert {e["event_id"] for e in posted} <= {i["event_id"] for i in drill["items"]} or all(
        busiest["stage"] in i["stages"] for i in drill["items"]
    )
    item = drill["items"][0]
    assert set(item) >= {"event_id", "summary", "community", "theme"}
    # Filtered by community and theme.
    somali = report(op, "findings", area=AREA, days=90, community="somali", theme="unmet_need", limit=1000)
    assert somali["items"] and all(i["community"] == "somali" and i["theme"] == "unmet_need" for i in somali["items"])


def test_replaying_changes_nothing(keys, posted):
    op = keys["operator"]
    before = {d: report(op, "summary", area=AREA, days=d) for d in (7, 30, 90)}
    assert _post("findings", posted, keys["black-country-cdw"]) == {"duplicate": len(posted)}
    # A copy straight onto the log (a producer retry after a lost acknowledgement) is mapped
    # again but counted once; the marker behind it in the same partition shows it was seen.
    producer = KafkaProducer(bootstrap_servers=TEST_ENV["CSP_KAFKA_BOOTSTRAP"], acks="all")
    producer.send(FINDINGS.name, key=AREA.encode(), value=json.dumps(posted[0]).encode()).get(timeout=10)
    producer.close()
    marker = _finding(1, community="chinese", theme="stigma")
    assert _post("findings", [marker], keys["black-country-cdw"]) == {"accepted": 1}
    wait_until(
        lambda: report(op, "summary", area=AREA, days=7)["findings"]["current"] - before[7]["findings"]["current"] == 1,
        90,
        what="the marker finding",
    )
    for d in (30, 90):
        after = report(op, "summary", area=AREA, days=d)
        assert after["findings"]["current"] - before[d]["findings"]["current"] == 1
        assert after["people_affected"] - before[d]["people_affected"] == marker["data"]["people_affected"]


def test_a_commissioner_reads_only_its_areas(keys, ardn_commissioner, posted):
    mine = ardn_commissioner
    assert report(mine, "overview", area=AREA, days=30)["areas"][0]["area"] == AREA
    region = report(mine, "overview", region=REGION, days=30)
    assert [a["area"] for a in region["areas"]] == [AREA]  # only its granted area of the region
    for path in (
        "/v1/reports/overview?area=BSOL",
        "/v1/reports/overview.csv?area=BSOL",
        "/v1/reports/findings?area=BSOL",
        "/v1/reports/unmet-needs?area=BSOL&format=csv",
        "/v1/reports/alerts?area=BSOL",
        "/v1/reports/heatmap?region=south_west",
    ):
        status, _, body = fetch(path, headers=bearer(mine))
        assert status == 403, (path, status, body)
    # And the BSOL commissioner cannot read Arden.
    status, _, _ = fetch(f"/v1/reports/summary?area={AREA}", headers=bearer(keys["bsol-commissioner"]))
    assert status == 403
    status, _, _ = fetch(f"/dashboard?area={AREA}", headers=bearer(keys["bsol-commissioner"]))
    assert status == 403
    # Partners read no reports; no key at all is a 401.
    assert fetch("/v1/reports/overview", headers=bearer(keys["pattigift"]))[0] == 403
    assert fetch("/v1/reports/overview")[0] == 401
    # A sort outside the whitelist is refused, not passed to SQL.
    status, _, body = fetch("/v1/reports/alerts?sort=starts_at%3BDROP%20TABLE%20x", headers=bearer(mine))
    assert status == 422 and "sort" in body


def test_csv_matches_json(keys, posted):
    op = keys["operator"]
    for name, key_cols, field in (
        ("overview", ("area",), "areas"),
        ("unmet-needs", ("community", "theme"), "items"),
        ("heatmap", ("stage", "competency"), "cells"),
    ):
        body = report(op, name, area=AREA, days=90)
        status, headers, text = fetch(f"/v1/reports/{name}.csv?area={AREA}&days=90", headers=bearer(op))
        assert status == 200 and headers["content-type"].startswith("text/csv")
        assert text.endswith("\r\n")
        rows = _csv(text)
        status2, _, text2 = fetch(f"/v1/reports/{name}?area={AREA}&days=90&format=csv", headers=bearer(op))
        assert status2 == 200 and text2 == text
        items = body[field]
        assert len(rows) == len(items)
        for row, item in zip(rows, items):
            assert tuple(row[k] for k in key_cols) == tuple(str(item[k]) for k in key_cols)
            count = item.get("findings") if name != "heatmap" else item["events"]
            count = count["current"] if isinstance(count, dict) else count
            assert int(row["findings" if name != "heatmap" else "events"]) == count
    # Quoting: a summary with commas, quotes and a line break survives the round trip.
    odd = _finding(1, community="irish", theme="pathway_confusion")
    odd["data"]["summary"] = 'Members said "no one explains", then: referrals\nlost, twice; =not a formula'
    assert _post("findings", [odd], keys["black-country-cdw"]) == {"accepted": 1}
    wait_until(
        lambda: report(op, "findings", area=AREA, days=7, community="irish", theme="pathway_confusion")["total"] >= 1,
        90,
        what="the odd finding",
    )
    status, _, text = fetch(
        f"/v1/reports/findings.csv?area={AREA}&days=7&community=irish&theme=pathway_confusion", headers=bearer(op)
    )
    row = next(r for r in _csv(text) if r["event_id"] == odd["event_id"])
    assert row["summary"] == odd["data"]["summary"]


# ---------------------------------------------------------------------------------------------
# provider performance, funding, alerts
# ---------------------------------------------------------------------------------------------


def test_provider_performance_spc_after_monthly_events(keys, ardn_commissioner):
    today = datetime.now(timezone.utc).date()
    provider = _provider("arden-wellbeing")
    # Fourteen months around 80%, then a month far below: a special cause of concern.
    values = [80, 82, 79, 81, 80, 83, 78, 80, 81, 79, 82, 80, 81, 50]
    events = [_perf(provider, _month_start(today, 14 - i), v) for i, v in enumerate(values)]
    assert _post("performance-events", events, keys["pattigift"]) == {"accepted": len(events)}

    def arrived():
        body = report(ardn_commissioner, "performance", area=AREA, days=90, provider=provider)
        return body if body["items"] and len(body["items"][0]["series"]) == len(values) else None

    body = wait_until(arrived, 120, what="the provider's series")
    item = body["items"][0]
    assert item["indicator"] == "four_week_wait" and item["target"] == 95.0
    assert item["latest"]["value"] == pytest.approx(50.0) and item["meets_target"] is False
    spc = item["spc"]
    assert spc["points_used"] == len(values) and not spc["trial_limits"]
    assert spc["points"][-1]["special_cause"] and "outside_limits" in spc["points"][-1]["rules"]
    assert spc["points"][-1]["point_type"] == "special_cause_concern"
    assert spc["variation"] == "concern_low" and spc["assurance"] == "consistently_fail"
    assert item["benchmark"]["significance"] in ("worse", "similar", "better")
    comp = next(c for c in body["completeness"] if c["provider_id"] == provider)
    assert comp["reported_periods"] == comp["expected_periods"]
    # The HTML page draws the chart.
    status, _, page = fetch(f"/dashboard/performance?area={AREA}&days=90", headers=bearer(ardn_commissioner))
    assert status == 200 and 'data-testid="spc-chart"' in page and item["provider_name"] in page
    assert_valid_html(page)
    # Replaying the series changes nothing.
    assert _post("performance-events", events, keys["pattigift"]) == {"duplicate": len(events)}


def test_voluntary_provider_funding_and_contract_ending(keys, ardn_commissioner):
    today = datetime.now(timezone.utc).date()
    provider = _provider("arden-peer-support")
    body = _perf(provider, _month_start(today, 1), 90)
    body["data"].update(
        indicator="funding",
        value=50000.0,
        target=None,
        numerator=None,
        denominator=None,
        unit=None,
        funding_committed_gbp=50000.0,
        funding_required_gbp=80000.0,
        contract_end_date=(today + timedelta(days=45)).isoformat(),
        renewal_recorded=False,
    )
    status, _, answer = http_json("POST", url("intake", "/v1/performance-events"), body, bearer(keys["pattigift"]))
    assert status == 202, answer
    item = wait_until(
        lambda: next(
            (
                i
                for i in report(ardn_commissioner, "funding", area=AREA, days=90)["items"]
                if i["provider_id"] == provider
            ),
            None,
        ),
        90,
        what="the funding report",
    )
    assert item["funding_gap_gbp"] == 30000.0 and item["funded_percent"] == 62.5
    assert item["contract_ending_soon"] and item["days_to_contract_end"] == 45
    status, _, page = fetch(f"/dashboard/funding?area={AREA}", headers=bearer(ardn_commissioner))
    assert status == 200 and "£30,000" in page and "ends in 45 days" in page


def _alert(fingerprint: str, status: str, updated: datetime, area=AREA, region=REGION) -> dict:
    return {
        "fingerprint": fingerprint,
        "rule": "unmet_need",
        "area": area,
        "region": region,
        "subject": "somali",
        "severity": "red",
        "status": status,
        "summary": "Unmet need reported by the Somali community is rising",
        "stages": [1, 2],
        "competencies": [2, 5],
        "evidence": {"findings": 9},
        "event_ids": [str(uuid.uuid4())],
        "starts_at": (updated - timedelta(days=3)).isoformat(),
        "updated_at": updated.isoformat(),
        "ends_at": None,
    }


def test_open_alerts_from_the_alerts_topic(keys, ardn_commissioner):
    fp, other = uuid.uuid4().hex, uuid.uuid4().hex
    now = datetime.now(timezone.utc)
    producer = KafkaProducer(bootstrap_servers=TEST_ENV["CSP_KAFKA_BOOTSTRAP"], acks="all")

    def send(alert: dict) -> None:
        producer.send(ALERTS.name, key=alert["area"].encode(), value=json.dumps(alert).encode()).get(timeout=10)

    send(_alert(fp, "firing", now - timedelta(minutes=5)))
    send(_alert(fp, "acknowledged", now - timedelta(minutes=1)))
    send(_alert(fp, "firing", now - timedelta(minutes=3)))  # older state, arrives late: ignored
    send(_alert(other, "firing", now, area="BSOL"))  # another area
    producer.send(ALERTS.name, key=AREA.encode(), value=b"{not an alert").get(timeout=10)
    marker = uuid.uuid4().hex
    send(_alert(marker, "firing", now))
    producer.close()

    def listed():
        items = report(ardn_commissioner, "alerts", area=AREA)["items"]
        return items if any(i["fingerprint"] == marker for i in items) else None

    items = {i["fingerprint"]: i for i in wait_until(listed, 90, what="the alerts in the read model")}
    assert items[fp]["state"] == "acknowledged" and items[fp]["age"] == "3 days"
    assert other not in items
    assert other in [i["fingerprint"] for i in report(keys["bsol-commissioner"], "alerts", area="BSOL")["items"]]
    status, _, page = fetch(f"/dashboard/alerts?area={AREA}", headers=bearer(ardn_commissioner))
    assert status == 200 and fp in fetch(f"/v1/reports/alerts.csv?area={AREA}", headers=bearer(ardn_commissioner))[2]
    assert "acknowledged" in page and "Somali community" in page
    overview = report(ardn_commissioner, "overview", area=AREA)
    assert overview["areas"][0]["open_alerts"] >= 2


# ---------------------------------------------------------------------------------------------
# the HTML dashboard with a signed session
# ---------------------------------------------------------------------------------------------


def _cookie(headers, name: str) -> str | None:
    for value in headers.get_all("set-cookie") or []:
        if value.startswith(name + "="):
            return value
    return None


def _sign_in(key: dict) -> str:
    status, headers, page = fetch("/login?next=/dashboard/heatmap")
    assert status == 200 and 'name="csrf_token"' in page
    assert_valid_html(page)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    csrf_cookie = _cookie(headers, "csp_login_csrf").split(";")[0]
    form = f"csrf_token={token}&next=%2Fdashboard%2Fheatmap&api_key={urllib.request.quote(key['api_key'])}"
    # Without the CSRF cookie the form is refused.
    status, _, _ = fetch(
        "/login", data=form.encode(), method="POST", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert status == 400
    status, headers, _ = fetch(
        "/login",
        data=form.encode(),
        method="POST",
        headers={"content-type": "application/x-www-form-urlencoded", "cookie": csrf_cookie},
    )
    assert status == 303 and headers["location"] == "/dashboard/heatmap"
    cookie = _cookie(headers, "csp_session")
    assert cookie and "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Max-Age" in cookie
    return cookie.split(";")[0]


def test_dashboard_pages_for_a_signed_in_commissioner(keys, ardn_commissioner, posted):
    assert fetch("/dashboard")[0] == 303  # not signed in: to the login page
    bad = "csp_login_csrf=x" * 2
    status, _, _ = fetch(
        "/login",
        data="csrf_token=abc&api_key=csp_x_y".encode(),
        method="POST",
        headers={"content-type": "application/x-www-form-urlencoded", "cookie": bad},
    )
    assert status == 400
    session = _sign_in(ardn_commissioner)
    jar = {"cookie": session}
    overview = report(keys["operator"], "overview", area=AREA, days=30)["areas"][0]
    for path, expected in (
        ("/dashboard?days=30", [f"{overview['findings']['current']:,}", "Arden", "Data as of"]),
        ("/dashboard/heatmap?days=90", ['data-testid="heatmap"', "gap", "Assessing needs"]),
        ("/dashboard/unmet-needs?days=30", ["somali", "unmet need"]),
        ("/dashboard/performance?days=90", ["Provider performance"]),
        ("/dashboard/funding", ["Voluntary providers"]),
        ("/dashboard/alerts", ['data-testid="alerts"']),
        ("/dashboard/findings?days=90&community=somali", ["Somali".lower(), "Event id"]),
    ):
        status, headers, page = fetch(path, headers=jar)
        assert status == 200, (path, status, page[:500])
        assert headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in headers["content-security-policy"]
        assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
        for text in expected:
            assert text in page, (path, text)
        assert_valid_html(page)
    # The session reads JSON too, and only its own areas.
    status, _, body = fetch(f"/v1/reports/overview?area={AREA}", headers=jar)
    assert status == 200 and json.loads(body)["areas"][0]["area"] == AREA
    assert fetch("/dashboard?area=BSOL", headers=jar)[0] == 403
    assert fetch("/dashboard/findings?area=SOM", headers=jar)[0] == 403
    assert fetch("/v1/reports/overview.csv?area=BSOL", headers=jar)[0] == 403
    # A tampered cookie is no session.
    name, _, value = session.partition("=")
    assert fetch("/dashboard", headers={"cookie": f"{name}={value[:-2]}xx"})[0] == 303
    # Signing out clears the cookie.
    status, headers, _ = fetch("/logout", headers=jar)
    assert (
        status == 303
        and 'csp_session=""' in (_cookie(headers, "csp_session") or "")
        or "Max-Age=0" in (_cookie(headers, "csp_session") or "")
    )
    assert fetch("/dashboard/assets/dashboard.css")[0] == 200
