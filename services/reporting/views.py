"""Each dashboard view, read from the rollups and shaped by the pure domain: shared by the JSON
API, the CSV export and the HTML dashboard, so all three always show the same figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from contracts.places import AREAS

from .adapters.store import ReportingStore
from .domain import reports
from .domain.windows import Window, change


@dataclass(frozen=True)
class Query:
    """Who asked about what: the areas in scope (already authorised) and the windows."""

    areas: list[str]
    window: Window
    previous: Window
    region: str | None = None

    def header(self, data_as_of: datetime | None) -> dict:
        return {
            "areas": self.areas,
            "region": self.region,
            "window": self.window.as_dict(),
            "previous_window": self.previous.as_dict(),
            "data_as_of": data_as_of.isoformat() if data_as_of else None,
        }


Table = tuple[list[str], list[list]]


async def summary(s: ReportingStore, q: Query) -> tuple[dict, Table]:
    totals = await s.area_totals(q.areas, q.window, q.previous)
    cc = reports.expand_signatures(await s.signature_counts(q.areas, q.window, q.previous))
    cur = {"events": 0, "findings": 0, "performance": 0, "people": 0}
    prev = dict(cur)
    for r in totals:
        kind = "findings" if r["type"] == "finding" else "performance"
        cur["events"] += r["events"]
        prev["events"] += r["events_prev"]
        cur[kind] += r["events"]
        prev[kind] += r["events_prev"]
        cur["people"] += r["people"]
        prev["people"] += r["people_prev"]
    stages, comps = reports.by_stage(cc), reports.by_competency(cc)
    body = q.header(await s.data_as_of(q.areas)) | {
        "events": change(cur["events"], prev["events"]),
        "findings": change(cur["findings"], prev["findings"]),
        "performance_events": change(cur["performance"], prev["performance"]),
        "people_affected": cur["people"],
        "people_affected_change": change(cur["people"], prev["people"]),
        "by_stage": stages,
        "by_competency": comps,
        "by_cdw_role": reports.by_cdw_role(cc),
    }
    table = (
        ["dimension", "number", "title", "events", "previous"],
        [["stage", x["stage"], x["title"], x["events"], x["previous"]] for x in stages]
        + [["competency", x["competency"], x["title"], x["events"], x["previous"]] for x in comps],
    )
    return body, table


async def overview(s: ReportingStore, q: Query) -> tuple[dict, Table]:
    totals = await s.area_totals(q.areas, q.window, q.previous)
    alerts = await s.open_alert_counts(q.areas)
    view = reports.overview(q.areas, totals, alerts)
    return q.header(await s.data_as_of(q.areas)) | view, reports.overview_table(view)


async def heatmap(
    s: ReportingStore,
    q: Query,
    *,
    community: str | None = None,
    theme: str | None = None,
    event_type: str | None = None,
) -> tuple[dict, Table]:
    rows = await s.signature_counts(q.areas, q.window, q.previous, community=community, theme=theme)
    cc = reports.expand_signatures(rows, event_type)
    cells = reports.heatmap_cells(cc)
    body = q.header(await s.data_as_of(q.areas)) | {
        "filters": {"community": community, "theme": theme, "type": event_type},
        "events": change(cc.findings[0] + cc.performance[0], cc.findings[1] + cc.performance[1]),
        "cells": cells,
        "gaps": reports.gaps_summary(cells),
    }
    cols = ["stage", "stage_title", "competency", "competency_title", "events", "previous", "gap"]
    return body, (cols, [[c[k] for k in cols] for c in cells])


async def unmet_needs(
    s: ReportingStore, q: Query, *, unmet_only: bool = False, sort: str = "findings"
) -> tuple[dict, Table]:
    view = reports.unmet_needs(await s.community_theme(q.areas, q.window, q.previous), unmet_only=unmet_only, sort=sort)
    return q.header(await s.data_as_of(q.areas)) | view, reports.unmet_table(view)


async def performance(
    s: ReportingStore, q: Query, *, indicator: str | None = None, provider: str | None = None
) -> tuple[dict, Table]:
    rows = await s.series(
        q.areas, q.window.end, reports.spc_history_start(q.window, q.previous), indicator=indicator, provider=provider
    )
    regions = sorted({AREAS[a].region.value for a in q.areas if a in AREAS})
    indicators = sorted({r["indicator"] for r in rows})
    pools = await s.region_pools(regions, indicators, q.window) if rows else {}
    items = reports.performance(rows, q.window, q.previous, pools)
    completeness = reports.provider_completeness(await s.provider_periods(q.areas, q.window), q.window)
    body = q.header(await s.data_as_of(q.areas)) | {"items": items, "completeness": completeness}
    return body, reports.performance_table(items)


async def completeness(s: ReportingStore, q: Query) -> tuple[dict, Table]:
    items = reports.provider_completeness(await s.provider_periods(q.areas, q.window), q.window)
    return q.header(await s.data_as_of(q.areas)) | {"items": items}, reports.completeness_table(items)


async def funding(s: ReportingStore, q: Query) -> tuple[dict, Table]:
    view = reports.funding(await s.funding(q.areas, q.window.end), datetime.now(timezone.utc).date())
    return q.header(await s.data_as_of(q.areas)) | view, reports.funding_table(view)


async def alerts(
    s: ReportingStore, q: Query, *, include_resolved: bool = False, sort: str = "age"
) -> tuple[dict, Table]:
    items = reports.alert_items(
        await s.alerts(q.areas, include_resolved=include_resolved, sort=sort), datetime.now(timezone.utc)
    )
    counts: dict[str, int] = {}
    for i in items:
        counts[i["state"]] = counts.get(i["state"], 0) + 1
    body = q.header(await s.data_as_of(q.areas)) | {"items": items, "counts": counts}
    return body, reports.alerts_table(items)


async def findings(
    s: ReportingStore, q: Query, *, limit: int = 200, offset: int = 0, sort: str = "newest", **filters
) -> tuple[dict, Table]:
    total, rows = await s.findings(q.areas, q.window, sort=sort, limit=limit, offset=offset, **filters)
    items = reports.finding_items(rows)
    body = q.header(await s.data_as_of(q.areas)) | {
        "filters": {k: v for k, v in filters.items() if v is not None},
        "total": total,
        "limit": limit,
        "offset": offset,
        "items": items,
    }
    return body, reports.findings_table(items)
