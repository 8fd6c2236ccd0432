"""The HTML dashboard, server-rendered: plain string building, every value escaped, no JavaScript,
no external resources (the stylesheet is served by the service itself, charts are inline SVG).

Each page function takes the same view dictionary the JSON API answers, so the page and the
JSON cannot disagree. Accessibility: a skip link, landmarks, labelled form controls, captions
on every table, header cells with scope, visible keyboard focus, and text that meets WCAG AA
contrast; charts carry their own title and description (domain/svg.py) and a table beside them.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from urllib.parse import urlencode

from contracts.places import AREAS
from contracts.taxonomy import Competency, Stage
from contracts.vocabulary import LOCAL_TARGET, Indicator

from .domain import reports, svg
from .domain.stats import Significance, SpcResult, wilson_interval

NAV = (
    ("overview", "/dashboard", "Overview"),
    ("heatmap", "/dashboard/heatmap", "Heat map"),
    ("unmet", "/dashboard/unmet-needs", "Unmet needs"),
    ("performance", "/dashboard/performance", "Provider performance"),
    ("funding", "/dashboard/funding", "Funding"),
    ("alerts", "/dashboard/alerts", "Alerts"),
    ("findings", "/dashboard/findings", "Findings"),
)

CSS = """
:root{--text:#212b32;--muted:#4c6272;--bg:#f0f4f5;--card:#fff;--blue:#005eb8;--dark:#003087;
--focus:#ffeb3b;--border:#d8dde0;--red:#d5281b;--green:#007f3b;--amber:#8a5a00}
*{box-sizing:border-box}
html{font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:var(--text);background:var(--bg)}
body{margin:0}
a{color:var(--blue)}a:visited{color:#330072}a:hover{color:#7c2855}
a:focus,button:focus,input:focus,select:focus,summary:focus{outline:4px solid var(--focus);outline-offset:0;
box-shadow:0 4px 0 0 var(--text);background:var(--focus);color:var(--text)}
.skip{position:absolute;left:-9999px;top:0;padding:.5rem 1rem;background:var(--focus);color:var(--text)}
.skip:focus{left:0;z-index:10}
header.site{background:var(--blue);color:#fff;padding:.75rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;
align-items:center;justify-content:space-between}
header.site a{color:#fff}header.site .brand{font-weight:bold;font-size:1.15rem;text-decoration:none}
nav.main{background:var(--dark)}
nav.main ul{list-style:none;margin:0;padding:0 .5rem;display:flex;flex-wrap:wrap}
nav.main a{display:block;padding:.6rem .8rem;color:#fff;text-decoration:none}
nav.main a[aria-current=page]{text-decoration:underline;text-underline-offset:.3em;font-weight:bold}
nav.main a:focus{color:var(--text)}
main{max-width:1200px;margin:0 auto;padding:1rem}
h1{font-size:1.75rem;margin:.5rem 0 1rem}h2{font-size:1.35rem;margin:1.5rem 0 .5rem}h3{font-size:1.1rem}
.meta{color:var(--muted);margin:.25rem 0 1rem}
.card{background:var(--card);border:1px solid var(--border);padding:1rem;margin:0 0 1rem;overflow-x:auto}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(11rem,1fr));gap:1rem;margin-bottom:1rem}
.stat{background:var(--card);border:1px solid var(--border);border-left:6px solid var(--blue);padding:.75rem}
.stat .n{font-size:1.8rem;font-weight:bold;display:block}.stat .l{color:var(--muted)}
table{border-collapse:collapse;width:100%;background:var(--card);font-size:.95rem}
caption{text-align:left;font-weight:bold;padding:.5rem 0;font-size:1.05rem}
th,td{border-bottom:1px solid var(--border);padding:.4rem .5rem;text-align:left;vertical-align:top}
th{background:#e8edee}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
form.filters{display:flex;flex-wrap:wrap;gap:.75rem 1rem;align-items:flex-end;background:var(--card);
border:1px solid var(--border);padding:.75rem;margin-bottom:1rem}
form.filters label,form.login label{display:block;font-weight:bold;margin-bottom:.2rem}
input,select{font:inherit;padding:.35rem;border:2px solid var(--text);min-height:2.5rem;background:#fff}
button{font:inherit;font-weight:bold;padding:.5rem 1rem;min-height:2.5rem;border:0;background:var(--green);
color:#fff;box-shadow:0 4px 0 #00401e;cursor:pointer}
.tag{display:inline-block;padding:0 .4rem;border:1px solid currentColor;font-weight:bold;font-size:.85rem}
.red{color:var(--red)}.amber{color:var(--amber)}.green{color:var(--green)}.muted{color:var(--muted)}
.error{border-left:6px solid var(--red);padding:.5rem 1rem;background:#fff}
svg{max-width:100%;height:auto}
footer{max-width:1200px;margin:2rem auto;padding:0 1rem;color:var(--muted);font-size:.9rem}
@media (max-width:700px){html{font-size:15px}main{padding:.5rem}th,td{padding:.3rem}
.hide-narrow{display:none}}
@media print{nav.main,form.filters,.skip{display:none}}
""".strip()


def e(value: object) -> str:
    """Escape text or an attribute value (quotes included)."""
    return escape("" if value is None else str(value), quote=True)


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


def link(path: str, params: Mapping[str, object]) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "", False)}
    return path + ("?" + urlencode(clean) if clean else "")


def table(caption: str, headers: Sequence[tuple[str, bool]], rows: Iterable[Sequence[str]],
          empty: str = "Nothing in this window.") -> str:
    """``headers``: (label, numeric); ``rows``: cells already escaped HTML."""
    head = "".join(f'<th scope="col"{" class=num" if n else ""}>{e(h)}</th>' for h, n in headers)
    body = []
    for row in rows:
        cells = []
        for i, (cell, (_, numeric)) in enumerate(zip(row, headers)):
            tag = "th scope=\"row\"" if i == 0 else "td"
            cells.append(f'<{tag}{" class=num" if numeric else ""}>{cell}</{tag.split()[0]}>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(headers)}">{e(empty)}</td></tr>')
    return (f'<div class="card"><table><caption>{e(caption)}</caption><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def layout(title: str, body: str, *, active: str, who: str, data_as_of: str | None,
           params: Mapping[str, object]) -> str:
    nav = "".join(
        f'<li><a href="{e(link(href, params))}"{" aria-current=page" if key == active else ""}>{e(label)}</a></li>'
        for key, href, label in NAV)
    as_of = e(data_as_of.replace("T", " ")[:19] + " UTC") if data_as_of else "no data yet"
    return ("<!DOCTYPE html>\n"
            '<html lang="en-GB"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(title)} – Commissioning signals</title>"
            '<link rel="stylesheet" href="/dashboard/assets/dashboard.css"></head><body>'
            '<a class="skip" href="#main">Skip to main content</a>'
            '<header class="site"><a class="brand" href="/dashboard">Commissioning signals</a>'
            f'<span>Signed in as {e(who)} · <a href="/logout">Sign out</a></span></header>'
            f'<nav class="main" aria-label="Dashboard pages"><ul>{nav}</ul></nav>'
            f'<main id="main" tabindex="-1"><h1>{e(title)}</h1>'
            f'<p class="meta">Data as of <strong data-testid="data-as-of">{as_of}</strong>.</p>'
            f"{body}</main>"
            "<footer>Community engagement findings and provider performance events, by commissioning "
            "cycle stage and World Class Commissioning competency. No personal data is held.</footer>"
            "</body></html>")


def filters(path: str, allowed_areas: Sequence[str], params: Mapping[str, object],
            extra: str = "") -> str:
    area = params.get("area") or ""
    region = params.get("region") or ""
    days = str(params.get("days") or ("" if params.get("from") else "30"))
    area_opts = ['<option value="">All my areas</option>'] + [
        f'<option value="{e(a)}"{" selected" if a == area else ""}>{e(AREAS[a].name)} ({e(a)})</option>'
        for a in allowed_areas]
    regions = sorted({AREAS[a].region for a in allowed_areas}, key=lambda r: r.value)
    region_opts = ['<option value="">Any region</option>'] + [
        f'<option value="{e(r.value)}"{" selected" if r.value == region else ""}>{e(r.title)}</option>'
        for r in regions]
    day_opts = ['<option value="">Custom (from/to)</option>'] + [
        f'<option value="{d}"{" selected" if str(d) == days else ""}>Last {d} days</option>' for d in (7, 30, 90)]
    return (f'<form class="filters" method="get" action="{e(path)}" aria-label="Choose areas and window">'
            f'<div><label for="f-area">Area</label><select id="f-area" name="area">{"".join(area_opts)}</select></div>'
            f'<div><label for="f-region">Region</label><select id="f-region" name="region">{"".join(region_opts)}</select></div>'
            f'<div><label for="f-days">Window</label><select id="f-days" name="days">{"".join(day_opts)}</select></div>'
            f'<div><label for="f-from">From</label><input id="f-from" type="date" name="from" value="{e(params.get("from"))}"></div>'
            f'<div><label for="f-to">To</label><input id="f-to" type="date" name="to" value="{e(params.get("to"))}"></div>'
            f'{extra}<div><button type="submit">Show</button></div></form>')


def window_line(view: Mapping) -> str:
    w, p = view["window"], view["previous_window"]
    codes = [a if isinstance(a, str) else a["area"] for a in view["areas"]]  # overview: rows per area
    return (f'<p class="meta">Window {e(w["from"])} to {e(w["to"])} ({w["days"]} days), compared with '
            f'{e(p["from"])} to {e(p["to"])}. Areas: {e(", ".join(codes))}.</p>')


def csv_link(api_path: str, params: Mapping[str, object], what: str) -> str:
    return f'<p><a href="{e(link(api_path + ".csv", params))}" download>Download {e(what)} as CSV</a></p>'


# ---------------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------------


def overview_page(view: Mapping, completeness: Mapping, params: Mapping[str, object]) -> str:
    t = view["totals"]
    cards = "".join(
        f'<div class="stat"><span class="n">{fmt_num(t[k]["current"])}</span><span class="l">{e(label)}'
        f' · {e(fmt_change(t[k]))} on previous</span></div>'
        for k, label in (("findings", "findings"), ("performance_events", "performance events"),
                         ("people_affected", "people affected"), ("unmet_need_findings", "unmet-need findings")))
    cards += f'<div class="stat"><span class="n">{t["open_alerts"]}</span><span class="l">open alerts</span></div>'
    rows = []
    for r in view["areas"]:
        p = {**params, "area": r["area"], "region": None}
        rows.append([f'<a href="{e(link("/dashboard/heatmap", p))}">{e(r["area_name"])} ({e(r["area"])})</a>',
                     fmt_num(r["findings"]["current"]), e(fmt_change(r["findings"])),
                     fmt_num(r["performance_events"]["current"]), fmt_num(r["people_affected"]["current"]),
                     f'<a href="{e(link("/dashboard/unmet-needs", p))}">{fmt_num(r["unmet_need_findings"]["current"])}</a>',
                     f'<a href="{e(link("/dashboard/alerts", p))}">{r["open_alerts"]}</a>'])
    body = (window_line(view) + f'<div class="cards">{cards}</div>'
            + table("Areas in scope: findings, performance events and open alerts in the window",
                    [("Area", False), ("Findings", True), ("Change on previous", True),
                     ("Performance events", True), ("People affected", True), ("Unmet-need findings", True),
                     ("Open alerts", True)], rows)
            + csv_link("/v1/reports/overview", params, "this table")
            + completeness_table(completeness["items"]))
    return body


def completeness_table(items: Sequence[Mapping]) -> str:
    rows = [[e(i["provider_name"]) + f' <span class="muted">({e(i["area"])})</span>', e(i["sector"]),
             f'{i["reported_periods"]} of {i["expected_periods"]}',
             f'{fmt_num(i["percent"], 0)}%', e(i["last_period_end"] or "–")] for i in items]
    return table("Data completeness per provider: months reported in the window",
                 [("Provider", False), ("Sector", False), ("Months reported", True), ("Complete", True),
                  ("Latest period ends", False)], rows, "No provider reported in this window.")


def heatmap_page(view: Mapping, params: Mapping[str, object]) -> str:
    counts = {(c["stage"], c["competency"]): c["events"] for c in view["cells"]}

    def href(s: Stage, c: Competency) -> str:
        return link("/dashboard/findings", {**params, "stage": int(s), "competency": int(c)})

    chart = svg.heat_map(counts, title="Evidence by commissioning cycle stage and competency",
                         cell_href=href, noun="events")
    g = view["gaps"]
    gaps = (f'<p><strong>{g["gap_cells"]} of {g["cells"]}</strong> stage and competency pairs have no evidence '
            "in this window: a gap is a finding too.</p>")
    if g["stages_without_evidence"]:
        gaps += "<p>Stages with no evidence: " + e(", ".join(g["stages_without_evidence"])) + ".</p>"
    if g["competencies_without_evidence"]:
        gaps += "<p>Competencies with no evidence: " + e(", ".join(g["competencies_without_evidence"])) + ".</p>"
    rows = []
    for s in Stage:
        row = [f"{int(s)} {e(s.title)}"]
        for c in Competency:
            n = counts.get((int(s), int(c)), 0)
            row.append(f'<a href="{e(href(s, c))}" aria-label="{e(s.title)} with {e(c.title)}: {n}">{n}</a>'
                       if n else '<span class="muted">gap</span>')
        rows.append(row)
    grid = table("Heat map as a table: events per stage (rows) and competency (columns)",
                 [("Stage", False)] + [(f"{int(c)} {c.title}", True) for c in Competency], rows)
    return (window_line(view) + f'<div class="card" data-testid="heatmap">{chart}</div>' + gaps
            + f"<details><summary>Show the heat map as a table</summary>{grid}</details>"
            + csv_link("/v1/reports/heatmap", params, "the heat map"))


_TREND_CLASS = {"rising": "red", "new": "red", "falling": "green", "gone": "green"}


def unmet_page(view: Mapping, params: Mapping[str, object]) -> str:
    rows = []
    for i in view["items"]:
        drill = link("/dashboard/findings", {**params, "community": i["community"], "theme": i["theme"]})
        rows.append([e(i["community"].replace("_", " ")), e(i["theme"].replace("_", " "))
                     + (' <span class="tag">unmet need</span>' if i["unmet_need_theme"] else ""),
                     f'<a href="{e(drill)}">{fmt_num(i["findings"]["current"])}</a>',
                     fmt_num(i["findings"]["previous"]),
                     f'<span class="{_TREND_CLASS.get(i["trend"], "")}">{e(i["trend"])}</span>',
                     fmt_num(i["people_affected"]["current"]), fmt_num(i["high_severity"])])
    by_c = [[e(c["community"].replace("_", " ")), fmt_num(c["findings"]["current"]),
             fmt_num(c["findings"]["previous"]), e(c["trend"]), fmt_num(c["unmet_need_findings"])]
            for c in view["by_community"]]
    return (window_line(view)
            + table("Findings by community and theme, with the trend against the previous window",
                    [("Community", False), ("Theme", False), ("Findings", True), ("Previous window", True),
                     ("Trend", False), ("People affected", True), ("High or critical", True)], rows)
            + csv_link("/v1/reports/unmet-needs", params, "this table")
            + table("Findings by community", [("Community", False), ("Findings", True),
                                              ("Previous window", True), ("Trend", False),
                                              ("Unmet-need findings", True)], by_c))


def _spc_result(item: Mapping) -> SpcResult | None:
    """The chart's input, recomputed from the view's series by the same pure function."""
    return reports.spc_of([float(p["value"]) for p in item["series"]], Indicator(item["indicator"]),
                          item["target"])


def _target_cell(item: Mapping, unit: str) -> str:
    """The target with what it is: a local target, a reported target or a seed's target."""
    if item["target"] is None:
        return "–"
    label = item.get("target_label")
    return fmt_num(item["target"], 1) + unit + (f' <span class="muted">{e(label)}</span>' if label else "")


def performance_page(view: Mapping, params: Mapping[str, object]) -> str:
    parts = [window_line(view)]
    summary_rows = []
    for n, i in enumerate(view["items"]):
        unit = "%" if i["unit"] == "percent" else ""
        b = i["benchmark"]
        sig = b["significance"] if b else "not compared"
        latest = i["latest"]
        met = i["meets_target"]
        summary_rows.append([
            e(i["provider_name"]) + f' <span class="muted">({e(i["area"])})</span>',
            e(i["indicator_title"]) + (f' – {e(i["community"])}' if i["community"] else ""),
            fmt_num(latest["value"], 1) + unit if latest else "–",
            _target_cell(i, unit),
            ('<span class="green">met</span>' if met else '<span class="red">not met</span>') if met is not None else "–",
            e(sig), e((i["spc"] or {}).get("variation", "too few points").replace("_", " ")),
        ])
        result = _spc_result(i)
        title = f"{i['provider_name']}: {i['indicator_title']}"
        block = [f'<section class="card" aria-labelledby="perf-{n}"><h3 id="perf-{n}">{e(title)}'
                 f'{" – " + e(i["community"]) if i["community"] else ""}</h3>']
        if result is not None:
            labels = [p["period_start"][:7] for p in i["series"]][-len(result.points):]
            block.append(f'<div data-testid="spc-chart">{svg.spc_chart(result, labels, title=title, unit=unit, id_prefix=f"spc-{n}")}</div>')
            if result.limits.trial:
                block.append(f'<p class="muted">Trial limits: {result.limits.points_used} points '
                             "(limits settle at 12 or more).</p>")
        else:
            block.append("<p>One period so far: the chart needs at least two.</p>")
        if b and b.get("value") is not None and i["window"]["denominator"]:
            w = i["window"]
            ci = wilson_interval(w["numerator"], w["denominator"])
            bars = [svg.ComparisonBar.from_interval(i["provider_name"], w["proportion"], ci, Significance(sig)),
                    svg.ComparisonBar(f"Region ({b['region'].replace('_', ' ')})", b["value"] * 100)]
            block.append(svg.comparison_chart(bars, title=f"{i['indicator_title']}: provider against region",
                                              target=i["target"], id_prefix=f"cmp-{n}"))
        block.append("</section>")
        parts_block = "".join(block)
        parts.append(parts_block)
    head = table("Provider performance against target, with SPC variation and the region benchmark",
                 [("Provider", False), ("Indicator", False), ("Latest", True), ("Target", True),
                  ("Met target", False), ("Against region", False), ("Variation (SPC)", False)], summary_rows,
                 "No performance events in this window.")
    if any(i.get("target_label") == LOCAL_TARGET for i in view["items"]):
        head += ('<p class="muted" data-testid="local-target-note">A local target is the platform\'s '
                 "default until the area sets its own: the seeds name the measure but give no "
                 "figure for it.</p>")
    return (parts[0] + head + csv_link("/v1/reports/performance", params, "this table")
            + "".join(parts[1:]) + completeness_table(view["completeness"]))


def _overdue(days: float | None) -> str:
    if days is None:
        return "–"
    if days <= 0:
        return "paid on time"
    n = int(days)
    return f'<span class="tag red">{n} day{"" if n == 1 else "s"}</span>'


def funding_page(view: Mapping, params: Mapping[str, object]) -> str:
    t = view["totals"]
    cards = (f'<div class="cards"><div class="stat"><span class="n">£{fmt_num(t["gap_gbp"])}</span>'
             f'<span class="l">funding gap across {t["with_gap"]} providers</span></div>'
             f'<div class="stat"><span class="n">{t["contracts_ending_soon"]}</span>'
             f'<span class="l">contracts ending within 90 days</span></div></div>')
    rows = []
    for i in view["items"]:
        ending = i["contract_ending_soon"]
        rows.append([e(i["provider_name"]) + f' <span class="muted">({e(i["area"])})</span>',
                     "£" + fmt_num(i["funding_committed_gbp"]) if i["funding_committed_gbp"] is not None else "–",
                     "£" + fmt_num(i["funding_required_gbp"]) if i["funding_required_gbp"] is not None else "–",
                     ("£" + fmt_num(i["funding_gap_gbp"])) if i["funding_gap_gbp"] is not None else "–",
                     (fmt_num(i["funded_percent"], 1) + "%") if i["funded_percent"] is not None else "–",
                     e(i["contract_end_date"] or "–")
                     + (f' <span class="tag red">ends in {i["days_to_contract_end"]} days</span>' if ending else "")
                     + (' <span class="tag red">ended</span>' if i["contract_ended"] else ""),
                     fmt_num(i["renewal_recorded"]) if i["renewal_recorded"] is not None else "not recorded",
                     _overdue(i["payment_days_overdue"])])
    return (window_line(view) + cards
            + table("Voluntary providers: funding committed against required, and contract end dates",
                    [("Provider", False), ("Committed", True), ("Required", True), ("Gap", True),
                     ("Funded", True), ("Contract ends", False), ("Renewal recorded", False),
                     ("Payment overdue", True)], rows,
                    "No funding reports from voluntary providers.")
            + csv_link("/v1/reports/funding", params, "this table"))


def alerts_page(view: Mapping, params: Mapping[str, object]) -> str:
    rows = []
    for i in view["items"]:
        drill = link("/dashboard/findings", {"area": i["area"], "days": 90})
        rows.append([e(i["subject"]), e(i["area"]), e(i["rule"].replace("_", " ")),
                     f'<span class="tag {"red" if i["severity"] == "red" else "amber"}">{e(i["severity"])}</span>',
                     e(i["state"]), e(i["age"]), e(i["summary"]),
                     f'<a href="{e(drill)}">{len(i["event_ids"])} events</a>'])
    counts = ", ".join(f"{n} {s}" for s, n in sorted(view["counts"].items())) or "none"
    return (f"<p>Open alerts: {e(counts)}.</p>"
            + f'<div data-testid="alerts">' + table(
                "Open alerts, oldest first, with their age and state",
                [("Subject", False), ("Area", False), ("Rule", False), ("Severity", False), ("State", False),
                 ("Age", False), ("Summary", False), ("Evidence", False)], rows, "No open alerts.") + "</div>"
            + csv_link("/v1/reports/alerts", {k: v for k, v in params.items() if k in ("area", "region")},
                       "this table"))


def findings_page(view: Mapping, params: Mapping[str, object]) -> str:
    f = view["filters"]
    described = []
    if f.get("stage"):
        described.append("stage " + Stage(int(f["stage"])).title)
    if f.get("competency"):
        described.append("competency " + Competency(int(f["competency"])).title)
    for k in ("community", "theme", "cdw_role", "event_type", "provider"):
        if f.get(k):
            described.append(f"{k.replace('_', ' ')} {str(f[k]).replace('_', ' ')}")
    rows = [[f'<code>{e(i["event_id"])}</code>', e(i["occurred_at"][:10]), e(i["area"]),
             e((i["community"] or "").replace("_", " ")), e((i["theme"] or i["indicator"] or "").replace("_", " ")),
             e(i["severity"] or ""), fmt_num(i["people_affected"]), e(i["summary"] or f'{i["provider_id"]}: {i["value"]}')]
            for i in view["items"]]
    return (window_line(view)
            + f'<p>{view["total"]} events match{": " + e("; ".join(described)) if described else ""}'
            + (f' (showing {len(rows)})' if view["total"] > len(rows) else "") + ".</p>"
            + table("The findings and events behind the cell", [("Event id", False), ("Date", False),
                    ("Area", False), ("Community", False), ("Theme or indicator", False), ("Severity", False),
                    ("People", True), ("Summary", False)], rows)
            + csv_link("/v1/reports/findings", params, "this table"))


def login_page(csrf_token: str, next_path: str, error: str | None = None) -> str:
    err = (f'<div class="error" role="alert"><p>{e(error)}</p></div>') if error else ""
    return ("<!DOCTYPE html>\n"
            '<html lang="en-GB"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>Sign in – Commissioning signals</title>"
            '<link rel="stylesheet" href="/dashboard/assets/dashboard.css"></head><body>'
            '<a class="skip" href="#main">Skip to main content</a>'
            '<header class="site"><span class="brand">Commissioning signals</span></header>'
            '<main id="main" tabindex="-1"><h1>Sign in to the dashboards</h1>' + err
            + '<form class="login card" method="post" action="/login">'
            f'<input type="hidden" name="csrf_token" value="{e(csrf_token)}">'
            f'<input type="hidden" name="next" value="{e(next_path)}">'
            '<p><label for="api_key">Your organisation\'s API key</label>'
            '<input id="api_key" name="api_key" type="password" autocomplete="current-password" required '
            'size="60" aria-describedby="api_key_hint"></p>'
            '<p id="api_key_hint" class="muted">Commissioners see the areas their key is granted; '
            "the key is not stored in the browser, only a signed session that expires.</p>"
            '<p><button type="submit">Sign in</button></p></form></main></body></html>')
