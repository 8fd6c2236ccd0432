"""In Chromium against the real stack: a commissioner records a response to a community
recommendation in the dashboard, and the partner that made it sees the answer in its portal; the
public "you said, we did" page shows it too. The pages pass axe at WCAG 2.2 AA."""

from __future__ import annotations

import json
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.browser.axe import assert_no_axe_violations, screenshot
from tests.browser.conftest import new_page, signed_in
from tests.conftest import bearer, create_key, http_json, url, wait_until

pytestmark = pytest.mark.integration

AREA, REGION = "GMAN", "north_west"


def test_a_commissioner_answers_in_the_dashboard_and_the_partner_sees_it(browser, reporting_url, stack):
    partner = create_key("gman-voice-forum", "partner", areas=AREA, name="Greater Manchester voice forum")
    commissioner = create_key("gman-icb-voice", "commissioner", areas=AREA, name="Greater Manchester ICB")
    text = f"Open the crisis café on Sundays ({uuid.uuid4().hex[:6]})."
    event = {
        "event_id": str(uuid.uuid4()),
        "source": "gman-voice-forum",
        "area": AREA,
        "region": REGION,
        "occurred_at": (datetime.now(timezone.utc) - timedelta(days=2)).isoformat(),
        "type": "uk.nhs.commissioning.finding.v1",
        "data": {
            "community": "african",
            "theme": "service_gap",
            "severity": "moderate",
            "finding_source": "community_forum",
            "service": "Crisis café",
            "summary": "People in crisis at the weekend have nowhere to go but A&E.",
            "recommendation": text,
        },
    }
    assert http_json("POST", url("intake", "/v1/findings"), event, bearer(partner))[0] == 202
    rec_id = event["event_id"]
    wait_until(
        lambda: (
            http_json(
                "GET", url("alerts-api", f"/v1/areas/{AREA}/recommendations/{rec_id}"), headers=bearer(commissioner)
            )[0]
            == 200
        ),
        60,
        what="the recommendation",
    )

    page = new_page(browser)
    signed_in(page, reporting_url, commissioner, next_path=f"/dashboard/recommendations?area={AREA}")
    card = page.locator(f'section[data-id="{rec_id}"]')
    assert "awaiting response" in card.get_by_test_id("recommendation-status").inner_text()
    assert_no_axe_violations(page)
    screenshot(page, "recommendations")
    due = (datetime.now(timezone.utc) + timedelta(days=45)).date().isoformat()
    card.get_by_label("Accepted", exact=True).check()
    card.get_by_label("Action (when accepted)").fill("Fund Sunday opening of the crisis café from April.")
    card.get_by_label("Owner: a role or a team").fill("Urgent care commissioning team")
    card.get_by_label("Due date").fill(due)
    with page.expect_navigation():
        card.get_by_role("button", name="Record the answer").click()
    assert "Answer recorded" in page.get_by_test_id("action-result").inner_text()
    card = page.locator(f'section[data-id="{rec_id}"]')
    assert "accepted" in card.get_by_test_id("recommendation-status").inner_text()
    # The same form posted again (a double click, a reload) records nothing more.
    status, _, shown = http_json(
        "GET", url("alerts-api", f"/v1/areas/{AREA}/recommendations/{rec_id}"), headers=bearer(commissioner)
    )
    assert status == 200 and len(shown["answers"]) == 1 and shown["answers"][0]["by"] == "gman-icb-voice"
    page.context.close()

    mine = new_page(browser)
    signed_in(mine, reporting_url, partner, next_path="/portal/submissions", login_path="/portal/login")
    table = mine.get_by_test_id("recommendations")
    row = table.locator("tr", has_text=text)
    assert "Accepted" in row.inner_text() and "Fund Sunday opening of the crisis café" in row.inner_text()
    mine.context.close()

    with urllib.request.urlopen(url("reporting", f"/public/areas/{AREA}/you-said-we-did"), timeout=15) as r:
        public = r.read().decode()
    assert text in public and "Fund Sunday opening of the crisis café from April." in public
    assert "gman-voice-forum" not in public and "Urgent care commissioning team" not in public
    assert json.dumps(due)[1:-1] in public
    shown = new_page(browser)
    shown.goto(f"{reporting_url}/public/areas/{AREA}/you-said-we-did")
    assert_no_axe_violations(shown)
    screenshot(shown, "you-said-we-did")
    shown.context.close()


def test_an_answer_the_api_refuses_comes_back_as_a_message_naming_the_field(browser, reporting_url, stack):
    commissioner = create_key("gman-icb-voice-2", "commissioner", areas=AREA, name="Greater Manchester ICB")
    partner = create_key("gman-voice-forum-2", "partner", areas=AREA, name="Greater Manchester voice forum")
    event = {
        "event_id": str(uuid.uuid4()),
        "source": "gman-voice-forum-2",
        "area": AREA,
        "region": REGION,
        "occurred_at": (datetime.now(timezone.utc) - timedelta(days=1)).isoformat(),
        "type": "uk.nhs.commissioning.finding.v1",
        "data": {
            "community": "african",
            "theme": "service_gap",
            "severity": "low",
            "finding_source": "survey",
            "summary": "Few know the crisis line number.",
            "recommendation": "Print the crisis line on every GP letter.",
        },
    }
    assert http_json("POST", url("intake", "/v1/findings"), event, bearer(partner))[0] == 202
    rec_id = event["event_id"]
    wait_until(
        lambda: (
            http_json(
                "GET", url("alerts-api", f"/v1/areas/{AREA}/recommendations/{rec_id}"), headers=bearer(commissioner)
            )[0]
            == 200
        ),
        60,
        what="the recommendation",
    )
    page = new_page(browser)
    signed_in(page, reporting_url, commissioner, next_path=f"/dashboard/recommendations?area={AREA}")
    card = page.locator(f'section[data-id="{rec_id}"]')
    card.get_by_label("Not accepted", exact=True).check()
    with page.expect_navigation():
        card.get_by_role("button", name="Record the answer").click()
    message = page.get_by_test_id("action-result").inner_text()
    assert "reason" in message
    page.goto(f"{reporting_url}/dashboard/recommendations?area=BSOL")
    assert "not granted" in page.inner_text("main")
    page.context.close()
