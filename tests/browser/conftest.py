"""Browser fixtures: one headless Chromium for the browser tests (the machine's own, never a
downloaded one), driven through Playwright's sync API against the real stack (`stack`, `keys` from
tests/conftest.py).

Playwright's sync API runs an event loop in the main thread for as long as it is open, and while
it runs ``asyncio.run`` (and pytest-asyncio's runner) refuse to start: the browser is therefore
package-scoped, closed as soon as the last test under tests/browser has run, never session-scoped.

    def test_page(browser, reporting_url, keys):
        page = new_page(browser, width=375)
        signed_in(page, reporting_url, keys["bsol-commissioner"], next_path="/dashboard/alerts")
        assert_no_axe_violations(page)      # tests/browser/axe.py
        screenshot(page, "alerts")          # artifacts/screenshots/alerts-375.png
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import url

#: Debian's chromium package (deploy/local/install.sh installs it); CSP_CHROMIUM overrides.
CHROMIUM = os.environ.get("CSP_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
#: The two widths every page is looked at: a laptop and a phone.
WIDTHS = (1280, 375)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the browser tests; each test opens its own context (cookies)."""
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: run deploy/local/install.sh (apt-get install chromium)"
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def reporting_url(stack) -> str:
    """The reporting web process (dashboard, portal, login) of the session's stack."""
    return url("reporting", "").rstrip("/")


def new_page(browser: Browser, width: int = 1280, height: int = 900, **context: Any) -> Page:
    """A page in a fresh context (no cookies) at ``width`` CSS pixels; closed with its context
    when the browser closes, or call ``page.context.close()``."""
    ctx = browser.new_context(viewport={"width": width, "height": height}, **context)
    ctx.set_default_timeout(15_000)
    return ctx.new_page()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A 1280 px page in a context of its own, closed after the test."""
    p = new_page(browser)
    yield p
    p.context.close()


def signed_in(
    page: Page, base_url: str, key: dict | str, next_path: str = "/dashboard", login_path: str = "/login"
) -> Page:
    """Sign ``page`` in through the web sign-in form with an API key (a dict from the ``keys``
    fixture or the key itself), as a person would, and land on ``next_path``."""
    api_key = key["api_key"] if isinstance(key, dict) else key
    page.goto(f"{base_url}{login_path}?next={quote(next_path, safe='')}")
    page.fill("input[name=api_key]", api_key)
    with page.expect_navigation():
        page.click("form button[type=submit]")
    landed = page.url.removeprefix(base_url)
    assert not landed.startswith(login_path), f"sign-in refused: {page.inner_text('main')[:300]}"
    return page
