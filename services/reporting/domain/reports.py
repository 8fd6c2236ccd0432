"""The dashboards' views, built from rollup rows: pure functions from plain data to plain data.

The API answers these dictionaries as JSON, the dashboard renders them as HTML, and the CSV
export writes their tables; so a figure is computed once, in one place, and tested here.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from contracts import labels
from contracts.places import AREAS
from contracts.taxonomy import CDW_ROLES, CDWRole, Competency, Stage
from contracts.citations import LocalDefault, as_json
from contracts.vocabulary import (
    FUNDING_INDICATORS,
    INDICATORS,
    REPORTED_TARGET,
    UNMET_NEED_THEMES,
    Indicator,
    IndicatorSpec,
    Unit,
    default_target_label,
)

from . import stats
from .windows import Window, change

# ---------------------------------------------------------------------------------------------
# Overview
# ---------------------------------------------------------------------------------------------


def overview(areas: Sequence[str], totals: Iterable[Mapping], open_alerts: Mapping[str, int]) -> dict:
    """Per area and in total: events, findings, performance events, people affected, unmet-need
    findings, each with the previous window; open alerts. ``totals`` rows come from the rollup
    (area, type, events, events_prev, people, people_prev, unmet_need, unmet_need_prev)."""
    fields = (
        "events",
        "events_prev",
        "findings",
        "findings_prev",
        "performance",
        "performance_prev",
        "people",
        "people_prev",
        "unmet",
        "unmet_prev",
    )
    per: dict[str, dict[str, int]] = {a: dict.fromkeys(fields, 0) for a in areas}
    for r in totals:
        if r["area"] not in per:
            continue
        p = per[r["area"]]
        kind = "findings" if r["type"] == "finding" else "performance"
        p["events"] += r["events"]
        p["events_prev"] += r["events_prev"]
        p[kind] += r["events"]
        p[kind + "_prev"] += r["events_prev"]
        p["people"] += r["people"]
        p["people_prev"] += r["people_prev"]
        p["unmet"] += r.get("unmet_need", 0)
        p["unmet_prev"] += r.get("unmet_need_prev", 0)
    rows: list[dict[str, Any]] = []
    for code in areas:
        p = per[code]
        rows.append(
            {
                "area": code,
                "area_name": AREAS[code].name if code in AREAS else code,
                "region": AREAS[code].region.value if code in AREAS else None,
                "events": change(p["events"], p["events_prev"]),
                "findings": change(p["findings"], p["findings_prev"]),
                "performance_events": change(p["performance"], p["performance_prev"]),
                "people_affected": change(p["people"], p["people_prev"]),
                "unmet_need_findings": change(p["unmet"], p["unmet_prev"]),
                "open_alerts": int(open_alerts.get(code, 0)),
            }
        )

    def total(field: str) -> dict:
        return change(sum(r[field]["current"] for r in rows), sum(r[field]["previous"] for r in rows))

    return {
        "areas": rows,
        "totals": {
            f: total(f) for f in ("events", "findings", "performance_events", "people_affected", "unmet_need_findings")
        }
        | {"open_alerts": sum(r["open_alerts"] for r in rows)},
    }


def overview_table(view: dict) -> tuple[list[str], list[list]]:
    cols = [
        "area",
        "area_name",
        "events",
        "events_previous",
        "findings",
        "findings_previous",
        "performance_events",
        "performance_events_previous",
        "people_affected",
        "people_affected_previous",
        "unmet_need_findings",
        "unmet_need_findings_previous",
        "open_alerts",
    ]
    rows = [
        [
            r["area"],
            r["area_name"],
            r["events"]["current"],
            r["events"]["previous"],
            r["findings"]["current"],
            r["findings"]["previous"],
            r["performance_events"]["current"],
            r["performance_events"]["previous"],
            r["people_affected"]["current"],
            r["people_affected"]["previous"],
            r["unmet_need_findings"]["current"],
            r["unmet_need_findings"]["previous"],
            r["open_alerts"],
        ]
        for r in view["areas"]
    ]
    return cols, rows


# ---------------------------------------------------------------------------------------------
# Stages, competencies, CDW roles and the heat map, from signature counts
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CycleCounts:
    """Events per stage, competency, (stage, competency) cell and CDW role, now and before."""

    stages: dict[int, tuple[int, int]]
    competencies: dict[int, tuple[int, int]]
    cells: dict[tuple[int, int], tuple[int, int]]
    roles: dict[str, tuple[int, int]]
    findings: tuple[int, int]
    performance: tuple[int, int]


def _add(d: dict, key, cur: int, prev: int) -> None:
    c, p = d.get(key, (0, 0))
    d[key] = (c + cur, p + prev)


def expand_signatures(rows: Iterable[Mapping], event_type: str | None = None) -> CycleCounts:
    """An event counts once in every stage, competency, cell and role its signature names."""
    stages: dict = {}
    comps: dict = {}
    cells: dict = {}
    roles: dict = {}
    findings = [0, 0]
    performance = [0, 0]
    for r in rows:
        if event_type is not None and r["type"] != event_type:
            continue
        cur, prev = int(r["events"]), int(r["events_prev"])
        kind = findings if r["type"] == "finding" else performance
        kind[0] += cur
        kind[1] += prev
        for s in r["stages"]:
            _add(stages, int(s), cur, prev)
            for c in r["competencies"]:
                _add(cells, (int(s), int(c)), cur, prev)
        for c in r["competencies"]:
            _add(comps, int(c), cur, prev)
        for role in r["cdw_roles"]:
            _add(roles, role, cur, prev)
    return CycleCounts(stages, comps, cells, roles, (findings[0], findings[1]), (performance[0], performance[1]))


def by_stage(cc: CycleCounts) -> list[dict]:
    return [
        {
            "stage": int(s),
            "title": s.title,
            "events": cc.stages.get(int(s), (0, 0))[0],
            "previous": cc.stages.get(int(s), (0, 0))[1],
        }
        for s in Stage
    ]


def by_competency(cc: CycleCounts) -> list[dict]:
    return [
        {
            "competency": int(c),
            "title": c.title,
            "events": cc.competencies.get(int(c), (0, 0))[0],
            "previous": cc.competencies.get(int(c), (0, 0))[1],
        }
        for c in Competency
    ]


def by_cdw_role(cc: CycleCounts) -> list[dict]:
    return [
        {
            "cdw_role": r.value,
            "title": CDW_ROLES[r].title,
            "events": cc.roles.get(r.value, (0, 0))[0],
            "previous": cc.roles.get(r.value, (0, 0))[1],
        }
        for r in CDWRole
    ]


def heatmap_cells(cc: CycleCounts) -> list[dict]:
    """All 88 cells, gaps included: a gap (no evidence) is a finding too."""
    out = []
    for s in Stage:
        for c in Competency:
            cur, prev = cc.cells.get((int(s), int(c)), (0, 0))
            out.append(
                {
                    "stage": int(s),
                    "stage_title": s.title,
                    "competency": int(c),
                    "competency_title": c.title,
                    "events": cur,
                    "previous": prev,
                    "gap": cur == 0,
                }
            )
    return out


def gaps_summary(cells: Sequence[Mapping]) -> dict:
    stages_empty = [s.title for s in Stage if all(c["events"] == 0 for c in cells if c["stage"] == int(s))]
    comps_empty = [c.title for c in Competency if all(x["events"] == 0 for x in cells if x["competency"] == int(c))]
    return {
        "gap_cells": sum(1 for c in cells if c["gap"]),
        "cells": len(cells),
        "stages_without_evidence": stages_empty,
        "competencies_without_evidence": comps_empty,
    }


# ---------------------------------------------------------------------------------------------
# Unmet needs by community and theme
# ---------------------------------------------------------------------------------------------


def trend(current: int, previous: int) -> str:
    """Direction against the previous window, in words: new, rising, steady, falling, gone."""
    if previous == 0:
        return "new" if current > 0 else "none"
    if current == 0:
        return "gone"
    if current > previous:
        return "rising"
    if current < previous:
        return "falling"
    return "steady"


UNMET_SORTS = ("findings", "change", "people", "severity", "community", "theme")


def unmet_needs(rows: Iterable[Mapping], *, unmet_only: bool = False, sort: str = "findings") -> dict:
    """Findings per community x theme with trend; themes that name an unmet need are flagged
    (contracts.vocabulary.UNMET_NEED_THEMES). ``sort`` must be one of UNMET_SORTS."""
    if sort not in UNMET_SORTS:
        raise ValueError(f"sort must be one of {', '.join(UNMET_SORTS)}")
    unmet_values = {t.value for t in UNMET_NEED_THEMES}
    items = []
    for r in rows:
        if unmet_only and r["theme"] not in unmet_values:
            continue
        cur, prev = int(r["findings"]), int(r["findings_prev"])
        if cur == 0 and prev == 0:
            continue
        items.append(
            {
                "community": r["community"],
                "theme": r["theme"],
                "unmet_need_theme": r["theme"] in unmet_values,
                "findings": change(cur, prev),
                "people_affected": change(int(r["people"]), int(r["people_prev"])),
                "severity_weight": int(r["severity_weight"]),
                "high_severity": int(r["high_severity"]),
                "trend": trend(cur, prev),
            }
        )
    keys = {
        "findings": lambda i: (-i["findings"]["current"], i["community"], i["theme"]),
        "change": lambda i: (-i["findings"]["change"], i["community"], i["theme"]),
        "people": lambda i: (-i["people_affected"]["current"], i["community"], i["theme"]),
        "severity": lambda i: (-i["severity_weight"], i["community"], i["theme"]),
        "community": lambda i: (i["community"], i["theme"]),
        "theme": lambda i: (i["theme"], i["community"]),
    }
    items.sort(key=keys[sort])
    communities: dict[str, list[int]] = {}
    for i in items:
        c = communities.setdefault(i["community"], [0, 0, 0])
        c[0] += i["findings"]["current"]
        c[1] += i["findings"]["previous"]
        c[2] += i["findings"]["current"] if i["unmet_need_theme"] else 0
    by_community: list[dict[str, Any]] = sorted(
        (
            {"community": k, "findings": change(v[0], v[1]), "unmet_need_findings": v[2], "trend": trend(v[0], v[1])}
            for k, v in communities.items()
        ),
        key=lambda x: (-x["findings"]["current"], x["community"]),
    )
    return {"items": items, "by_community": by_community}


def unmet_table(view: dict) -> tuple[list[str], list[list]]:
    cols = [
        "community",
        "theme",
        "community_label",
        "theme_label",
        "unmet_need_theme",
        "findings",
        "findings_previous",
        "change",
        "change_pct",
        "trend",
        "people_affected",
        "people_affected_previous",
        "severity_weight",
        "high_severity",
    ]
    rows = [
        [
            i["community"],
            i["theme"],
            labels.label("community", i["community"]),
            labels.label("theme", i["theme"]),
            i["unmet_need_theme"],
            i["findings"]["current"],
            i["findings"]["previous"],
            i["findings"]["change"],
            i["findings"]["change_pct"],
            i["trend"],
            i["people_affected"]["current"],
            i["people_affected"]["previous"],
            i["severity_weight"],
            i["high_severity"],
        ]
        for i in view["items"]
    ]
    return cols, rows


# ---------------------------------------------------------------------------------------------
# Provider performance: target, SPC, region benchmark
# ---------------------------------------------------------------------------------------------

#: Indicators measured as a percentage with a numerator and denominator can be benchmarked.
PROPORTION_UNITS = frozenset({Unit.PERCENT})
#: An SPC chart is drawn over its history, whatever window the page shows: the last 24 months
#: (24 monthly points) or all there is. A local default: the seeds give no chart length; the
#: Health Care Data Guide asks for 20 to 30 points before limits settle.
SPC_HISTORY_MONTHS = 24
MAX_SPC_POINTS = SPC_HISTORY_MONTHS
#: The scale a measure can take, for the units that have one: SPC limits stay inside it.
UNIT_BOUNDS: dict[Unit, tuple[float, float]] = {Unit.PERCENT: (0.0, 100.0)}


def spc_history_start(window: Window, previous: Window) -> date:
    """The first day the performance series is read from: the first day of the month
    ``SPC_HISTORY_MONTHS`` months before the window's last month, or the previous window's start
    if that is earlier, so the chart has its history and the comparison its previous window."""
    months = window.end.year * 12 + window.end.month - 1 - SPC_HISTORY_MONTHS
    return min(previous.start, date(months // 12, months % 12 + 1, 1))


def meets_target(value: float | None, target: float | None, indicator: Indicator) -> bool | None:
    """None when there is no value or no target to judge it by."""
    if value is None or target is None:
        return None
    return INDICATORS[indicator].meets(value, target)


def target_origin(spec: IndicatorSpec, reported: bool) -> dict:
    """How a target is named and where it comes from, for the API, the CSV and the dashboard:
    ``target_label`` ("local target" for a figure the seeds do not give, "reported target" for
    one sent with the figures, "target" for one a seed gives), ``target_source`` ("event",
    "local default" or the seed's ``file:line``) and ``target_cites`` (the quote or the reason).
    """
    if reported:
        return {"target_label": REPORTED_TARGET, "target_source": "event", "target_cites": []}
    source = spec.target_source
    if spec.default_target is None or source is None:
        return {"target_label": None, "target_source": None, "target_cites": []}
    return {
        "target_label": default_target_label(spec),
        "target_source": source.source if isinstance(source, LocalDefault) else source.ref,
        "target_cites": as_json([source]),
    }


def _pooled(points: Sequence[Mapping]) -> tuple[int | None, int | None]:
    pairs = [
        (p["numerator"], p["denominator"]) for p in points if p.get("numerator") is not None and p.get("denominator")
    ]
    if not pairs:
        return None, None
    return sum(n for n, _ in pairs), sum(d for _, d in pairs)


def _spc_dict(result: stats.SpcResult) -> dict:
    lim = result.limits
    return {
        "mean": lim.mean,
        "lower_process_limit": lim.lower_process_limit,
        "upper_process_limit": lim.upper_process_limit,
        "points_used": lim.points_used,
        "trial_limits": lim.trial,
        "variation": result.variation.value,
        "assurance": result.assurance.value,
        "special_cause_points": result.special_cause_count,
        "points": [
            {
                "index": p.index,
                "value": p.value,
                "special_cause": p.special_cause,
                "point_type": p.point_type.value,
                "rules": sorted(r.value for r in p.rules),
            }
            for p in result.points
        ],
    }


def spc_of(values: Sequence[float], indicator: Indicator, target: float | None) -> stats.SpcResult | None:
    """The MDC chart for a series (its last ``MAX_SPC_POINTS``), or None with fewer than two
    points; a percentage's limits stay within 0 to 100."""
    if len(values) < 2:
        return None
    return stats.spc(
        list(values)[-MAX_SPC_POINTS:],
        stats.polarity_of(indicator),
        target,
        bounds=UNIT_BOUNDS.get(INDICATORS[indicator].unit),
    )


def performance(
    series_rows: Iterable[Mapping], cur: Window, prev: Window, region_pools: Mapping[tuple[str, str], tuple[int, int]]
) -> list[dict]:
    """One item per area x provider x indicator x community: the latest value in the window
    against target, the window's pooled proportion against the previous window and the region
    benchmark (Wilson, Fingertips-style), and the SPC chart over the series up to the window end."""
    groups: dict[tuple, list[Mapping]] = {}
    for r in series_rows:
        try:
            ind = Indicator(r["indicator"])
        except ValueError:
            continue
        if ind in FUNDING_INDICATORS:
            continue
        groups.setdefault((r["area"], r["provider_id"], r["indicator"], r["community"]), []).append(r)
    items = []
    for (area, provider, indicator_name, community), points in sorted(groups.items()):
        ind = Indicator(indicator_name)
        spec = INDICATORS[ind]
        points = sorted(points, key=lambda p: (p["period_start"], p["period_end"]))
        in_window = [p for p in points if cur.start <= p["period_end"] <= cur.end]
        in_prev = [p for p in points if prev.start <= p["period_end"] <= prev.end]
        latest = in_window[-1] if in_window else None
        reported = next((p["target"] for p in reversed(points) if p["target"] is not None), None)
        target = reported if reported is not None else spec.default_target
        polarity = stats.polarity_of(ind)
        num, den = _pooled(in_window)
        pnum, pden = _pooled(in_prev)
        region = points[-1]["region"]
        bench = region_pools.get((region, indicator_name))
        benchmark = stats.pooled_proportion([bench]) if bench else None
        comparison = (
            stats.compare_with_benchmark(num, den, benchmark, polarity) if spec.unit in PROPORTION_UNITS else None
        )
        values = [float(p["value"]) for p in points]
        result = spc_of(values, ind, target)
        items.append(
            {
                "area": area,
                "provider_id": provider,
                "provider_name": points[-1]["provider_name"],
                "sector": points[-1]["sector"],
                "indicator": indicator_name,
                "indicator_title": spec.title,
                "unit": spec.unit.value,
                "community": community or None,
                "higher_is_better": spec.higher_is_better,
                "target": target,
                **target_origin(spec, reported is not None),
                "latest": None
                if latest is None
                else {
                    "period_start": latest["period_start"].isoformat(),
                    "period_end": latest["period_end"].isoformat(),
                    "value": latest["value"],
                    "numerator": latest["numerator"],
                    "denominator": latest["denominator"],
                },
                "meets_target": meets_target(latest["value"] if latest else None, target, ind),
                "window": {
                    "periods": len(in_window),
                    "numerator": num,
                    "denominator": den,
                    "proportion": stats.proportion(num, den),
                },
                "previous_window": {
                    "periods": len(in_prev),
                    "numerator": pnum,
                    "denominator": pden,
                    "proportion": stats.proportion(pnum, pden),
                },
                "benchmark": None
                if comparison is None
                else {
                    "region": region,
                    "value": comparison.benchmark,
                    "significance": comparison.significance.value,
                    "level": comparison.level,
                    "interval_95": None
                    if comparison.interval_95 is None
                    else [comparison.interval_95.lower, comparison.interval_95.upper],
                    "reason": comparison.reason,
                },
                "series": [
                    {
                        "period_start": p["period_start"].isoformat(),
                        "period_end": p["period_end"].isoformat(),
                        "value": p["value"],
                        "target": p["target"],
                        "numerator": p["numerator"],
                        "denominator": p["denominator"],
                        "event_id": str(p["event_id"]),
                    }
                    for p in points[-MAX_SPC_POINTS:]
                ],
                "spc": None if result is None else _spc_dict(result),
            }
        )
    return items


def performance_table(items: Sequence[Mapping]) -> tuple[list[str], list[list]]:
    cols = [
        "area",
        "provider_id",
        "provider_name",
        "sector",
        "indicator",
        "indicator_label",
        "community",
        "unit",
        "target",
        "target_label",
        "target_source",
        "latest_period_end",
        "latest_value",
        "meets_target",
        "window_numerator",
        "window_denominator",
        "window_proportion",
        "previous_proportion",
        "region_benchmark",
        "significance",
        "spc_mean",
        "spc_lower_limit",
        "spc_upper_limit",
        "spc_variation",
        "spc_assurance",
        "special_cause_points",
        "periods",
    ]
    rows = []
    for i in items:
        s, b, latest = i["spc"], i["benchmark"], i["latest"]
        rows.append(
            [
                i["area"],
                i["provider_id"],
                i["provider_name"],
                i["sector"],
                i["indicator"],
                labels.label("indicator", i["indicator"]),
                i["community"],
                i["unit"],
                i["target"],
                i["target_label"],
                i["target_source"],
                latest and latest["period_end"],
                latest and latest["value"],
                i["meets_target"],
                i["window"]["numerator"],
                i["window"]["denominator"],
                i["window"]["proportion"],
                i["previous_window"]["proportion"],
                b and b["value"],
                b and b["significance"],
                s and s["mean"],
                s and s["lower_process_limit"],
                s and s["upper_process_limit"],
                s and s["variation"],
                s and s["assurance"],
                s and s["special_cause_points"],
                len(i["series"]),
            ]
        )
    return cols, rows


# ---------------------------------------------------------------------------------------------
# Data completeness
# ---------------------------------------------------------------------------------------------


def months_in(window: Window) -> list[date]:
    """First days of the calendar months whose whole span lies in the window (at least the one
    the window ends in, so a short window still expects something)."""
    out = []
    d = date(window.start.year, window.start.month, 1)
    while d <= window.end:
        last = date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])
        if d >= window.start and last <= window.end:
            out.append(d)
        d = last + timedelta(days=1)
    if not out:
        out.append(date(window.end.year, window.end.month, 1))
    return out


def completeness(reported_months: Iterable[date], window: Window) -> dict:
    """How many of the window's whole months a provider reported for (any indicator)."""
    expected = months_in(window)
    got = {date(m.year, m.month, 1) for m in reported_months}
    covered = [m for m in expected if m in got]
    pct = round(100.0 * len(covered) / len(expected), 1) if expected else None
    return {
        "expected_periods": len(expected),
        "reported_periods": len(covered),
        "percent": pct,
        "missing": [m.isoformat() for m in expected if m not in got],
    }


def provider_completeness(rows: Iterable[Mapping], window: Window) -> list[dict]:
    return [
        {
            "area": r["area"],
            "provider_id": r["provider_id"],
            "provider_name": r["provider_name"],
            "sector": r["sector"],
            "indicators": r["indicators"],
            "last_period_end": r["last_period_end"].isoformat() if r["last_period_end"] else None,
            **completeness(r["months"] or [], window),
        }
        for r in rows
    ]


def completeness_table(items: Sequence[Mapping]) -> tuple[list[str], list[list]]:
    cols = [
        "area",
        "provider_id",
        "provider_name",
        "sector",
        "indicators",
        "expected_periods",
        "reported_periods",
        "percent",
        "last_period_end",
        "missing",
    ]
    return cols, [
        [
            i["area"],
            i["provider_id"],
            i["provider_name"],
            i["sector"],
            i["indicators"],
            i["expected_periods"],
            i["reported_periods"],
            i["percent"],
            i["last_period_end"],
            " ".join(i["missing"]),
        ]
        for i in items
    ]


# ---------------------------------------------------------------------------------------------
# Voluntary provider funding
# ---------------------------------------------------------------------------------------------

CONTRACT_ENDING_DAYS = 90


def funding_item(row: Mapping, today: date, ending_within: int = CONTRACT_ENDING_DAYS) -> dict:
    committed, required = row.get("funding_committed_gbp"), row.get("funding_required_gbp")
    gap = None if committed is None or required is None else max(0.0, required - committed)
    end = row.get("contract_end_date")
    days_left = None if end is None else (end - today).days
    return {
        "area": row["area"],
        "provider_id": row["provider_id"],
        "provider_name": row["provider_name"],
        "funding_committed_gbp": committed,
        "funding_required_gbp": required,
        "funding_gap_gbp": gap,
        "funded_percent": None if not required or committed is None else round(100.0 * committed / required, 1),
        "period_start": row["period_start"].isoformat() if row.get("period_start") else None,
        "period_end": row["period_end"].isoformat() if row.get("period_end") else None,
        "contract_end_date": end.isoformat() if end else None,
        "days_to_contract_end": days_left,
        "contract_ending_soon": days_left is not None and 0 <= days_left <= ending_within,
        "contract_ended": days_left is not None and days_left < 0,
        "renewal_recorded": row.get("renewal_recorded"),
        "payment_days_overdue": row.get("payment_days_overdue"),
    }


def funding(rows: Iterable[Mapping], today: date) -> dict:
    items = [funding_item(r, today) for r in rows]
    items.sort(
        key=lambda i: (
            -(i["funding_gap_gbp"] or 0),
            i["days_to_contract_end"] if i["days_to_contract_end"] is not None else 10**6,
            i["area"],
            i["provider_id"],
        )
    )
    return {
        "items": items,
        "totals": {
            "providers": len(items),
            "committed_gbp": sum(i["funding_committed_gbp"] or 0 for i in items),
            "required_gbp": sum(i["funding_required_gbp"] or 0 for i in items),
            "gap_gbp": sum(i["funding_gap_gbp"] or 0 for i in items),
            "with_gap": sum(1 for i in items if (i["funding_gap_gbp"] or 0) > 0),
            "contracts_ending_soon": sum(1 for i in items if i["contract_ending_soon"]),
            "payments_overdue": sum(1 for i in items if (i["payment_days_overdue"] or 0) > 0),
        },
    }


def funding_table(view: dict) -> tuple[list[str], list[list]]:
    cols = [
        "area",
        "provider_id",
        "provider_name",
        "funding_committed_gbp",
        "funding_required_gbp",
        "funding_gap_gbp",
        "funded_percent",
        "period_start",
        "period_end",
        "contract_end_date",
        "days_to_contract_end",
        "contract_ending_soon",
        "renewal_recorded",
        "payment_days_overdue",
    ]
    return cols, [[i[c] for c in cols] for i in view["items"]]


# ---------------------------------------------------------------------------------------------
# Alerts
# ---------------------------------------------------------------------------------------------


def age_text(seconds: float) -> str:
    if seconds < 3600:
        return f"{max(0, int(seconds // 60))} min"
    if seconds < 86400 * 2:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} days"


def alert_items(rows: Iterable[Mapping], now: datetime) -> list[dict]:
    out = []
    for r in rows:
        age = (now - r["starts_at"]).total_seconds()
        out.append(
            {
                "fingerprint": r["fingerprint"],
                "rule": r["rule"],
                "area": r["area"],
                "region": r["region"],
                "subject": r["subject"],
                "severity": r["severity"],
                "state": r["status"],
                "summary": r["summary"],
                "stages": list(r["stages"]),
                "competencies": list(r["competencies"]),
                "event_ids": [str(e) for e in r["event_ids"]],
                "starts_at": r["starts_at"].isoformat(),
                "updated_at": r["updated_at"].isoformat(),
                "ends_at": r["ends_at"].isoformat() if r["ends_at"] else None,
                "age_seconds": int(age),
                "age": age_text(age),
                "title": labels.alert_title(r["rule"], r["subject"], provider_name=r.get("provider_name")),
            }
        )
    return out


def alerts_table(items: Sequence[Mapping]) -> tuple[list[str], list[list]]:
    cols = [
        "fingerprint",
        "area",
        "rule",
        "subject",
        "title",
        "severity",
        "state",
        "age",
        "age_seconds",
        "starts_at",
        "updated_at",
        "summary",
        "event_ids",
    ]
    return cols, [
        [
            i["fingerprint"],
            i["area"],
            i["rule"],
            i["subject"],
            i["title"],
            i["severity"],
            i["state"],
            i["age"],
            i["age_seconds"],
            i["starts_at"],
            i["updated_at"],
            i["summary"],
            " ".join(i["event_ids"]),
        ]
        for i in items
    ]


# ---------------------------------------------------------------------------------------------
# Drill-down
# ---------------------------------------------------------------------------------------------


def finding_items(rows: Iterable[Mapping]) -> list[dict]:
    """The events behind a cell: ids, summaries, community, theme. No personal data exists to show."""
    return [
        {
            "event_id": str(r["event_id"]),
            "type": r["type"],
            "occurred_at": r["occurred_at"].isoformat(),
            "area": r["area"],
            "source": r["source"],
            "community": r["community"],
            "theme": r["theme"],
            "severity": r["severity"],
            "people_affected": r["people_affected"],
            "summary": r["summary"],
            "provider_id": r["provider_id"],
            "indicator": r["indicator"],
            "value": r["value"],
            "stages": list(r["stages"]),
            "competencies": list(r["competencies"]),
            "cdw_roles": list(r["cdw_roles"]),
        }
        for r in rows
    ]


def findings_table(items: Sequence[Mapping]) -> tuple[list[str], list[list]]:
    cols = [
        "event_id",
        "type",
        "occurred_at",
        "area",
        "source",
        "community",
        "theme",
        "community_label",
        "theme_label",
        "severity",
        "people_affected",
        "summary",
        "provider_id",
        "indicator",
        "indicator_label",
        "value",
        "stages",
        "competencies",
        "cdw_roles",
    ]
    return cols, [
        [
            i["event_id"],
            i["type"],
            i["occurred_at"],
            i["area"],
            i["source"],
            i["community"],
            i["theme"],
            labels.label("community", i["community"]),
            labels.label("theme", i["theme"]),
            i["severity"],
            i["people_affected"],
            i["summary"],
            i["provider_id"],
            i["indicator"],
            labels.label("indicator", i["indicator"]),
            i["value"],
            " ".join(map(str, i["stages"])),
            " ".join(map(str, i["competencies"])),
            " ".join(i["cdw_roles"]),
        ]
        for i in items
    ]
