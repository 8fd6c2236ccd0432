"""The HTML dashboard, server-rendered from the Jinja2 templates in ``templates/``: every value is
autoescaped, there is no JavaScript and no external resource (the stylesheet is served by the
service itself, charts are inline SVG from domain/svg.py).

Each page renders the same view dictionary the JSON API answers, so the page and the JSON cannot
disagree. Accessibility: a skip link, landmarks, labelled form controls, captions on every table,
header cells with scope, visible keyboard focus, and text that meets WCAG AA contrast; charts carry
their own title and description (domain/svg.py) and a table beside them.
"""
from __future__ import annotations

import re

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from contracts.places import AREAS, Region
from contracts.taxonomy import Competency, Stage
from contracts.vocabulary import LOCAL_TARGET, Indicator

from .domain import reports, svg
from .domain.stats import Significance, wilson_interval

NAV = (
    ("overview", "/dashboard", "Overview"),
    ("heatmap", "/dashboard/heatmap", "Heat map"),
    ("unmet", "/dashboard/unmet-needs", "Unmet needs"),
    ("performance", "/dashboard/performance", "Provider performance"),
    ("funding", "/dashboard/funding", "Funding"),
    ("alerts", "/dashboard/alerts", "Alerts"),
    ("findings", "/dashboard/findings", "Findings"),
)
#: The filters every page keeps when moving between pages.
WINDOW_PARAMS = ("area", "region", "days", "from", "to")

CSS = (files(__package__) / "templates" / "dashboard.css").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Formatting, registered as template filters and globals
# ---------------------------------------------------------------------------------------------


def fmt_num(value: object, decimals: int = 0) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return f"{value:,.{decimals}f}"
    return str(value)


def fmt_change(c: Mapping) -> str:
    sign = "+" if c["change"] > 0 else ""
    pct = f" ({sign}{c['change_pct']}%)" if c.get("change_pct") is not None else ""
    return f"{sign}{c['change']:,}{pct}"


def fmt_as_of(data_as_of: str | None) -> str:
    return data_as_of.replace("T", " ")[:19] + " UTC" if data_as_of else "no data yet"


def words(code: object) -> str:
    """A code for people to read: ``gypsy_roma_traveller`` becomes ``gypsy roma traveller``."""
    return str(code).replace("_", " ")


def subject(code: str) -> str:
    """An alert's subject for people to read: ``provider:bsmhft/community:pakistani`` becomes
    ``provider bsmhft, community pakistani``. Anything not of that shape is shown as it is."""
    text = str(code)
    if not _SUBJECT.fullmatch(text):
        return text
    return ", ".join(words(part.replace(":", " ", 1)) for part in text.split("/"))


_SUBJECT = re.compile(r"[a-z_]+:[A-Za-z0-9_.-]+(/[a-z_]+:[A-Za-z0-9_.-]+)*")


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 event``, ``2 events``."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def link(path: str, params: Mapping[str, object], **overrides: object) -> str:
    """``path`` with ``params`` (updated by ``overrides``) as its query; empty values are left out."""
    clean = {k: v for k, v in {**params, **overrides}.items() if v not in (None, "", False)}
    return path + ("?" + urlencode(clean) if clean else "")


def _finalize(value: object) -> object:
    """A missing value prints as nothing, never as "None"."""
    return "" if value is None else value


#: The templates ship with the package and do not change while it runs: loaded once, not re-read.
env = Environment(loader=PackageLoader(__package__, "templates"), autoescape=select_autoescape(["html"]),
                  undefined=StrictUndefined, finalize=_finalize, trim_blocks=True, lstrip_blocks=True,
                  auto_reload=False)
env.filters.update(num=fmt_num, change=fmt_change, as_of=fmt_as_of, words=words, subject=subject,
                   plural=plural)
env.globals.update(link=link, nav=NAV, areas=AREAS, local_target=LOCAL_TARGET)


@dataclass(frozen=True)
class Frame:
    """What every dashboard page shows around its content: its title, who is signed in, the
    page's address and the filters (``params``: the query parameters the page reads)."""

    title: str
    active: str
    path: str
    who: str
    allowed_areas: Sequence[str]
    params: Mapping[str, str]

    @property
    def nav_params(self) -> dict[str, str]:
        return {k: v for k, v in self.params.items() if k in WINDOW_PARAMS}

    @property
    def regions(self) -> list[Region]:
        return sorted({AREAS[a].region for a in self.allowed_areas}, key=lambda r: r.value)


def render(template: str, **context: object) -> str:
    return env.get_template(template).render(**context)


def _page(template: str, frame: Frame, view: Mapping, **context: object) -> str:
    return render(template, title=frame.title, frame=frame, view=view, params=frame.params, **context)


# ---------------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------------


def overview_page(view: Mapping, completeness: Mapping, frame: Frame) -> str:
    return _page("overview.html", frame, view, completeness=completeness)


def heatmap_page(view: Mapping, frame: Frame) -> str:
    counts = {(c["stage"], c["competency"]): c["events"] for c in view["cells"]}

    def cell_href(s: Stage, c: Competency) -> str:
        return link("/dashboard/findings", frame.params, stage=int(s), competency=int(c))

    chart = svg.heat_map(counts, title="Evidence by commissioning cycle stage and competency",
                         cell_href=cell_href, noun="events")
    return _page("heatmap.html", frame, view, chart=Markup(chart), counts=counts, cell_href=cell_href,
                 stages=list(Stage), competencies=list(Competency),
                 competency_columns=[(f"{int(c)} {c.title}", True) for c in Competency])


def unmet_page(view: Mapping, frame: Frame) -> str:
    return _page("unmet.html", frame, view)


def performance_charts(n: int, item: Mapping) -> dict:
    """The ``n``-th performance item's SPC chart (recomputed from the view's series by the same
    pure function) and its comparison with the region, drawn by domain/svg.py."""
    unit = "%" if item["unit"] == "percent" else ""
    title = f"{item['provider_name']}: {item['indicator_title']}"
    result = reports.spc_of([float(p["value"]) for p in item["series"]], Indicator(item["indicator"]),
                            item["target"])
    spc = trial_points = None
    if result is not None:
        labels = [p["period_start"][:7] for p in item["series"]][-len(result.points):]
        spc = Markup(svg.spc_chart(result, labels, title=title, unit=unit, id_prefix=f"spc-{n}"))
        trial_points = result.limits.points_used if result.limits.trial else None
    comparison = None
    b, w = item["benchmark"], item["window"]
    if b and b.get("value") is not None and w["denominator"]:
        ci = wilson_interval(w["numerator"], w["denominator"])
        bars = [svg.ComparisonBar.from_interval(item["provider_name"], w["proportion"], ci,
                                                Significance(b["significance"])),
                svg.ComparisonBar(f"Region ({words(b['region'])})", b["value"] * 100)]
        comparison = Markup(svg.comparison_chart(
            bars, title=f"{item['indicator_title']}: provider against region", target=item["target"],
            id_prefix=f"cmp-{n}"))
    return {"title": title, "spc": spc, "trial_points": trial_points, "comparison": comparison}


def performance_page(view: Mapping, frame: Frame) -> str:
    charts = [performance_charts(n, i) for n, i in enumerate(view["items"])]
    return _page("performance.html", frame, view, charts=charts)


def funding_page(view: Mapping, frame: Frame) -> str:
    return _page("funding.html", frame, view)


def alerts_page(view: Mapping, frame: Frame) -> str:
    return _page("alerts.html", frame, view)


def described_filters(filters: Mapping[str, Any]) -> list[str]:
    """The findings filters in words: "stage Assessing needs", "community somali"."""
    described = []
    if filters.get("stage"):
        described.append("stage " + Stage(int(filters["stage"])).title)
    if filters.get("competency"):
        described.append("competency " + Competency(int(filters["competency"])).title)
    for k in ("community", "theme", "cdw_role", "event_type", "provider"):
        if filters.get(k):
            described.append(f"{words(k)} {words(filters[k])}")
    return described


def findings_page(view: Mapping, frame: Frame) -> str:
    return _page("findings.html", frame, view, described=described_filters(view["filters"]))


def login_page(csrf_token: str, next_path: str, error: str | None = None) -> str:
    return render("login.html", title="Sign in", csrf_token=csrf_token, next_path=next_path, error=error)


def error_page(title: str, detail: str) -> str:
    return render("error.html", title=title, detail=detail)
