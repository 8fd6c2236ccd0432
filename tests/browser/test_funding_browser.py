"""In Chromium against the real stack: a commissioner opens the funding page, follows its link to
the funding chain of the area, and reads the chart and where money waits. The page passes axe at
WCAG 2.2 AA."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.browser.axe import assert_no_axe_violations, screenshot
from tests.browser.conftest import new_page, signed_in
from tests.conftest import bearer, create_key, http_json, url, wait_until

pytestmark = pytest.mark.integration

AREA, REGION = "KENT", "south_east_coast"


def test_the_funding_page_shows_the_chain_for_an_area(browser, reporting_url, stack, keys):
    run = uuid.uuid4().hex[:6]
    trust, lead = f"kent-trust-{run}", f"kent-lead-{run}"
    trust_key = create_key(trust, "partner", areas=AREA, name="Kent and Medway NHS trust")
    create_key(lead, "partner", areas=AREA, name="Kent VCSE alliance lead")
    commissioner = create_key(f"kent-icb-{run}", "commissioner", areas=AREA, name="Kent and Medway ICB")
    today = datetime.now(timezone.utc).date()
    ref = f"KENT-{run}"
    paid = {
        "event_id": str(uuid.uuid4()),
        "source": trust,
        "area": AREA,
        "region": REGION,
        "occurred_at": (datetime.now(timezone.utc) - timedelta(days=18)).isoformat(),
        "type": "uk.nhs.commissioning.funding.v1",
        "data": {
            "kind": "payment",
            "reference": ref,
            "amount_gbp": 30_000,
            "payer": {"organisation_id": "kent-icb", "role": "commissioner", "name": "Kent ICB"},
            "payee": {"organisation_id": trust, "role": "trust", "name": "Kent and Medway NHS trust"},
            "period_start": (today - timedelta(days=30)).isoformat(),
            "period_end": today.isoformat(),
            "alliance_id": lead,
        },
    }
    assert http_json("POST", url("intake", "/v1/funding-events"), paid, bearer(trust_key))[0] == 202
    wait_until(
        lambda: any(
            a["alliance_id"] == lead
            for a in http_json(
                "GET", url("reporting", f"/v1/reports/funding-chain?area={AREA}&days=90"), headers=bearer(commissioner)
            )[2]["alliances"]
        ),
        60,
        what="the flow in the report",
    )

    page = new_page(browser)
    signed_in(page, reporting_url, commissioner, next_path=f"/dashboard/funding?area={AREA}&days=90")
    page.get_by_role("link", name="Follow the money").click()
    page.wait_for_url("**/dashboard/funding-chain**")
    chart = page.locator('[data-testid="funding-chain-chart"] svg').first
    assert chart.is_visible()
    assert "waiting at Kent and Medway NHS trust" in (chart.locator("desc").text_content() or "")
    row = page.get_by_role("row").filter(has_text=ref).first
    assert "18" in row.inner_text() and "£30,000" in row.inner_text()
    assert_no_axe_violations(page)
    screenshot(page, "funding-chain")
    page.context.close()
