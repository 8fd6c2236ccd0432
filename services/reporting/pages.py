"""The HTML dashboard, server-rendered from the Jinja2 templates in ``templates/``: every value is
autoescaped, there is no JavaScript and no external resource (the stylesheet is served by the
service itself, charts are inline SVG from domain/svg.py).

Each page renders the same view dictionary the JSON API answers, so the page and the JSON cannot
disagree. Accessibility: a skip link, landmarks, labelled form controls, captions on every table,
header cells with scope, visible keyboard focus, and text that meets WCAG AA contrast; charts carry
their own title and description (domain/svg.py) and a table beside them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from contracts import labels
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
#: Silence lengths offered on the alerts page, in hours, with their words. A local default: the
#: seeds say nothing about muting alerts; a day, a week and four weeks cover a meeting cycle.
SILENCE_HOURS: dict[int, str] = {24: "1 day", 168: "1 week", 672: "4 weeks"}
#: How a subscription is delivered (the alerts API's channels).
CHANNELS: dict[str, str] = {"email": "Email", "webhook": "Webhook (a URL that receives JSON)"}
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
    """A code with no name of its own in sentence case (``common_cause`` -> ``Common cause``);
    codes of the contract are named by ``contracts.labels``."""
    return labels.sentence(code)


def label(code: object, kind: str) -> str:
    """The ``label`` template filter: ``{{ i.community|label("community") }}``."""
    return labels.label(kind, code)


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
env = Environment(
    loader=PackageLoader(__package__, "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    finalize=_finalize,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)
env.filters.update(
    num=fmt_num, change=fmt_change, as_of=fmt_as_of, words=words, label=label, subject=labels.subject, plural=plural
)
env.globals.update(link=link, nav=NAV, areas=AREAS, local_target=LOCAL_TARGET, alert_title=labels.alert_title)


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

    chart = svg.heat_map(
        counts, title="Evidence by commissioning cycle stage and competency", cell_href=cell_href, noun="events"
    )
    return _page(
        "heatmap.html",
        frame,
        view,
        chart=Markup(chart),
        counts=counts,
        cell_href=cell_href,
        stages=list(Stage),
        competencies=list(Competency),
        competency_columns=[(f"{int(c)} {c.title}", True) for c in Competency],
    )


def unmet_page(view: Mapping, frame: Frame) -> str:
    return _page("unmet.html", frame, view)


def performance_charts(n: int, item: Mapping) -> dict:
    """The ``n``-th performance item's SPC chart (recomputed from the view's series by the same
    pure function) and its comparison with the region, drawn by domain/svg.py."""
    unit = "%" if item["unit"] == "percent" else ""
    community = f" ({labels.label('community', item['community'])})" if item.get("community") else ""
    title = f"{item['provider_name']}: {labels.label('indicator', item['indicator'])}{community}"
    result = reports.spc_of([float(p["value"]) for p in item["series"]], Indicator(item["indicator"]), item["target"])
    spc = trial_points = None
    if result is not None:
        periods = [p["period_start"][:7] for p in item["series"]][-len(result.points) :]
        spc = Markup(svg.spc_chart(result, periods, title=title, unit=unit, id_prefix=f"spc-{n}"))
        trial_points = result.limits.points_used if result.limits.trial else None
    comparison = None
    b, w = item["benchmark"], item["window"]
    if b and b.get("value") is not None and w["denominator"]:
        ci = wilson_interval(w["numerator"], w["denominator"])
        bars = [
            svg.ComparisonBar.from_interval(
                item["provider_name"], w["proportion"], ci, Significance(b["significance"])
            ),
            svg.ComparisonBar(f"Region ({labels.label('region', b['region'])})", b["value"] * 100),
        ]
        comparison = Markup(
            svg.comparison_chart(
                bars,
                title=f"{labels.label('indicator', item['indicator'])}{community}: provider against region",
                target=item["target"],
                id_prefix=f"cmp-{n}",
            )
        )
    return {"title": title, "spc": spc, "trial_points": trial_points, "comparison": comparison}


def performance_page(view: Mapping, frame: Frame) -> str:
    charts = [performance_charts(n, i) for n, i in enumerate(view["items"])]
    return _page("performance.html", frame, view, charts=charts)


def funding_page(view: Mapping, frame: Frame) -> str:
    return _page("funding.html", frame, view)


def alerts_page(
    view: Mapping,
    frame: Frame,
    *,
    live: Mapping[str, Mapping] | None = None,
    flash: Mapping | None = None,
    csrf_token: str = "",
) -> str:
    """The alerts table with each alert's actions. ``live``: the state the alerts API holds now
    per fingerprint (it leads the reporting tables by a moment after an action); ``flash``: the
    outcome of the last action; ``csrf_token``: the session's form token (no forms without one)."""
    live = live or {}
    items = []
    for i in view["items"]:
        now = live.get(i["fingerprint"], {})
        items.append(
            {
                **i,
                "state": now.get("status") or i["state"],
                "silenced": bool(now.get("silenced")),
                "silence": now.get("silence"),
            }
        )
    counts: dict[str, int] = {}
    for i in items:
        if i["state"] != "resolved":
            counts[i["state"]] = counts.get(i["state"], 0) + 1
    return _page(
        "alerts.html",
        frame,
        view,
        items=items,
        counts=counts,
        flash=flash,
        csrf_token=csrf_token,
        silence_hours=SILENCE_HOURS,
        channels=CHANNELS,
    )


def described_filters(filters: Mapping[str, Any]) -> list[str]:
    """The findings filters in words: "stage Assessing needs", "community Somali"."""
    described = []
    for k in ("stage", "competency", "community", "theme", "cdw_role"):
        if filters.get(k):
            described.append(f"{k.replace('_', ' ')} {labels.label(k, filters[k])}")
    for k in ("event_type", "provider"):
        if filters.get(k):
            described.append(f"{k.replace('_', ' ')} {filters[k]}")
    return described


def findings_page(view: Mapping, frame: Frame) -> str:
    return _page("findings.html", frame, view, described=described_filters(view["filters"]))


def login_page(csrf_token: str, next_path: str, error: str | None = None) -> str:
    return render("login.html", title="Sign in", csrf_token=csrf_token, next_path=next_path, error=error)


def error_page(title: str, detail: str) -> str:
    return render("error.html", title=title, detail=detail)
