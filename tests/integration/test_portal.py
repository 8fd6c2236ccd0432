"""The partner portal against the real stack: sign in with a partner key, report a finding through
the form (through intake, into Kafka, mapped, into reporting), the privacy guard's refusal beside
the field, uploads row by row (CSV and XLSX) that are safe to repeat, each organisation seeing only
its own, a commissioner refused by intake, and the sealed key forgotten when the session ends."""

from __future__ import annotations

import asyncio
import html
import io
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import asyncpg
import httpx
import pytest
from openpyxl import Workbook

from tests.conftest import TEST_ENV, create_key, url, wait_until
from tests.integration import kafka_probe

pytestmark = pytest.mark.timeout(300)

YESTERDAY = (date.today() - timedelta(days=1)).isoformat()


def client() -> httpx.Client:
    return httpx.Client(base_url=url("reporting", ""), follow_redirects=False, timeout=60)


def sign_in(key: dict | str, next_path: str = "/portal") -> httpx.Client:
    """A browser-like client signed in through the portal's sign-in page and the one /login form."""
    api_key = key["api_key"] if isinstance(key, dict) else key
    c = client()
    page = c.get(f"/portal/login?next={next_path}")
    assert page.status_code == 200 and 'action="/login"' in page.text
    token = field(page.text, "csrf_token")
    answer = c.post("/login", data={"csrf_token": token, "api_key": api_key, "next": next_path})
    assert answer.status_code == 303, answer.text[:500]
    assert answer.headers["location"].startswith("/portal")
    return c


def field(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no {name} in the page"
    return html.unescape(found.group(1))


def finding_form(c: httpx.Client, **over: str) -> tuple[str, dict[str, str]]:
    page = c.get("/portal/report")
    assert page.status_code == 200, page.text[:300]
    form = {
        "csrf_token": field(page.text, "csrf_token"),
        "event_id": field(page.text, "event_id"),
        "area": "BSOL",
        "date": YESTERDAY,
        "community": "somali",
        "theme": "unmet_need",
        "severity": "high",
        "people_affected": "12",
        "finding_source": "focus_group",
        "service": "Talking therapies",
        "summary": f"Women at the group describe no counselling in Somali ({uuid.uuid4().hex[:8]}).",
        "recommendation": f"Commission counselling in Somali in talking therapies ({uuid.uuid4().hex[:8]}).",
    }
    form.update(over)
    return page.text, form


def submissions_page(c: httpx.Client) -> str:
    page = c.get("/portal/submissions")
    assert page.status_code == 200, page.text[:300]
    return page.text


def upload(c: httpx.Client, kind: str, name: str, content: bytes) -> httpx.Response:
    token = field(c.get("/portal/upload").text, "csrf_token")
    return c.post("/portal/upload", data={"csrf_token": token, "kind": kind}, files={"file": (name, content)})


def row_statuses(page: str) -> dict[int, str]:
    return {int(n): s for n, s in re.findall(r'data-row="(\d+)" data-status="([^"]+)"', page)}


def sealed_keys(key_id: str) -> list[bytes | None]:
    async def read() -> list[bytes | None]:
        conn = await asyncpg.connect(TEST_ENV["CSP_PG_DSN"])
        try:
            rows = await conn.fetch(
                "SELECT sealed_key FROM reporting_sessions WHERE key_id = $1 ORDER BY created_at", key_id
            )
        finally:
            await conn.close()
        return [None if r["sealed_key"] is None else bytes(r["sealed_key"]) for r in rows]

    # In a thread of its own: a session's Playwright may hold this thread's event loop.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result()


def test_a_partner_reports_a_finding_through_the_form_and_finds_it_mapped(keys):
    # An organisation of its own: "My submissions" lists a partner's 20 most recent
    # recommendations, and other tests (and the demo) post many as the shared demo partners.
    own = create_key(
        f"somali-womens-group-{uuid.uuid4().hex[:6]}", "partner", areas="BSOL", name="Somali women's group"
    )
    c = sign_in(own)
    page, form = finding_form(c)
    assert "Report a finding" in page and "structured questionnaires and focus groups" in page  # seed hints
    answer = c.post("/portal/report", data=form)
    assert answer.status_code == 200, answer.text[:500]
    assert "Received, durable" in answer.text
    assert f'data-testid="event-id">{form["event_id"]}<' in answer.text
    # Durable in Kafka where intake said it put it.
    where = re.search(r'data-topic="([^"]+)" data-partition="(\d+)" data-offset="(\d+)"', answer.text)
    assert where, answer.text[:500]
    topic, partition, offset = where.group(1), int(where.group(2)), int(where.group(3))
    stored = kafka_probe.between(topic, partition, offset, offset)
    assert form["event_id"] in stored[offset].value.decode()

    # Mapped and in reporting: "My submissions" shows it with its stages and the rule that fired.
    def listed() -> str | None:
        text = submissions_page(c)
        return text if form["event_id"] in text else None

    text = wait_until(listed, timeout=90, what="the finding in My submissions")
    row = text[text.index(f'data-event-id="{form["event_id"]}"') :]
    row = row[: row.index("</tr>")]
    assert "Unmet need" in row and "Somali" in row and "Stage " in row and "Competency " in row
    assert "theme.unmet_need</code>: Identifying gaps" in row

    # Its recommendation is listed with the commissioners' answer (none yet), from the alerts API.
    def responses() -> str | None:
        text = submissions_page(c)
        section = text[text.index('id="responses"') :]
        return section if form["recommendation"] in section else None

    section = wait_until(responses, timeout=90, what="the recommendation under Responses")
    assert "Awaiting response" in section
    # Sending the same form again is the same event: received once.
    again = c.post("/portal/report", data=form)
    assert again.status_code == 200 and "Already received" in again.text


def test_the_privacy_guard_refuses_a_phone_number_beside_the_summary(keys):
    c = sign_in(keys["pattigift"])
    _, form = finding_form(c, summary="Ring the coordinator on 07700 900123 for the list of families.")
    answer = c.post("/portal/report", data=form)
    assert answer.status_code == 422
    error = re.search(r'<p class="field-error" id="summary-error">([^<]*)</p>', answer.text)
    assert error and "phone number" in error.group(1)
    textarea = re.search(r'<textarea id="summary"[^>]*>', answer.text).group(0)
    assert "summary-error" in textarea and 'aria-invalid="true"' in textarea
    assert "07700 900123" in answer.text  # the partner's words are kept in the form to correct
    assert "Received" not in answer.text
    assert form["event_id"] not in submissions_page(c)


def test_a_form_without_this_sessions_token_is_refused(keys):
    c = sign_in(keys["pattigift"])
    _, form = finding_form(c)
    other = sign_in(keys["pattigift"])
    _, other_form = finding_form(other)
    answer = c.post("/portal/report", data={**form, "csrf_token": other_form["csrf_token"]})
    assert answer.status_code == 403 and "form expired" in answer.text
    assert c.post("/portal/report", data={k: v for k, v in form.items() if k != "csrf_token"}).status_code == 403


def test_a_csv_with_one_bad_row_refuses_exactly_that_row_and_is_safe_to_upload_again(keys):
    c = sign_in(keys["pattigift"])
    tag = uuid.uuid4().hex[:8]
    lines = [
        "area,date,community,theme,severity,finding_source,summary,people_affected",
        f"BSOL,{YESTERDAY},irish,stigma,moderate,consultation,Stigma keeps men from the GP ({tag}),8",
        f"BSOL,{YESTERDAY},somali,pathway_confusion,high,outreach,Families do not know the crisis line ({tag}),",
        f"BSOL,{YESTERDAY},chinese,service_gap,low,survey,Call 07700 900456 for the names ({tag}),3",
        f"BLKC,{YESTERDAY},indian,joint_working,low,community_forum,Joint work with the temple ({tag}),20",
    ]
    content = ("\n".join(lines) + "\n").encode()
    first = upload(c, "findings", "findings.csv", content)
    assert first.status_code == 200, first.text[:800]
    assert row_statuses(first.text) == {2: "accepted", 3: "accepted", 4: "refused", 5: "accepted"}
    refused = re.search(r'data-row="4" data-status="refused">(.*?)</tr>', first.text, re.S).group(1)
    assert "summary" in refused and "phone number" in refused
    again = upload(c, "findings", "findings.csv", content)
    assert row_statuses(again.text) == {2: "duplicate", 3: "duplicate", 4: "refused", 5: "duplicate"}
    assert "0 accepted, 3 already received (duplicate), 1 refused" in again.text
    # Exactly three, counted once: the accepted rows reach reporting, the refused one never.
    ids = re.findall(
        r'data-row="[235]" data-status="duplicate">.*?<code class="id">([0-9a-f-]{36})</code>', again.text, re.S
    )
    assert len(ids) == 3
    wait_until(lambda: all(i in submissions_page(c) for i in ids), timeout=90, what="the uploaded rows")
    assert submissions_page(c).count(f"({tag})") == 3


def test_an_xlsx_monthly_return_is_accepted(keys):
    c = sign_in(keys["pattigift"])
    book = Workbook()
    sheet = book.active
    sheet.append(
        [
            "area",
            "provider_name",
            "provider_sector",
            "indicator",
            "period_start",
            "period_end",
            "value",
            "numerator",
            "denominator",
        ]
    )
    sheet.append(
        ["BSOL", "Pattigift", "Voluntary", "Four-week wait", date(2026, 9, 1), date(2026, 9, 30), 82.5, 33, 40]
    )
    sheet.append(["BSOL", "Pattigift", "voluntary", "carers_supported", date(2026, 9, 1), date(2026, 9, 30), "lots"])
    out = io.BytesIO()
    book.save(out)
    answer = upload(c, "performance", "return.xlsx", out.getvalue())
    assert answer.status_code == 200, answer.text[:800]
    assert row_statuses(answer.text) == {2: "accepted", 3: "refused"}
    assert re.search(r'data-row="3" data-status="refused">.*?<td>value</td><td>write a number', answer.text, re.S)
    assert row_statuses(upload(c, "performance", "return.xlsx", out.getvalue()).text) == {2: "duplicate", 3: "refused"}


def test_the_templates_download_and_a_file_that_cannot_be_read_says_why(keys):
    c = sign_in(keys["pattigift"])
    csv_template = c.get("/portal/templates/findings.csv")
    assert csv_template.status_code == 200 and csv_template.text.startswith("area,date,community")
    xlsx = c.get("/portal/templates/performance.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    bad = upload(c, "findings", "notes.csv", b"colour,shape\nred,round\n")
    assert bad.status_code == 422 and "unknown column" in bad.text and "No row was sent" in bad.text
    big = upload(c, "findings", "big.csv", b"area,date\n" + b"x" * (3 * 1024 * 1024))
    assert big.status_code == 413 and "larger than 2 MB" in big.text
    fake = upload(c, "findings", "return.xlsx", b"PK\x03\x04 not a workbook")
    assert fake.status_code == 422 and "not an Excel workbook" in fake.text


def test_another_organisations_submissions_are_never_visible(keys):
    mine = sign_in(keys["pattigift"])
    _, form = finding_form(mine)
    assert mine.post("/portal/report", data=form).status_code == 200
    wait_until(lambda: form["event_id"] in submissions_page(mine), timeout=90, what="the finding mapped")
    theirs = sign_in(keys["black-country-cdw"])
    page = submissions_page(theirs)
    assert form["event_id"] not in page and "pattigift" not in page


def test_a_commissioner_key_cannot_submit_through_the_portal(keys):
    c = sign_in(keys["bsol-commissioner"])
    _, form = finding_form(c)
    answer = c.post("/portal/report", data=form)
    assert answer.status_code == 403
    assert "commissioner key cannot post events" in answer.text and "Received" not in answer.text


def test_the_sealed_key_is_never_in_clear_and_is_forgotten_at_sign_out(keys):
    key = create_key("pattigift", "partner", areas="BSOL,BLKC,ARDN,STAF,WMER,EASI", name="Pattigift portal sign-out")
    c = sign_in(key)
    sealed = sealed_keys(key["key_id"])
    assert len(sealed) == 1 and sealed[0] and key["api_key"].encode() not in sealed[0]
    assert c.get("/portal/report").status_code == 200
    out = c.get("/portal/logout")
    assert out.status_code == 303 and out.headers["location"] == "/portal/login"
    assert sealed_keys(key["key_id"]) == [None]
    assert c.get("/portal/report").status_code == 303  # signed out: to the sign-in page


def test_revoking_the_key_ends_the_session_and_its_sealed_key(keys):
    from tests.conftest import keys_cli

    key = create_key("pattigift", "partner", areas="BSOL,BLKC,ARDN,STAF,WMER,EASI", name="Pattigift portal revoke")
    c = sign_in(key)
    assert sealed_keys(key["key_id"])[0]
    keys_cli("revoke", key["key_id"])
    assert sealed_keys(key["key_id"]) == [None]
    assert c.get("/portal/report").status_code == 303


def test_a_partner_signing_in_at_the_dashboards_door_lands_in_the_portal(keys):
    c = client()
    page = c.get("/login")
    answer = c.post(
        "/login",
        data={
            "csrf_token": field(page.text, "csrf_token"),
            "api_key": keys["pattigift"]["api_key"],
            "next": "/dashboard",
        },
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/portal"


def test_my_submissions_come_a_page_at_a_time(keys):
    key = create_key("portal-paging-group", "partner", areas="BSOL", name="Portal paging group")
    c = sign_in(key)
    lines = ["area,date,community,theme,severity,finding_source,summary"] + [
        f"BSOL,{YESTERDAY},irish,stigma,low,survey,Finding number {n} about stigma" for n in range(30)
    ]
    answer = upload(c, "findings", "thirty.csv", ("\n".join(lines) + "\n").encode())
    assert "30 accepted" in answer.text
    wait_until(lambda: "30 submissions" in submissions_page(c), timeout=90, what="thirty submissions")
    first = submissions_page(c)
    assert "page 1 of 2" in first and first.count("data-event-id=") == 25
    assert 'href="/portal/submissions?page=2&amp;rpage=1"' in first
    second = c.get("/portal/submissions?page=2").text
    assert "page 2 of 2" in second and second.count("data-event-id=") == 5
    assert not set(re.findall(r'data-event-id="([^"]+)"', first)) & set(re.findall(r'data-event-id="([^"]+)"', second))
