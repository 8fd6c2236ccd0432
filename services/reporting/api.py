"""Reporting JSON API: commissioners read their granted areas; operators read all."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from contracts.places import AREAS, Region, areas_in
from contracts.taxonomy import Competency, Stage
from services.common.auth import Principal, Role
from services.common.http import authenticate
from services.common.problems import Problem

from .domain import windows

router = APIRouter(tags=["reports"])


async def reader(request: Request) -> Principal:
    p = await authenticate(request)
    if p.role not in (Role.COMMISSIONER, Role.OPERATOR):
        raise Problem(403, "Forbidden", "reports are for commissioners and operators")
    return p


def scope(p: Principal, area: str | None, region: Region | None) -> list[str]:
    if area is not None:
        if area not in AREAS:
            raise Problem(422, "Invalid query", errors=[{"field": "area", "pointer": "#/area",
                                                         "reason": f"unknown area code '{area}'"}])
        if not p.may_read_area(area):
            raise Problem(403, "Forbidden", f"this key is not granted area '{area}'")
        return [area]
    candidates = [a.code for a in areas_in(region)] if region else list(AREAS)
    allowed = [a for a in candidates if p.may_read_area(a)]
    if not allowed:
        raise Problem(403, "Forbidden", "this key is not granted any area in that scope")
    return allowed


def window_of(days: int | None, start: date | None, end: date | None) -> windows.Window:
    try:
        if start or end:
            if not (start and end):
                raise ValueError("give both 'from' and 'to' for a custom window")
            return windows.custom(start, end)
        return windows.rolling(days or 30, datetime.now(timezone.utc).date())
    except ValueError as exc:
        raise Problem(422, "Invalid query", str(exc),
                      errors=[{"field": "window", "pointer": "#/window", "reason": str(exc)}]) from exc


@router.get("/v1/reports/summary", summary="Events, stages and competencies for a window, with the previous window")
async def summary(
    request: Request,
    who: Annotated[Principal, Depends(reader)],
    area: Annotated[str | None, Query(pattern=r"^[A-Z]{2,5}$")] = None,
    region: Region | None = None,
    days: Annotated[int | None, Query(ge=1, le=3660)] = None,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> dict:
    areas = scope(who, area, region)
    win = window_of(days, start, end)
    prev = win.previous()
    s = request.app.state.store
    cur_counts, prev_counts = await s.counts(areas, win), await s.counts(areas, prev)
    stages, comps = await s.by_stage(areas, win), await s.by_competency(areas, win)
    return {
        "areas": areas,
        "window": win.as_dict(),
        "previous_window": prev.as_dict(),
        "data_as_of": cur_counts["as_of"].isoformat() if cur_counts["as_of"] else None,
        "events": windows.change(cur_counts["events"], prev_counts["events"]),
        "findings": windows.change(cur_counts["findings"], prev_counts["findings"]),
        "performance_events": windows.change(cur_counts["performance"], prev_counts["performance"]),
        "people_affected": cur_counts["people_affected"],
        "by_stage": [{"stage": int(st), "title": st.title, "events": stages.get(int(st), 0)} for st in Stage],
        "by_competency": [{"competency": int(c), "title": c.title, "events": comps.get(int(c), 0)}
                          for c in Competency],
    }


@router.get("/v1/reports/heatmap", summary="Stage x competency evidence counts; empty cells are gaps")
async def heatmap(
    request: Request,
    who: Annotated[Principal, Depends(reader)],
    area: Annotated[str | None, Query(pattern=r"^[A-Z]{2,5}$")] = None,
    region: Region | None = None,
    days: Annotated[int | None, Query(ge=1, le=3660)] = None,
) -> dict:
    areas = scope(who, area, region)
    win = window_of(days, None, None)
    cells = {(c["stage"], c["competency"]): c["events"]
             for c in await request.app.state.store.stage_competency(areas, win)}
    return {"areas": areas, "window": win.as_dict(),
            "cells": [{"stage": int(s), "competency": int(c), "events": cells.get((int(s), int(c)), 0)}
                      for s in Stage for c in Competency]}
