"""Dashboard sessions end server-side, the login form refuses a made-up CSRF pair, CSV exports
neutralise formulas hidden behind white space, and every service's /docs loads nothing from
outside (issue #18, items 5 and 7), against the running stack.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import re
import secrets
import shutil
import subprocess
import tempfile
from urllib.parse import urlencode

import asyncpg
import pytest

from tests.conftest import TEST_ENV, bearer, create_key, http_json, url, wait_until
from tests.hostile.conftest import AREA, problem_of, raw, reported, set_cookie, sign_in, finding
from tests.hostile.test_authorisation import revoke

pytestmark = pytest.mark.integration

SERVICES = ("intake", "alerts-api", "reporting")


def reads(cookie: str) -> tuple[int, int]:
    """(status of a dashboard page, status of a JSON report) with only this cookie."""
    page = raw("reporting", "GET", "/dashboard/findings", headers={"cookie": cookie})[0]
    report = raw("reporting", "GET", f"/v1/reports/summary?area={AREA}", headers={"cookie": cookie})[0]
    return page, report


def assert_refused(cookie: str) -> None:
    status, headers, _ = raw("reporting", "GET", "/dashboard/findings", headers={"cookie": cookie})
    assert status == 303 and headers["location"].startswith("/login"), (status, headers)
    assert (
        problem_of(*raw("reporting", "GET", f"/v1/reports/summary?area={AREA}", headers={"cookie": cookie}))["status"]
        == 401
    )


def session_row(cookie: str) -> dict | None:
    """The server's row for the session a cookie names (looked up by the id's SHA-256)."""
    session_id = cookie.partition("=")[2].split(".")[1]

    async def fetch() -> dict | None:
        conn = await asyncpg.connect(TEST_ENV["CSP_PG_DSN"])
        try:
            row = await conn.fetchrow(
                "SELECT * FROM reporting_sessions WHERE session_sha256 = $1",
                hashlib.sha256(session_id.encode()).digest(),
            )
            return dict(row) if row else None
        finally:
            await conn.close()

    return asyncio.run(fetch())


# --- (a) sign-out ends the session, not just the browser's cookie -----------------------------


def test_a_cookie_copied_before_logout_reads_nothing_after_it(actors):
    cookie = sign_in(actors["kent"])
    copy = cookie
    assert reads(copy) == (200, 200)
    # The browser signs out: the answer clears its cookie.
    status, headers, _ = raw("reporting", "GET", "/logout", headers={"cookie": cookie})
    assert status == 303 and headers["location"] == "/login"
    assert set_cookie(headers, "csp_session") in ('csp_session=""', "csp_session=")
    # The copy taken before is refused on a page and on a report.
    assert_refused(copy)
    # Because the server ended the session's row.
    row = session_row(cookie)
    assert row["key_id"] == actors["kent"]["key_id"] and row["expires_at"] > row["created_at"]
    assert row["ended_at"] is not None and row["end_reason"] == "signed_out"
    # Signing out again with the copy changes nothing and is no error.
    assert raw("reporting", "GET", "/logout", headers={"cookie": copy})[0] == 303
    # Another session of the same key is untouched by this one's sign-out.
    other = sign_in(actors["kent"])
    assert reads(other) == (200, 200) and other != cookie


def test_the_database_holds_no_usable_session_id(actors):
    cookie = sign_in(actors["kent"])
    session_id = cookie.partition("=")[2].split(".")[1]

    async def columns() -> list[bytes]:
        conn = await asyncpg.connect(TEST_ENV["CSP_PG_DSN"])
        try:
            return [
                str(v).encode() if not isinstance(v, bytes) else v
                for r in await conn.fetch("SELECT * FROM reporting_sessions")
                for v in r.values()
            ]
        finally:
            await conn.close()

    assert not any(session_id.encode() in v for v in asyncio.run(columns()))


# --- (b) revoking the key ends its sessions ---------------------------------------------------


def test_revoking_the_key_ends_its_sessions(stack):
    reader = create_key("kent-medway-icb", "commissioner", areas=AREA, name="Kent and Medway ICB")
    first, second = sign_in(reader), sign_in(reader)
    assert reads(first) == (200, 200) and reads(second) == (200, 200)
    revoke(reader)
    assert_refused(first)
    assert_refused(second)
    # Not only refused: the revocation ended them server-side, and says so.
    for cookie in (first, second):
        row = session_row(cookie)
        assert row["ended_at"] is not None and row["end_reason"] == "key_revoked"


# --- (c) the login CSRF token is the server's -------------------------------------------------


def _post_login(csrf_cookie: str | None, form_token: str, key: dict) -> tuple[int, dict[str, str], bytes]:
    form = urlencode({"csrf_token": form_token, "next": "/dashboard", "api_key": key["api_key"]}).encode()
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if csrf_cookie is not None:
        headers["cookie"] = f"csp_login_csrf={csrf_cookie}"
    return raw("reporting", "POST", "/login", form, headers)


def test_a_made_up_equal_csrf_cookie_and_form_pair_is_refused(actors):
    key = actors["kent"]
    made_up = secrets.token_urlsafe(32)
    status, headers, page = _post_login(made_up, made_up, key)
    assert status == 400 and b"expired" in page and set_cookie(headers, "csp_session") is None
    # A genuine token with its expiry pushed out by hand is no token either.
    status, headers, page = raw("reporting", "GET", "/login")
    genuine = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
    assert set_cookie(headers, "csp_login_csrf") == f"csp_login_csrf={genuine}"
    nonce, expiry, mac = genuine.split(".")
    stretched = f"{nonce}.{int(expiry) + 86400 * 365}.{mac}"
    assert _post_login(stretched, stretched, key)[0] == 400
    # Two genuine tokens that are not one pair are refused too.
    other = re.search(rb'name="csrf_token" value="([^"]+)"', raw("reporting", "GET", "/login")[2]).group(1).decode()
    assert _post_login(genuine, other, key)[0] == 400
    # The genuine pair signs in: the refusals above were the token's doing, not the key's.
    status, headers, _ = _post_login(genuine, genuine, key)
    assert status == 303 and set_cookie(headers, "csp_session")


# --- (d) CSV export neutralises formulas behind white space -----------------------------------


def test_csv_export_neutralises_formulas_after_leading_white_space(actors):
    partner, reader = actors["partner"], actors["kent"]
    summaries = {
        " =1+1 carers asked for evening drop-ins",
        "\n=cmd|' /C calc'!A0 pathway was unclear",
        "\t@SUM(A1) waiting times were long",
        "  -2+3 fewer sessions than last year",
    }
    posted = {}
    for summary in summaries:
        event = finding(summary=summary)
        status, _, answer = http_json("POST", url("intake", "/v1/findings"), event, bearer(partner))
        assert status == 202, answer
        posted[event["event_id"]] = summary
    for event_id in posted:
        wait_until(lambda event_id=event_id: reported(reader, event_id), 90, what=f"finding {event_id} in the reports")
    for headers in (bearer(reader), {"cookie": sign_in(reader)}):
        status, got, body = raw(
            "reporting", "GET", f"/v1/reports/findings.csv?area={AREA}&days=7&limit=1000", headers=headers
        )
        assert status == 200 and got["content-type"].startswith("text/csv")
        rows = {r["event_id"]: r for r in csv.DictReader(io.StringIO(body.decode()))}
        for event_id, summary in posted.items():
            assert rows[event_id]["summary"] == "'" + summary, rows[event_id]
        # Numbers stay numbers: the people-affected column is never prefixed.
        assert all(not r["people_affected"].startswith("'") for r in rows.values())


# --- (e) /docs on every service: local assets only, under a CSP -------------------------------


def _asset_urls(page: str) -> list[str]:
    return re.findall(r'<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"', page)


@pytest.mark.parametrize("service", SERVICES)
def test_docs_load_no_external_asset(stack, service):
    status, headers, body = raw(service, "GET", "/docs")
    page = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/html")
    urls = _asset_urls(page)
    assert any(u.endswith(".js") for u in urls) and any(u.endswith(".css") for u in urls), urls
    assert all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    assert "http" not in page, "the docs page names an outside address"
    for u in urls:
        status, got, content = raw(service, "GET", u)
        assert status == 200 and content, (service, u, status)
    csp = headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'" and directives["style-src"] == "'self'"
    assert directives["script-src"].split()[0] == "'self'"
    assert all(s == "'self'" or s.startswith("'sha256-") for s in directives["script-src"].split()), csp


def test_docs_render_in_chromium_under_their_csp(stack):
    """The page works with its CSP: Swagger UI draws the operations and the browser reports no
    CSP violation (an outside script, style or request would be one)."""
    chromium = shutil.which("chromium")
    assert chromium, "chromium is missing: run deploy/local/install.sh (apt-get install chromium)"
    for service in SERVICES:
        profile = tempfile.mkdtemp(prefix="csp-docs-chromium-")
        try:
            done = subprocess.run(
                [
                    chromium,
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    f"--user-data-dir={profile}",
                    "--enable-logging=stderr",
                    "--v=1",
                    "--virtual-time-budget=10000",
                    "--dump-dom",
                    url(service, "/docs"),
                ],
                capture_output=True,
                text=True,
                timeout=120,
            )
        finally:
            shutil.rmtree(profile, ignore_errors=True)
        console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
        assert not [c for c in console if "Content Security Policy" in c], console
        assert 'class="opblock-summary-path"' in done.stdout, (service, done.stdout[-2000:])
