"""Dashboard views built by the pure reporting domain from plain rows, with hostile text in every
free-text field a partner can send (community, theme, provider name, summary), for the page tests."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

from services.reporting.domain import reports
from services.reporting.domain.windows import Window

HOSTILE = "<script>alert(\"x\")</script> & 'quoted'"
TODAY = date(2026, 3, 31)
NOW = datetime(2026, 3, 31, 12, tzinfo=timezone.utc)
WINDOW = Window(date(2026, 3, 2), TODAY)
AREAS = ["BSOL", "ARDN"]


def header(areas=AREAS) -> dict:
    return {
        "areas": areas,
        "region": None,
        "window": WINDOW.as_dict(),
        "previous_window": WINDOW.previous().as_dict(),
        "data_as_of": "2026-03-31T11:59:58.123456+00:00",
    }


def overview() -> dict:
    totals = [
        {
            "area": "BSOL",
            "type": "finding",
            "events": 1234,
            "events_prev": 1000,
            "people": 30,
            "people_prev": 3,
            "unmet_need": 3,
            "unmet_need_prev": 1,
        },
        {"area": "BSOL", "type": "performance", "events": 2, "events_prev": 2, "people": 0, "people_prev": 0},
        {"area": "ARDN", "type": "finding", "events": 1, "events_prev": 4, "people": 2, "people_prev": 0},
    ]
    return header() | reports.overview(AREAS, totals, {"BSOL": 2})


def completeness() -> dict:
    rows = [
        {
            "area": "BSOL",
            "provider_id": "p1",
            "provider_name": HOSTILE,
            "sector": "voluntary",
            "indicators": ["four_week_wait"],
            "last_period_end": date(2026, 3, 28),
            "months": [date(2026, 3, 1)],
        },
        {
            "area": "ARDN",
            "provider_id": "p2",
            "provider_name": "Pattigift",
            "sector": "nhs",
            "indicators": [],
            "last_period_end": None,
            "months": [],
        },
    ]
    return header() | {"items": reports.provider_completeness(rows, WINDOW)}


def heatmap() -> dict:
    rows = [
        {
            "type": "finding",
            "stages": [1, 2],
            "competencies": [2, 5],
            "cdw_roles": ["change_agent"],
            "events": 7,
            "events_prev": 2,
        },
        {"type": "performance", "stages": [8], "competencies": [11], "cdw_roles": [], "events": 1, "events_prev": 0},
    ]
    cells = reports.heatmap_cells(reports.expand_signatures(rows))
    return header() | {"filters": {}, "events": {}, "cells": cells, "gaps": reports.gaps_summary(cells)}


def unmet() -> dict:
    def ct(community, theme, cur, prev, people=0):
        return {
            "community": community,
            "theme": theme,
            "findings": cur,
            "findings_prev": prev,
            "people": people,
            "people_prev": 0,
            "severity_weight": cur * 2,
            "high_severity": 1,
        }

    rows = [
        ct("somali", "unmet_need", 5, 2, 40),
        ct(HOSTILE, "stigma", 1, 1),
        ct("irish", "service_gap", 7, 0),
        ct("gypsy_roma_traveller", HOSTILE, 0, 3),
    ]
    return header() | reports.unmet_needs(rows)


def _series(values, *, provider="p1", name="Provider One", target=95.0, community=""):
    out = []
    for i, v in enumerate(values):
        start = date(2025, 1, 1) + timedelta(days=31 * i)
        start = date(start.year, start.month, 1)
        out.append(
            {
                "area": "BSOL",
                "region": "west_midlands",
                "provider_id": provider,
                "provider_name": name,
                "sector": "voluntary",
                "indicator": "four_week_wait",
                "community": community,
                "period_start": start,
                "period_end": date(start.year, start.month, 28),
                "value": v,
                "target": target,
                "numerator": round(v * 2),
                "denominator": 200,
                "event_id": uuid.UUID(int=1000 * len(values) + i),
            }
        )
    return out


def performance() -> dict:
    rows = _series([80, 82, 79, 81, 80, 83, 78, 80, 81, 79, 82, 80, 81, 50])
    rows += _series([90], provider="p2", name=HOSTILE, target=None, community=HOSTILE)
    rows += _series([96, 97, 95], provider="p3", name="Three", target=None)
    last = rows[13]["period_end"]
    cur = Window(date(last.year, last.month, 1), last)
    pools = {("west_midlands", "four_week_wait"): (1800, 2000)}
    view = header() | {"window": cur.as_dict(), "previous_window": cur.previous().as_dict()}
    return view | {
        "items": reports.performance(rows, cur, cur.previous(), pools),
        "completeness": completeness()["items"],
    }


def funding() -> dict:
    row = {
        "area": "BSOL",
        "provider_id": "p",
        "provider_name": HOSTILE,
        "funding_committed_gbp": 50000.0,
        "funding_required_gbp": 80000.0,
        "period_start": date(2026, 3, 1),
        "period_end": date(2026, 3, 31),
        "contract_end_date": TODAY + timedelta(days=30),
        "renewal_recorded": False,
        "payment_days_overdue": 1.0,
    }
    rows = [
        row,
        row
        | {
            "provider_id": "q",
            "provider_name": "Q",
            "contract_end_date": TODAY - timedelta(days=3),
            "payment_days_overdue": 45.0,
            "renewal_recorded": True,
        },
        {"area": "ARDN", "provider_id": "r", "provider_name": "R", "payment_days_overdue": 0.0},
    ]
    return header() | reports.funding(rows, TODAY)


def alerts() -> dict:
    base = {
        "fingerprint": "ab" * 8,
        "rule": "unmet_need",
        "area": "BSOL",
        "region": "west_midlands",
        "subject": HOSTILE,
        "severity": "red",
        "status": "firing",
        "summary": HOSTILE,
        "stages": [1],
        "competencies": [2],
        "event_ids": [uuid.UUID(int=1), uuid.UUID(int=2)],
        "starts_at": NOW - timedelta(days=3, hours=2),
        "updated_at": NOW,
        "ends_at": None,
    }
    rows = [
        base,
        base
        | {
            "fingerprint": "cd" * 8,
            "severity": "amber",
            "status": "acknowledged",
            "subject": "somali",
            "summary": "Rising unmet need",
            "event_ids": [uuid.UUID(int=3)],
            "rule": "provider_below_target",
        },
    ]
    items = reports.alert_items(rows, NOW)
    return header() | {"items": items, "counts": {"firing": 1, "acknowledged": 1}}


def findings(total: int = 250) -> dict:
    def row(i, **kw):
        return {
            "event_id": uuid.UUID(int=i),
            "type": "finding",
            "occurred_at": NOW - timedelta(days=i),
            "area": "BSOL",
            "source": "cdw",
            "community": HOSTILE,
            "theme": "unmet_need",
            "severity": "high",
            "people_affected": 1200,
            "summary": HOSTILE,
            "provider_id": None,
            "indicator": None,
            "value": None,
            "stages": [1],
            "competencies": [2],
            "cdw_roles": [],
        } | kw

    rows = [
        row(1),
        row(
            2,
            type="performance",
            community=None,
            theme=None,
            severity=None,
            people_affected=None,
            summary=None,
            provider_id="p<1>",
            indicator="four_week_wait",
            value=81.5,
        ),
    ]
    filters = {"stage": 2, "competency": 5, "community": HOSTILE, "theme": "unmet_need"}
    return header() | {
        "filters": filters,
        "total": total,
        "limit": 200,
        "offset": 0,
        "items": reports.finding_items(rows),
    }


PARAMS = {"area": "BSOL", "days": "30", "from": HOSTILE}
