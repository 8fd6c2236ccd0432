"""The dashboard as a browser sees it: every page in Chromium at 1280 and 375 px (and at 640 px,
a 1280 px screen at 200% zoom), axe-core at WCAG 2.2 AA, screenshots for the CI artefacts, and a
commissioner acting on an alert from the alerts page, checked against the alerts API.

The module works in Cambridgeshire and Peterborough (CAMP). The fault tests load CAMP too, each
scenario with unmet-need findings of its own two communities whose alert evidence it counts, so the
findings here are of a community no scenario uses (East European).
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from playwright.sync_api import Page

from contracts.examples import PERFORMANCE
from tests.browser.axe import assert_no_axe_violations, screenshot
from tests.browser.conftest import WIDTHS, new_page, signed_in
from tests.conftest import bearer, create_key, http_json, url, wait_until

pytestmark = pytest.mark.integration

AREA, REGION = "CAMP", "east_of_england"
PROVIDER_NAME = "Cambridgeshire Community Wellbeing and Peer Support Network for Families and Carers"
PAGES = {
    "overview": "/dashboard",
    "heatmap": "/dashboard/heatmap?days=90",
    "unmet": "/dashboard/unmet-needs?days=90",
    "performance": "/dashboard/performance?days=90",
    "funding": "/dashboard/funding",
    "alerts": "/dashboard/alerts",
    "findings": "/dashboard/findings?days=90",
    "funding-chain": "/dashboard/funding-chain?days=90",
    "recommendations": "/dashboard/recommendations",
}
#: The public pages ("you said, we did"): no sign-in, the same look and the same checks.
PUBLIC_PAGES = {
    "public-areas": "/public/areas",
    "public-you-said-we-did": f"/public/areas/{AREA}/you-said-we-did",
}


def _month_start(d: date, back: int) -> date:
    months = d.year * 12 + d.month - 1 - back
    return date(months // 12, months % 12 + 1, 1)


def _finding(source: str, community: str) -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "source": source,
        "area": AREA,
        "region": REGION,
        "occurred_at": (datetime.now(timezone.utc) - timedelta(days=2)).isoformat(),
        "type": "uk.nhs.commissioning.finding.v1",
        "data": {
            "community": community,
            "theme": "unmet_need",
            "severity": "high",
            "people_affected": 100,
            "finding_source": "community_forum",
            "summary": "Families describe no culturally appropriate support after discharge.",
        },
    }


def _performance(source: str, month: date, value: float) -> dict:
    body = copy.deepcopy(PERFORMANCE)
    end = _month_start(month, -1) - timedelta(days=1)
    numerator = round(value * 2)
    body.update(
        event_id=str(uuid.uuid4()),
        source=source,
        area=AREA,
        region=REGION,
        occurred_at=datetime(end.year, end.month, end.day, 12, tzinfo=timezone.utc).isoformat(),
    )
    body["data"].update(
        provider_id=source,
        provider_name=PROVIDER_NAME,
        provider_sector="voluntary",
        indicator="four_week_wait",
        period_start=month.isoformat(),
        period_end=end.isoformat(),
        value=numerator / 2,
        target=95.0,
        numerator=numerator,
        denominator=200,
    )
    return body


def _post(kind: str, events: list[dict], key: dict) -> None:
    status, _, answer = http_json(
        "POST", url("intake", f"/v1/{kind}:batch"), {"events": events}, bearer(key), timeout=60
    )
    assert status == 200 and answer["counts"] == {"accepted": len(events)}, answer


def _report(key: dict, name: str, **params) -> dict:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    status, _, body = http_json("GET", url("reporting", f"/v1/reports/{name}?{query}"), headers=bearer(key))
    assert status == 200, body
    return body


def _alert(key: dict, fp: str) -> dict:
    status, _, body = http_json("GET", url("alerts-api", f"/v1/alerts/{fp}"), headers=bearer(key))
    assert status == 200, body
    return body


@pytest.fixture(scope="module")
def camp(stack):
    """A partner and a commissioner in CAMP; an unmet-need alert and 14 months of a provider's
    four-week wait (so the SPC chart has history beyond any window), in the reporting tables."""
    suffix = uuid.uuid4().hex[:6]
    partner_org = "camp-peer-support-" + "".join(chr(ord("a") + int(c, 16)) for c in suffix)
    partner = create_key(partner_org, "partner", areas=AREA, name="Cambridgeshire peer support")
    commissioner = create_key(f"camp-icb-{suffix}", "commissioner", areas=AREA, name="Cambridgeshire ICB")
    _post("findings", [_finding(partner_org, "east_european"), _finding(partner_org, "east_european")], partner)
    today = datetime.now(timezone.utc).date()
    values = [81, 79, 83, 80, 78, 99, 82, 80, 81, 60, 79, 83, 80, 82]
    _post(
        "performance-events",
        [_performance(partner_org, _month_start(today, len(values) - i), v) for i, v in enumerate(values)],
        partner,
    )
    alerts = wait_until(
        lambda: _report(commissioner, "alerts", area=AREA)["items"],
        120,
        what="the unmet-need alert in the reporting tables",
    )
    wait_until(
        lambda: _report(commissioner, "performance", area=AREA, days=90)["items"], 120, what="the provider's series"
    )
    return {"partner": partner, "commissioner": commissioner, "fingerprint": alerts[0]["fingerprint"]}


def _fits(page: Page) -> None:
    """Nothing runs off the side: the page scrolls down only (tables scroll in their own box)."""
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{page.url} is {overflow}px wider than the {page.viewport_size} viewport"


@pytest.mark.parametrize("width", WIDTHS)
def test_every_dashboard_page_in_chromium(browser, reporting_url, camp, width):
    page = new_page(browser, width=width)
    try:
        page.goto(f"{reporting_url}/login")
        assert page.locator("h1").inner_text() == "Sign in to the dashboards"
        assert_no_axe_violations(page)
        screenshot(page, "dashboard-login")
        _fits(page)
        signed_in(page, reporting_url, camp["commissioner"])
        for name, path in PAGES.items():
            response = page.goto(f"{reporting_url}{path}{'&' if '?' in path else '?'}area={AREA}")
            assert response is not None and response.status == 200, (name, response and response.status)
            assert page.locator("h1").count() == 1 and page.locator("main").count() == 1
            assert_no_axe_violations(page)
            _fits(page)
            screenshot(page, f"dashboard-{name}")
    finally:
        page.context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_every_public_page_in_chromium(browser, reporting_url, camp, width):
    page = new_page(browser, width=width)
    try:
        for name, path in PUBLIC_PAGES.items():
            response = page.goto(f"{reporting_url}{path}")
            assert response is not None and response.status == 200, (name, response and response.status)
            assert page.locator("h1").count() == 1 and page.locator("main").count() == 1
            assert_no_axe_violations(page)
            _fits(page)
            screenshot(page, name)
    finally:
        page.context.close()


def test_at_200_percent_zoom_nothing_runs_off_the_side(browser, reporting_url, camp):
    """A 1280 px screen at 200% zoom lays pages out in 640 CSS pixels."""
    page = new_page(browser, width=640, height=450)
    try:
        signed_in(page, reporting_url, camp["commissioner"])
        for path in PAGES.values():
            page.goto(f"{reporting_url}{path}{'&' if '?' in path else '?'}area={AREA}")
            _fits(page)
        for path in PUBLIC_PAGES.values():
            page.goto(f"{reporting_url}{path}")
            _fits(page)
    finally:
        page.context.close()


def test_the_pages_show_what_the_api_reports(browser, reporting_url, camp):
    key = camp["commissioner"]
    page = new_page(browser)
    try:
        signed_in(page, reporting_url, key, next_path=f"/dashboard/heatmap?area={AREA}&days=90")
        shown = page.eval_on_selector_all(
            "[data-testid=heatmap] g.cell",
            "cells => cells.map(g => [+g.dataset.stage, +g.dataset.competency, +g.dataset.count])",
        )
        heat = _report(key, "heatmap", area=AREA, days=90)
        assert {(s, c): n for s, c, n in shown} == {(c["stage"], c["competency"]): c["events"] for c in heat["cells"]}
        page.goto(f"{reporting_url}/dashboard/unmet-needs?area={AREA}&days=90")
        assert page.get_by_role("rowheader", name="East European").count() >= 1
        # The SPC chart draws the provider's 14 months although the window holds three, with the
        # limits of a percentage inside 0-100 and the provider's whole name in the comparison.
        page.goto(f"{reporting_url}/dashboard/performance?area={AREA}&days=90")
        chart = page.locator("[data-testid=spc-chart] svg").first
        assert chart.locator("g.point").count() == 14
        upper = chart.locator("text", has_text="Upper limit").text_content() or ""
        assert float(upper.removeprefix("Upper limit ").rstrip("%")) <= 100.0
        comparison = page.locator("svg", has_text="provider against region").first
        assert PROVIDER_NAME in " ".join(comparison.locator("text[text-anchor=end]").all_text_contents())
        page.goto(f"{reporting_url}/dashboard/alerts?area={AREA}")
        row = page.locator(f"tr[data-fingerprint='{camp['fingerprint']}']")
        assert row.locator("th").inner_text() == "Unmet need: East European"
    finally:
        page.context.close()


def test_a_commissioner_acknowledges_and_silences_an_alert_from_the_alerts_page(browser, reporting_url, camp):
    key, fp = camp["commissioner"], camp["fingerprint"]
    page = new_page(browser)
    try:
        signed_in(page, reporting_url, key, next_path=f"/dashboard/alerts?area={AREA}")
        row = page.locator(f"tr[data-fingerprint='{fp}']")
        assert row.get_by_test_id("alert-state").inner_text() == "Firing"

        row.locator("details.actions summary").click()
        row.get_by_label("Note (what is being done)").fill("Raised with the talking therapies lead.")
        with page.expect_navigation():
            row.get_by_role("button", name="Acknowledge").click()
        assert page.url.endswith(f"/dashboard/alerts?area={AREA}")
        assert page.get_by_test_id("action-result").inner_text().startswith("Acknowledged: Unmet need: East European.")
        row = page.locator(f"tr[data-fingerprint='{fp}']")
        assert row.get_by_test_id("alert-state").inner_text().startswith("Acknowledged")
        assert_no_axe_violations(page)

        row.locator("details.actions summary").click()
        row.get_by_label("Silence its notifications for").select_option(label="1 week")
        row.get_by_label("Reason").fill("Known gap; a new service opens next month.")
        with page.expect_navigation():
            row.get_by_role("button", name="Silence").click()
        assert page.get_by_test_id("action-result").inner_text().startswith("Silenced for 1 week")
        row = page.locator(f"tr[data-fingerprint='{fp}']")
        assert row.get_by_test_id("alert-silenced").is_visible()
        screenshot(page, "dashboard-alerts-acted")
        # The message is shown once: a reload shows the page without it.
        page.reload()
        assert page.get_by_test_id("action-result").count() == 0

        # The alerts API holds the same state and audit, made by the commissioner's own key.
        body = _alert(key, fp)
        org = body["acknowledged_by"]
        assert body["status"] == "acknowledged" and org.startswith("camp-icb-")
        assert [(a["action"], a["by"], a["note"]) for a in body["audit"]] == [
            ("fired", None, None),
            ("acknowledged", org, "Raised with the talking therapies lead."),
        ]
        status, _, silences = http_json("GET", url("alerts-api", "/v1/silences"), headers=bearer(key))
        (silence,) = [s for s in silences["items"] if s["fingerprint"] == fp]
        assert silence["reason"] == "Known gap; a new service opens next month." and silence["created_by"] == org
        ends = datetime.fromisoformat(silence["ends_at"]) - datetime.now(timezone.utc)
        assert timedelta(days=6, hours=23) < ends <= timedelta(days=7)
        assert wait_until(lambda: _alert(key, fp)["silenced"], 30, what="the alert marked silenced")
    finally:
        page.context.close()


def test_refusals_from_the_api_are_shown_as_sentences(browser, reporting_url, camp):
    page = new_page(browser)
    try:
        signed_in(page, reporting_url, camp["commissioner"], next_path=f"/dashboard/alerts?area={AREA}")
        token = page.locator("input[name=csrf_token]").first.get_attribute("value")
        # A webhook the alerts API cannot reach: its 422 names the field.
        page.get_by_label("Send them by").select_option("webhook")
        page.get_by_label("Email address or webhook URL").fill("ftp://example.org/hook")
        with page.expect_navigation():
            page.get_by_role("button", name="Subscribe").click()
        message = page.get_by_test_id("action-result")
        assert message.get_attribute("role") == "alert"
        assert message.inner_text().startswith("Please check the form: target:")
        # Another area's silence: the API's 403, in words.
        answer = page.request.post(
            f"{reporting_url}/dashboard/alerts/{camp['fingerprint']}/silence",
            form={"csrf_token": token, "alert_area": "SOM", "hours": "24", "reason": "not mine", "area": AREA},
            max_redirects=0,
        )
        assert answer.status == 303
        page.goto(f"{reporting_url}/dashboard/alerts?area={AREA}")
        assert page.get_by_test_id("action-result").inner_text() == "Not allowed: this key is not granted area 'SOM'."
        # Without this session's form token nothing is sent.
        answer = page.request.post(
            f"{reporting_url}/dashboard/alerts/{camp['fingerprint']}/resolve",
            form={"csrf_token": "forged", "note": "x"},
            max_redirects=0,
        )
        assert answer.status == 403
        assert _alert(camp["commissioner"], camp["fingerprint"])["status"] != "resolved"
        # An email subscription is made, as the commissioner's organisation.
        page.get_by_label("Email address or webhook URL").fill("alerts@camp-icb.example.org")
        with page.expect_navigation():
            page.get_by_role("button", name="Subscribe").click()
        assert (
            page.get_by_test_id("action-result")
            .inner_text()
            .startswith("Subscribed: amber and worse alerts in Cambridgeshire and Peterborough")
        )
        status, _, subs = http_json("GET", url("alerts-api", "/v1/subscriptions"), headers=bearer(camp["commissioner"]))
        assert status == 200 and any(
            s["target"] == "alerts@camp-icb.example.org" and s["areas"] == [AREA] for s in subs["items"]
        ), json.dumps(subs)[:500]
    finally:
        page.context.close()
