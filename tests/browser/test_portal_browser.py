"""The partner portal as a browser sees it: a partner signs in, reports a finding through the form,
sees the privacy guard refuse a phone number beside the field, uploads a CSV with one bad row and
sees exactly that row refused, and finds the accepted ones in My submissions with their mapping.
Every portal page: axe-core at WCAG 2.2 AA with no violation, screenshots at 1280 and 375 px."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page

from tests.browser.axe import assert_no_axe_violations, screenshot
from tests.browser.conftest import WIDTHS, new_page, signed_in
from tests.conftest import wait_until

pytestmark = pytest.mark.integration

YESTERDAY = (date.today() - timedelta(days=1)).isoformat()


def partner(browser, reporting_url: str, key: dict, width: int = 1280, next_path: str = "/portal/report") -> Page:
    page = new_page(browser, width=width)
    signed_in(page, reporting_url, key, next_path=next_path, login_path="/portal/login")
    return page


def fill_finding(page: Page, summary: str) -> None:
    page.select_option("#area", "BSOL")
    page.fill("#date", YESTERDAY)
    page.select_option("#community", label="Somali")
    page.check("#theme-unmet_need")
    page.check("#severity-high")
    page.fill("#people_affected", "12")
    page.check("#finding_source-focus_group")
    page.fill("#service", "Talking therapies")
    page.fill("#summary", summary)
    page.fill("#recommendation", "Commission counselling in Somali.")


def send(page: Page, button: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=button).click()


def check_page(page: Page, name: str) -> None:
    assert_no_axe_violations(page)
    screenshot(page, name)


def test_a_partner_reports_uploads_and_finds_the_mapping(browser, reporting_url, keys, tmp_path):
    page = new_page(browser)
    page.goto(f"{reporting_url}/portal/login")
    check_page(page, "portal-login")
    signed_in(page, reporting_url, keys["pattigift"], next_path="/portal/report", login_path="/portal/login")
    assert page.url.endswith("/portal/report")
    check_page(page, "portal-report")

    # A finding through the form: received, durable, with the event id made for it.
    tag = uuid.uuid4().hex[:8]
    fill_finding(page, f"Women at the group describe no counselling in Somali ({tag}).")
    send(page, "Send the finding")
    received = page.get_by_test_id("received")
    assert "Received, durable" in received.inner_text()
    event_id = page.get_by_test_id("event-id").inner_text()
    assert re.fullmatch(r"[0-9a-f-]{36}", event_id)
    check_page(page, "portal-report-received")

    # The privacy guard refuses a phone number, beside the summary, and says why.
    fill_finding(page, "Ring the coordinator on 07700 900123 for the list of families.")
    send(page, "Send the finding")
    error = page.locator("#summary-error")
    assert "phone number" in error.inner_text()
    summary = page.locator("#summary")
    assert "summary-error" in (summary.get_attribute("aria-describedby") or "")
    assert summary.get_attribute("aria-invalid") == "true"
    assert page.get_by_test_id("received").count() == 0
    check_page(page, "portal-report-refused")

    # A CSV with one bad row: exactly that row refused, the others accepted.
    page.get_by_role("link", name="Upload a file").click()
    check_page(page, "portal-upload")
    csv = tmp_path / "findings.csv"
    csv.write_text(
        "\n".join(
            [
                "area,date,community,theme,severity,finding_source,summary,people_affected",
                f"BSOL,{YESTERDAY},irish,stigma,moderate,consultation,Stigma keeps men from the GP ({tag}),8",
                f"BSOL,{YESTERDAY},chinese,service_gap,low,survey,Write to 12 Acacia Avenue B15 2TT ({tag}),3",
                f"BSOL,{YESTERDAY},somali,pathway_confusion,high,outreach,"
                f"Families do not know the crisis line ({tag}),",
            ]
        )
        + "\n"
    )
    page.check("#kind-findings")
    page.set_input_files("#file", str(csv))
    send(page, "Upload and send")
    rows = page.locator("table[data-testid=upload-results] tbody tr")
    statuses = {r.get_attribute("data-row"): r.get_attribute("data-status") for r in rows.all()}
    assert statuses == {"2": "accepted", "3": "refused", "4": "accepted"}
    refused = page.locator('tr[data-row="3"]').inner_text()
    assert "summary" in refused and "postcode" in refused
    accepted = [page.locator(f'tr[data-row="{n}"] code').inner_text() for n in (2, 4)]
    check_page(page, "portal-upload-results")

    # My submissions: the form's finding and the accepted rows, each with where it was mapped and why.
    page.get_by_role("link", name="My submissions").click()

    def all_listed() -> bool:
        page.reload()
        return all(page.locator(f'tr[data-event-id="{i}"]').count() == 1 for i in [event_id, *accepted])

    wait_until(all_listed, timeout=90, interval=1, what="the accepted findings in My submissions")
    row = page.locator(f'tr[data-event-id="{event_id}"]').inner_text()
    assert "Unmet need" in row and "Stage " in row and "Competency " in row and "theme.unmet_need" in row
    assert page.locator(f'tr[data-event-id="{accepted[0]}"]').inner_text().count("Stage ") >= 1
    check_page(page, "portal-submissions-mapped")
    page.context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_every_portal_page_passes_axe_at_each_width(browser, reporting_url, keys, width, tmp_path):
    page = partner(browser, reporting_url, keys["pattigift"], width=width)
    for name, path in (
        ("report", "/portal/report"),
        ("upload", "/portal/upload"),
        ("submissions", "/portal/submissions"),
    ):
        page.goto(f"{reporting_url}{path}")
        assert_no_axe_violations(page)
        screenshot(page, f"portal-{name}")
        # Nothing runs off the side of a phone.
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width + 1, name
    # Results of an upload, row by row, at this width too.
    csv = tmp_path / "one.csv"
    csv.write_text(
        "area,date,community,theme,severity,finding_source,summary\n"
        f"BSOL,{YESTERDAY},irish,stigma,low,survey,Men avoid the GP ({uuid.uuid4().hex[:8]})\n"
        f"BSOL,{YESTERDAY},nowhere,stigma,low,survey,Unknown community\n"
    )
    page.goto(f"{reporting_url}/portal/upload")
    page.check("#kind-findings")
    page.set_input_files("#file", str(csv))
    send(page, "Upload and send")
    assert page.locator('tr[data-row="3"]').get_attribute("data-status") == "refused"
    assert_no_axe_violations(page)
    screenshot(page, "portal-upload-results")
    # A form refused beside its fields, at this width too.
    page.goto(f"{reporting_url}/portal/report")
    send(page, "Send the finding")
    assert page.locator(".field-error").count() >= 4
    assert_no_axe_violations(page)
    screenshot(page, "portal-report-errors")
    page.context.close()
    login = new_page(browser, width=width)
    login.goto(f"{reporting_url}/portal/login")
    assert_no_axe_violations(login)
    screenshot(login, "portal-login")
    login.context.close()
