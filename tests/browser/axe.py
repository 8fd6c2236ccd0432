"""axe-core, vendored into the test run from the npm registry (tests/interop/package.json), run
inside the page under test, and full-page screenshots for the CI artefacts.

axe is evaluated through Playwright (the DevTools protocol), never served to users, so the pages'
own Content-Security-Policy (no scripts at all) stays as it is."""

from __future__ import annotations

import re
from functools import cache

from playwright.sync_api import Page

from tests.stackenv import REPO

AXE = REPO / "tests" / "interop" / "node_modules" / "axe-core" / "axe.min.js"
#: WCAG 2.2 AA and everything below it.
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
SCREENSHOTS = REPO / "artifacts" / "screenshots"


@cache
def _axe_source() -> str:
    assert AXE.exists(), f"{AXE} is missing: run `npm ci` in tests/interop (deploy/local/install.sh does)"
    return AXE.read_text(encoding="utf-8")


def axe_violations(page: Page) -> list[dict]:
    """The WCAG 2.2 AA violations axe-core finds in the page as it is rendered now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source())
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        list(WCAG_TAGS),
    )
    return result["violations"]


def describe(violations: list[dict]) -> str:
    """Each violation's id, help and the targets of its nodes, one block per violation."""
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v.get('impact')}): {v['help']}  {v.get('helpUrl', '')}")
        for node in v["nodes"]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {node['target']}: {summary[:300]}")
    return "\n".join(lines)


def assert_no_axe_violations(page: Page) -> None:
    """Fail with every violation named when axe-core finds any at WCAG 2.2 AA."""
    violations = axe_violations(page)
    assert not violations, f"axe-core on {page.url}:\n{describe(violations)}"


def screenshot(page: Page, name: str) -> str:
    """Save a full-page screenshot as artifacts/screenshots/<name>-<width>.png; return its path."""
    width = (page.viewport_size or {"width": 0})["width"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    return str(path)
