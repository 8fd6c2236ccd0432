"""The dashboard's pages, rendered from the Jinja2 templates with views the pure domain built: every
value a partner or a visitor can choose is shown escaped, the charts are inserted as the SVG they
are, and the templates the pages need are the ones the package ships."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from contracts import labels
from services.reporting import pages

from . import dashboard_views as v

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = ROOT / "services" / "reporting" / "templates"
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;quoted&#39;"


def frame(active: str = "overview", params=v.PARAMS) -> pages.Frame:
    return pages.Frame("Title <b>", active, "/dashboard/x", "org <i> (commissioner)", ["BSOL", "ARDN"], params)


PAGES = {
    "overview": lambda: pages.overview_page(v.overview(), v.completeness(), frame("overview")),
    "heatmap": lambda: pages.heatmap_page(v.heatmap(), frame("heatmap")),
    "unmet": lambda: pages.unmet_page(v.unmet(), frame("unmet")),
    "performance": lambda: pages.performance_page(v.performance(), frame("performance")),
    "funding": lambda: pages.funding_page(v.funding(), frame("funding")),
    "alerts": lambda: pages.alerts_page(v.alerts(), frame("alerts")),
    "findings": lambda: pages.findings_page(v.findings(), frame("findings")),
}


class _Tags(HTMLParser):
    """Element names, and every end tag matched to its start tag (void elements aside)."""

    VOID = {"meta", "link", "input", "br", "img", "rect", "line", "circle", "polygon", "polyline", "path"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.seen: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.seen.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.seen.append(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def _balanced(page: str) -> list[str]:
    p = _Tags()
    p.feed(page)
    p.close()
    assert not p.errors and not p.stack, (p.errors[:5], p.stack)
    return p.seen


@pytest.mark.parametrize("name", PAGES)
def test_every_page_shows_hostile_text_escaped_in_a_whole_document(name):
    page = PAGES[name]()
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "<b>" not in page and "<i>" not in page
    assert "None" not in page  # a missing value prints as nothing or "–"
    seen = _balanced(page)
    for tag in ("html", "title", "nav", "main", "h1", "form", "footer"):
        assert tag in seen, tag
    # The visitor's own query comes back escaped, in the filter form and in every link.
    assert f'name="from" value="{ESCAPED}"' in page
    assert "from=%3Cscript%3Ealert%28%22x%22%29%3C%2Fscript%3E+%26+%27quoted%27" in page
    assert "<title>Title &lt;b&gt; – Commissioning signals</title>" in page
    assert "Signed in as org &lt;i&gt; (commissioner)" in page
    assert re.search(r'<a href="[^"]*"(?: aria-current="page")?>', page)
    assert len(re.findall(r'aria-current="page"', page)) == 1


@pytest.mark.parametrize(
    "name, where",
    [
        ("unmet", '<th scope="row">' + ESCAPED + "</th>"),  # a community
        ("unmet", "<td>" + ESCAPED + "</td>"),  # a theme
        ("alerts", "<p>" + ESCAPED + "</p>"),  # an alert's summary
        ("alerts", '<th scope="row">Unmet need: ' + ESCAPED + "</th>"),  # its subject, in its title
        ("findings", "<td>" + ESCAPED + "</td>"),  # a finding's summary
        ("findings", "; community " + ESCAPED + "; theme Unmet need (showing 2)."),  # the filters in words
        ("funding", ESCAPED + ' <span class="muted">(BSOL)</span>'),  # a provider's name
        ("overview", ESCAPED + ' <span class="muted">(BSOL)</span>'),  # in the completeness table
        ("performance", '<h3 id="perf-1">' + ESCAPED + ": Four-week wait ("),  # a provider's name
        ("performance", "Four-week wait (" + ESCAPED + ")</h3>"),  # a community
    ],
)
def test_partner_text_is_shown_escaped_where_it_belongs(name, where):
    assert where in PAGES[name]()


def test_the_charts_are_inserted_as_svg_that_escapes_its_own_text():
    page = PAGES["performance"]()
    assert page.count('<div data-testid="spc-chart"><svg ') == 2  # the 14-month and 3-month series
    assert page.count("<svg ") == 3  # and one comparison with the region
    assert "<p>One period so far: the chart needs at least two.</p>" in page
    assert '<title id="spc-1-title">&lt;script&gt;' not in page  # the one-period item has no chart
    assert "Trial limits: 3 points (limits settle at 12 or more)." in page
    heat = PAGES["heatmap"]()
    assert heat.count('<div class="card" data-testid="heatmap"><svg ') == 1
    # Each cell with evidence links to the findings behind it, in the chart and in the table.
    href = "/dashboard/findings?area=BSOL&amp;days=30&amp;from=%3Cscript"
    assert heat.count(f'<a href="{href}') == 2 * 5 + 1  # (1,2) (1,5) (2,2) (2,5) (8,11), and the nav
    assert "stage=8&amp;competency=11" in heat


def test_figures_links_and_words():
    overview = PAGES["overview"]()
    assert '<span class="n">1,235</span><span class="l">findings · +231 (+23.0%) on previous</span>' in overview
    assert '<a href="/dashboard/alerts?area=BSOL&amp;days=30&amp;from=' in overview
    assert "Areas: Birmingham and Solihull, Arden." in overview
    unmet = PAGES["unmet"]()
    assert (
        '<td>Unmet need <span class="tag">unmet need</span></td>' in unmet and '<span class="red">new</span>' in unmet
    )
    funding = PAGES["funding"]()
    assert '<span class="n">£60,000</span><span class="l">funding gap across 2 providers</span>' in funding
    assert '<span class="tag red">ends in 30 days</span>' in funding and '<span class="tag red">ended</span>' in funding
    assert '<span class="tag red">1 day</span>' in funding and '<span class="tag red">45 days</span>' in funding
    assert "paid on time" in funding and "not recorded" in funding
    alerts = PAGES["alerts"]()
    assert "<p>Open alerts: 1 acknowledged, 1 firing.</p>" in alerts
    assert '<a href="/dashboard/findings?area=BSOL&amp;days=90">2 events</a>' in alerts
    # A readable title leads (the rule in words, the subject in words); the summary and the
    # evidence are one click away, with no script.
    assert "<details><summary>Summary and evidence</summary>" in alerts
    assert labels.subject("provider:bsmhft/community:pakistani") == "provider bsmhft, Pakistani"
    assert pages.plural(1, "event") == "1 event" and pages.plural(3, "event") == "3 events"
    assert 'href="/v1/reports/alerts.csv?area=BSOL" download' in alerts
    findings = PAGES["findings"]()
    assert "<p>250 events match: stage Reviewing services and gap analysis;" in findings
    assert "(showing 2).</p>" in findings
    assert "<td>p&lt;1&gt;: 81.5</td>" in findings and "<td>Four-week wait</td>" in findings


def test_empty_views_say_so():
    empty = v.header() | {"items": [], "counts": {}}
    page = pages.alerts_page(empty, frame("alerts", {}))
    assert "<p>Open alerts: none.</p>" in page and '<td colspan="6">No open alerts.</td>' in page
    assert "Data as of" in page
    page = pages.funding_page(
        v.header(None)
        | {"data_as_of": None, "areas": []}
        | {"items": [], "totals": {"gap_gbp": 0, "with_gap": 0, "contracts_ending_soon": 0}},
        frame("funding", {}),
    )
    assert 'data-testid="data-as-of">no data yet<' in page
    assert '<td colspan="8">No funding reports from voluntary providers.</td>' in page
    assert '<option value="30" selected>Last 30 days</option>' in page  # the default window


def test_the_sign_in_and_error_pages_escape_what_they_echo():
    login = pages.login_page('tok"<en>', "/dashboard?a=<b>&c='d'", "Bad <key>")
    assert '<input type="hidden" name="csrf_token" value="tok&#34;&lt;en&gt;">' in login
    assert 'name="next" value="/dashboard?a=&lt;b&gt;&amp;c=&#39;d&#39;"' in login
    assert '<div class="error" role="alert"><p>Bad &lt;key&gt;</p></div>' in login
    assert "<title>Sign in – Commissioning signals</title>" in login and 'role="alert"' not in pages.login_page(
        "t", "/dashboard"
    )
    _balanced(login)
    error = pages.error_page("Invalid <query>", "area: unknown '<script>'")
    assert "<h1>Invalid &lt;query&gt;</h1>" in error and "unknown &#39;&lt;script&gt;&#39;" in error
    _balanced(error)


def test_templates_are_autoescaped_and_shipped_with_the_package():
    assert pages.env.autoescape("any.html") is True
    names = {p.name for p in TEMPLATES.iterdir() if p.is_file()}
    assert set(pages.env.list_templates()) >= names
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    globs = data["services.reporting"]
    for name in names:
        assert any(fnmatch.fnmatch(f"templates/{name}", g) for g in globs), name
    assert pages.CSS.startswith(":root{") and "<" not in pages.CSS
