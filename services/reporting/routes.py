"""Reporting JSON API, with a CSV export of every table: commissioners read their granted areas;
operators read all.

Every report takes ``area`` or ``region`` (neither: every area the caller may read) and a window:
``days`` (7, 30, 90 or any 1..3660, default 30) or ``from`` and ``to``; each answer carries the
previous window of the same length. ``?format=csv`` or the ``.csv`` path gives the report's main
table as ``text/csv`` with a header row.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from contracts.places import AREAS, Region, areas_in
from contracts.taxonomy import CDWRole
from contracts.vocabulary import Community, Indicator, Theme
from services.common.auth import Principal
from services.common.problems import API_PROBLEMS, Problem, problem_responses

from . import views
from .access import reader
from .adapters.store import ORDER_BY
from .domain import windows
from .domain.csvout import to_csv
from .domain.reports import UNMET_SORTS

router = APIRouter(tags=["reports"], responses=problem_responses(API_PROBLEMS))

AreaQ = Annotated[str | None, Query(pattern=r"^[A-Z]{2,5}$", description="Commissioning area code.")]
DaysQ = Annotated[int | None, Query(ge=1, le=windows.MAX_DAYS, description="Rolling window in days (7, 30, 90...).")]
FromQ = Annotated[date | None, Query(alias="from", description="Custom window: first day.")]
ToQ = Annotated[date | None, Query(alias="to", description="Custom window: last day.")]
FormatQ = Annotated[Literal["json", "csv"] | None, Query(description="csv: the main table as CSV.")]


def scope(p: Principal, area: str | None, region: Region | None) -> list[str]:
    if area is not None:
        if area not in AREAS:
            raise Problem(
                422,
                "Invalid query",
                errors=[{"field": "area", "pointer": "#/area", "reason": f"unknown area code '{area}'"}],
            )
        if region is not None and AREAS[area].region is not region:
            raise Problem(
                422,
                "Invalid query",
                errors=[
                    {"field": "area", "pointer": "#/area", "reason": f"area '{area}' is not in region '{region.value}'"}
                ],
            )
        if not p.may_read_area(area):
            raise Problem(403, "Forbidden", f"this key is not granted area '{area}'")
        return [area]
    candidates = [a.code for a in areas_in(region)] if region else list(AREAS)
    allowed = [a for a in candidates if p.may_read_area(a)]
    if not allowed:
        raise Problem(403, "Forbidden", "this key is not granted any area in that scope")
    return allowed


def window_of(days: int | None, start: date | None, end: date | None) -> windows.Window:
    """The report's window from the query, or a 422 naming the parameter (see domain.windows for
    the range a window may lie in)."""
    today = datetime.now(timezone.utc).date()
    try:
        if start or end:
            if not (start and end):
                missing = "to" if start else "from"
                raise windows.WindowError(missing, "give both 'from' and 'to' for a custom window")
            return windows.custom(start, end, today)
        return windows.rolling(days or 30, today)
    except windows.WindowError as exc:
        raise Problem(
            422,
            "Invalid query",
            exc.reason,
            errors=[{"field": exc.field, "pointer": f"#/{exc.field}", "reason": exc.reason}],
        ) from exc


def build_query(
    who: Principal, area: str | None, region: Region | None, days: int | None, start: date | None, end: date | None
) -> views.Query:
    areas = scope(who, area, region)
    win = window_of(days, start, end)
    return views.Query(areas, win, win.previous(), region.value if region else None)


async def report_query(
    who: Annotated[Principal, Depends(reader)],
    area: AreaQ = None,
    region: Region | None = None,
    days: DaysQ = None,
    start: FromQ = None,
    end: ToQ = None,
) -> views.Query:
    """What every report is asked for: who asks, for which areas, over which window."""
    return build_query(who, area, region, days, start, end)


ReportQ = Annotated[views.Query, Depends(report_query)]


def wants_csv(request: Request, fmt: str | None) -> bool:
    return fmt == "csv" or request.url.path.endswith(".csv")


def answer(request: Request, fmt: str | None, name: str, result: tuple[dict, views.Table]):
    body, (columns, rows) = result
    if wants_csv(request, fmt):
        stamp = body["window"]["from"] + "_" + body["window"]["to"]
        return Response(
            to_csv(columns, rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}_{stamp}.csv"', "Cache-Control": "no-store"},
        )
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def _sort(kind: str, value: str) -> str:
    if value not in ORDER_BY[kind]:
        raise Problem(
            422,
            "Invalid query",
            errors=[
                {"field": "sort", "pointer": "#/sort", "reason": f"sort must be one of {', '.join(ORDER_BY[kind])}"}
            ],
        )
    return value


def both(path: str, summary: str, on: APIRouter = router):
    """Register a report under ``path`` and ``path.csv`` on the router ``on``."""

    def register(fn):
        on.get(path + ".csv", summary=summary + " (CSV)", include_in_schema=True)(fn)
        return on.get(path, summary=summary)(fn)

    return register


@both("/v1/reports/summary", "Events, stages and competencies for a window, with the previous window")
async def summary(request: Request, q: ReportQ, format: FormatQ = None):
    return answer(request, format, "summary", await views.summary(request.app.state.store, q))


@both("/v1/reports/overview", "A region and its areas: events, findings, people, unmet needs, open alerts")
async def overview(request: Request, q: ReportQ, format: FormatQ = None):
    return answer(request, format, "overview", await views.overview(request.app.state.store, q))


@both("/v1/reports/heatmap", "Stage x competency evidence counts; empty cells are gaps")
async def heatmap(
    request: Request,
    q: ReportQ,
    community: Community | None = None,
    theme: Theme | None = None,
    type: Literal["finding", "performance"] | None = None,
    format: FormatQ = None,
):
    result = await views.heatmap(
        request.app.state.store,
        q,
        community=community and community.value,
        theme=theme and theme.value,
        event_type=type,
    )
    return answer(request, format, "heatmap", result)


@both("/v1/reports/unmet-needs", "Findings by community and theme, with the trend against the previous window")
async def unmet_needs(
    request: Request,
    q: ReportQ,
    unmet_only: bool = False,
    sort: Annotated[Literal[UNMET_SORTS], Query()] = "findings",  # type: ignore[valid-type]
    format: FormatQ = None,
):
    result = await views.unmet_needs(request.app.state.store, q, unmet_only=unmet_only, sort=sort)
    return answer(request, format, "unmet_needs", result)


@both("/v1/reports/performance", "Provider performance per indicator: target, SPC chart, region benchmark")
async def performance(
    request: Request,
    q: ReportQ,
    indicator: Indicator | None = None,
    provider: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")] = None,
    format: FormatQ = None,
):
    result = await views.performance(
        request.app.state.store, q, indicator=indicator and indicator.value, provider=provider
    )
    return answer(request, format, "performance", result)


@both("/v1/reports/completeness", "Per provider: how many of the window's months it reported for")
async def completeness(request: Request, q: ReportQ, format: FormatQ = None):
    return answer(request, format, "completeness", await views.completeness(request.app.state.store, q))


@both("/v1/reports/funding", "Voluntary providers: funding committed against required, contracts ending soon")
async def funding(request: Request, q: ReportQ, format: FormatQ = None):
    return answer(request, format, "funding", await views.funding(request.app.state.store, q))


@both("/v1/reports/alerts", "Open alerts with their age and state")
async def alerts(
    request: Request,
    who: Annotated[Principal, Depends(reader)],
    area: AreaQ = None,
    region: Region | None = None,
    include_resolved: bool = False,
    sort: str = "age",
    format: FormatQ = None,
):
    q = build_query(who, area, region, None, None, None)
    result = await views.alerts(
        request.app.state.store, q, include_resolved=include_resolved, sort=_sort("alerts", sort)
    )
    return answer(request, format, "alerts", result)


@both("/v1/reports/findings", "Drill-down: the findings and events behind a dashboard cell")
async def findings(
    request: Request,
    q: ReportQ,
    stage: Annotated[int | None, Query(ge=1, le=8)] = None,
    competency: Annotated[int | None, Query(ge=1, le=11)] = None,
    community: Community | None = None,
    theme: Theme | None = None,
    cdw_role: CDWRole | None = None,
    type: Literal["finding", "performance"] | None = None,
    provider: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")] = None,
    sort: str = "newest",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    format: FormatQ = None,
):
    result = await views.findings(
        request.app.state.store,
        q,
        limit=limit,
        offset=offset,
        sort=_sort("findings", sort),
        stage=stage,
        competency=competency,
        community=community and community.value,
        theme=theme and theme.value,
        cdw_role=cdw_role and cdw_role.value,
        event_type=type,
        provider=provider,
    )
    return answer(request, format, "findings", result)
