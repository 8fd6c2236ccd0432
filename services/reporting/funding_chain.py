"""Follow the money: the funding chain of an area, small grants by scheme, indicators by Vital Signs tier.

The chain is the one the seeds describe: "funding flowed from the CCG, to the Trust and then to
Rethink Mental Illness as the accountable organisation for the VCSE alliance. This was then shared
out depending on which partner is leading on delivering which part of the co-produced model"
(004:282). For each alliance the report shows who paid whom what and when, where money stalled (a
trust or lead body paid for the alliance with nothing passed on under the same reference) and, per
member, the share it is due against what it received. Small grants ("ranging from \u00a3500 to
10,000", 001:739) are listed by scheme with awarded, paid and spent. Indicators are grouped by
Vital Signs tier (002:1160-1164, 002:1440-1449) with the national targets for 2009/10 (002:1434-1438).

Three parts: pure views (``chain_view``, ``grants_view``, ``vital_signs_view``) and the flow chart
(``chain_chart``), the SQL that reads them (``FundingStore``), and the routes (JSON, CSV, page).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from contracts.citations import SeedRef, seed
from contracts.funding import INTERMEDIARIES, FlowKind, FundingData
from contracts.vocabulary import INDICATORS, Indicator
from services.common.organisations import alliance_shares
from services.common.problems import API_PROBLEMS, problem_responses

from . import pages
from .domain import svg
from .dashboard import _page as dashboard_page
from .routes import FormatQ, ReportQ, answer, both
from .adapters.store import ReportingStore
from .views import Query, Table

# --- pure views --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    """One funding flow as reporting keeps it (reporting_events.funding, migration 010)."""

    event_id: str
    area: str
    occurred_at: datetime
    data: FundingData

    @property
    def paid_on(self) -> date:
        return self.occurred_at.date()


def _name(party) -> str:
    return party.name or party.organisation_id


def _onward(flows: Sequence[Flow], holder: str, reference: str) -> list[Flow]:
    return [
        f
        for f in flows
        if f.data.kind is FlowKind.PAYMENT and f.data.payer.organisation_id == holder and f.data.reference == reference
    ]


def _step(f: Flow) -> dict[str, Any]:
    d = f.data
    return {
        "reference": d.reference,
        "from": d.payer.organisation_id,
        "from_name": _name(d.payer),
        "from_role": d.payer.role.value,
        "to": d.payee.organisation_id,
        "to_name": _name(d.payee),
        "to_role": d.payee.role.value,
        "amount_gbp": d.amount_gbp,
        "paid_on": f.paid_on.isoformat(),
        "period_start": d.period_start.isoformat(),
        "period_end": d.period_end.isoformat(),
    }


def chain_view(flows: Sequence[Flow], shares: Mapping[str, Mapping[str, float]], today: date) -> dict[str, Any]:
    """Per alliance: its payments step by step, where money stalled and, per member, its share,
    what it is due of what the lead body received, what it received and the periods it got nothing."""
    payments = sorted((f for f in flows if f.data.kind is FlowKind.PAYMENT), key=lambda f: (f.occurred_at, f.event_id))
    by_alliance: dict[str, list[Flow]] = defaultdict(list)
    for f in payments:
        alliance = f.data.alliance_id or (
            f.data.payer.organisation_id if f.data.payer.organisation_id in shares else None
        )
        if alliance is not None:
            by_alliance[alliance].append(f)
    alliances: list[dict[str, Any]] = []
    for lead in sorted(by_alliance):
        paid = by_alliance[lead]
        stalls: list[dict[str, Any]] = []
        for f in paid:
            d = f.data
            if d.payee.role in INTERMEDIARIES and not _onward(paid, d.payee.organisation_id, d.reference):
                stalls.append(
                    {
                        **_step(f),
                        "at": d.payee.organisation_id,
                        "at_name": _name(d.payee),
                        "days_waiting": (today - f.paid_on).days,
                    }
                )
        to_lead = [f for f in paid if f.data.payee.organisation_id == lead]
        received = sum(f.data.amount_gbp for f in to_lead)
        lead_periods = sorted({f.data.period_start for f in to_lead})
        names = {f.data.payee.organisation_id: _name(f.data.payee) for f in paid}
        names |= {f.data.payer.organisation_id: _name(f.data.payer) for f in paid}
        member_ids = sorted(
            set(shares.get(lead, {}))
            | {f.data.payee.organisation_id for f in paid if f.data.payer.organisation_id == lead}
        )
        members: list[dict[str, Any]] = []
        for m in member_ids:
            got = [f for f in paid if f.data.payee.organisation_id == m]
            share = shares.get(lead, {}).get(m)
            members.append(
                {
                    "member": m,
                    "name": names.get(m, m),
                    "share": share,
                    "due_gbp": round(share * received, 2) if share is not None else None,
                    "paid_gbp": round(sum(f.data.amount_gbp for f in got), 2),
                    "last_paid_on": got[-1].paid_on.isoformat() if got else None,
                    "periods_with_nothing": [
                        p.isoformat()
                        for p in lead_periods
                        if not any(f.data.period_start <= p <= f.data.period_end for f in got)
                    ],
                }
            )
        alliances.append(
            {
                "alliance_id": lead,
                "lead_name": names.get(lead, lead),
                "received_gbp": received,
                "steps": [_step(f) for f in paid],
                "stalls": stalls,
                "members": members,
            }
        )
    return {
        "alliances": alliances,
        "totals": {
            "alliances": len(alliances),
            "stalls": sum(len(a["stalls"]) for a in alliances),
            "stalled_gbp": sum(s["amount_gbp"] for a in alliances for s in a["stalls"]),
        },
    }


def chain_table(view: Mapping[str, Any]) -> Table:
    """Every payment of every alliance, with whether money stalled at its payee."""
    columns = [
        "alliance",
        "reference",
        "period_start",
        "period_end",
        "payer",
        "payer_role",
        "payee",
        "payee_role",
        "amount_gbp",
        "paid_on",
        "stalled_at_payee",
        "days_waiting",
    ]
    rows = []
    for a in view["alliances"]:
        stalled = {(s["reference"], s["to"], s["paid_on"]): s["days_waiting"] for s in a["stalls"]}
        for s in a["steps"]:
            waiting = stalled.get((s["reference"], s["to"], s["paid_on"]))
            rows.append(
                [
                    a["alliance_id"],
                    s["reference"],
                    s["period_start"],
                    s["period_end"],
                    s["from"],
                    s["from_role"],
                    s["to"],
                    s["to_role"],
                    s["amount_gbp"],
                    s["paid_on"],
                    waiting is not None,
                    waiting,
                ]
            )
    return columns, rows


def grants_view(flows: Sequence[Flow], today: date) -> dict[str, Any]:
    """Small grants by scheme: each award with what was paid and spent (the latest spend report)."""
    awards: dict[tuple[str, str], Flow] = {}
    for f in sorted(flows, key=lambda f: f.occurred_at):
        if f.data.kind is FlowKind.GRANT_AWARD and f.data.grant is not None:
            awards[(f.data.reference, f.data.payee.organisation_id)] = f
    schemes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (ref, holder), a in sorted(awards.items()):
        g = a.data.grant
        assert g is not None
        mine = [f for f in flows if f.data.reference == ref and f.data.payee.organisation_id == holder]
        paid = [f for f in mine if f.data.kind is FlowKind.PAYMENT]
        spent = sorted((f for f in mine if f.data.kind is FlowKind.SPEND_REPORT), key=lambda f: f.occurred_at)
        paid_gbp = sum(f.data.amount_gbp for f in paid)
        spent_gbp = spent[-1].data.amount_gbp if spent else 0.0
        schemes[g.scheme].append(
            {
                "reference": ref,
                "holder": holder,
                "holder_name": _name(a.data.payee),
                "awarded_gbp": a.data.amount_gbp,
                "paid_gbp": paid_gbp,
                "spent_gbp": spent_gbp,
                "unspent_gbp": round(max(0.0, a.data.amount_gbp - spent_gbp), 2),
                "start_date": g.start_date.isoformat(),
                "spend_by": g.spend_by.isoformat(),
                "conditions": list(g.conditions),
                "not_paid_by_start": paid_gbp < a.data.amount_gbp and today > g.start_date,
                "first_paid_on": min(f.paid_on for f in paid).isoformat() if paid else None,
            }
        )
    out = []
    for scheme in sorted(schemes):
        grants = schemes[scheme]
        out.append(
            {
                "scheme": scheme,
                "grants": grants,
                "awarded_gbp": sum(g["awarded_gbp"] for g in grants),
                "paid_gbp": sum(g["paid_gbp"] for g in grants),
                "spent_gbp": sum(g["spent_gbp"] for g in grants),
            }
        )
    return {"schemes": out}


def grants_table(view: Mapping[str, Any]) -> Table:
    columns = [
        "scheme",
        "reference",
        "holder",
        "awarded_gbp",
        "paid_gbp",
        "spent_gbp",
        "unspent_gbp",
        "start_date",
        "spend_by",
        "not_paid_by_start",
    ]
    return columns, [
        [
            s["scheme"],
            g["reference"],
            g["holder"],
            g["awarded_gbp"],
            g["paid_gbp"],
            g["spent_gbp"],
            g["unspent_gbp"],
            g["start_date"],
            g["spend_by"],
            g["not_paid_by_start"],
        ]
        for s in view["schemes"]
        for g in s["grants"]
    ]


@dataclass(frozen=True)
class Tier:
    key: str
    title: str
    cites: tuple[SeedRef, ...]
    indicators: tuple[Indicator, ...]
    not_collected: str | None = None


#: Vital Signs tiers and the 2009/10 national targets, with the platform's indicators in each.
VITAL_SIGNS: tuple[Tier, ...] = (
    Tier(
        "tier_1",
        "Tier one: national must-do's",
        (
            seed("002", 1162, "a small number of national must-do's"),
            seed("002", (1442, 1443), "Suicide and injury of undetermined intent mortality rate"),
        ),
        (),
        "Suicide and injury of undetermined intent mortality rate: not a measure partners send",
    ),
    Tier(
        "tier_2",
        "Tier two: national priorities for local delivery",
        (
            seed("002", 1163, "a small number of national priorities for local delivery"),
            seed(
                "002",
                1445,
                "IAPT (proportion of people with depression and/or anxiety disorders who "
                "are offered psychological therapy)",
            ),
        ),
        (Indicator.IAPT_ACCESS,),
    ),
    Tier(
        "tier_3",
        "Tier three: local action",
        (
            seed("002", 1164, "a range of indicators available to PCTs"),
            seed("002", 1447, "Social Inclusion (supporting people in vulnerable circumstances)"),
        ),
        (Indicator.SETTLED_ACCOMMODATION, Indicator.EMPLOYMENT),
    ),
    Tier(
        "national_targets",
        "National targets for 2009/10",
        (seed("002", 1434, "Actual targets that remain priorities for 2009/10 are"),),
        (Indicator.EIP_NEW_CASES, Indicator.CRISIS_HOME_TREATMENT_EPISODES),
        "A reduction of the suicide rate by one fifth by 2010: not a measure partners send",
    ),
)


def vital_signs_view(latest: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The latest figure of each provider for each indicator, grouped by tier."""
    by_indicator: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in latest:
        by_indicator[r["indicator"]].append(dict(r))
    tiers = []
    for t in VITAL_SIGNS:
        tiers.append(
            {
                "tier": t.key,
                "title": t.title,
                "cites": [c.as_json() for c in t.cites],
                "not_collected": t.not_collected,
                "indicators": [
                    {
                        "indicator": i.value,
                        "title": INDICATORS[i].title,
                        "unit": INDICATORS[i].unit.value,
                        "providers": sorted(by_indicator.get(i.value, []), key=lambda r: (r["area"], r["provider_id"])),
                    }
                    for i in t.indicators
                ],
            }
        )
    return {"tiers": tiers}


def vital_signs_table(view: Mapping[str, Any]) -> Table:
    columns = [
        "tier",
        "indicator",
        "area",
        "provider_id",
        "provider_name",
        "period_start",
        "period_end",
        "value",
        "target",
    ]
    return columns, [
        [
            t["tier"],
            i["indicator"],
            p["area"],
            p["provider_id"],
            p["provider_name"],
            p["period_start"],
            p["period_end"],
            p["value"],
            p["target"],
        ]
        for t in view["tiers"]
        for i in t["indicators"]
        for p in i["providers"]
    ]


# --- the flow chart ----------------------------------------------------------------------------

_COLUMNS = (("commissioner", "Commissioner"), ("trust", "Trust"), ("lead_body", "Lead body"), ("member", "Members"))
_BOX_W, _BOX_H, _GAP_X, _GAP_Y, _TOP = 190, 46, 90, 22, 44
STALLED = "#D5281B"  # (4.5 on white) red for money that has not moved


def _column(role: str) -> int:
    return {"commissioner": 0, "trust": 1, "lead_body": 2}.get(role, 3)


def chain_chart(alliance: Mapping[str, Any], chart_id: str) -> str:
    """One alliance's chain, left to right: commissioner, trust, lead body, members. An arrow per
    payer and payee with the total paid; money waiting at a trust or lead body is a red dashed
    arrow onward; a member with a period of nothing has a red outline."""
    nodes: dict[str, tuple[int, str]] = {alliance["alliance_id"]: (2, alliance["lead_name"])}
    for s in alliance["steps"]:
        nodes.setdefault(s["from"], (_column(s["from_role"]), s["from_name"]))
        if s["to"] != alliance["alliance_id"]:
            nodes.setdefault(s["to"], (_column(s["to_role"]), s["to_name"]))
        else:
            nodes[s["to"]] = (2, s["to_name"])
    for m in alliance["members"]:
        nodes.setdefault(m["member"], (3, m["name"]))
    columns: dict[int, list[str]] = defaultdict(list)
    for node, (col, _) in sorted(nodes.items(), key=lambda kv: kv[1][1]):
        columns[col].append(node)
    rows = max((len(v) for v in columns.values()), default=1)
    width = 4 * _BOX_W + 3 * _GAP_X + 20
    height = _TOP + rows * (_BOX_H + _GAP_Y) + 30
    place: dict[str, tuple[float, float]] = {}
    for col, ids in columns.items():
        offset = (rows - len(ids)) * (_BOX_H + _GAP_Y) / 2
        for i, node in enumerate(ids):
            place[node] = (10 + col * (_BOX_W + _GAP_X), _TOP + offset + i * (_BOX_H + _GAP_Y))
    body = [
        f'<defs><marker id="{chart_id}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{svg.TEXT}"/></marker>'
        f'<marker id="{chart_id}-stall" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{STALLED}"/></marker></defs>'
    ]
    for col, (_, title) in enumerate(_COLUMNS):
        body.append(
            svg.text(10 + col * (_BOX_W + _GAP_X) + _BOX_W / 2, 24, title, size=13, anchor="middle", weight="bold")
        )
    totals: dict[tuple[str, str], float] = defaultdict(float)
    for s in alliance["steps"]:
        totals[(s["from"], s["to"])] += s["amount_gbp"]
    for (a, b), amount in sorted(totals.items()):
        (x1, y1), (x2, y2) = place[a], place[b]
        sx, sy, ex, ey = x1 + _BOX_W, y1 + _BOX_H / 2, x2 - 2, y2 + _BOX_H / 2
        body.append(
            f'<line x1="{svg.num(sx)}" y1="{svg.num(sy)}" x2="{svg.num(ex)}" y2="{svg.num(ey)}" '
            f'stroke="{svg.TEXT}" stroke-width="1.5" marker-end="url(#{chart_id}-arrow)"/>'
        )
        body.append(svg.text((sx + ex) / 2, (sy + ey) / 2 - 5, f"\u00a3{amount:,.0f}", size=11, anchor="middle"))
    for s in alliance["stalls"]:
        x, y = place[s["at"]]
        ex = x + _BOX_W + _GAP_X - 6
        body.append(
            f'<line x1="{svg.num(x + _BOX_W)}" y1="{svg.num(y + _BOX_H - 8)}" x2="{svg.num(ex)}" '
            f'y2="{svg.num(y + _BOX_H - 8)}" stroke="{STALLED}" stroke-width="2" stroke-dasharray="6 4" '
            f'marker-end="url(#{chart_id}-stall)"/>'
        )
        body.append(
            svg.text(
                x + _BOX_W + 4,
                y + _BOX_H + 8,
                f"\u00a3{s['amount_gbp']:,.0f} waiting {s['days_waiting']} days",
                size=11,
                fill=STALLED,
                weight="bold",
            )
        )
    short = {m["member"] for m in alliance["members"] if m["periods_with_nothing"]}
    for node, (x, y) in place.items():
        edge = STALLED if node in short else svg.MUTED
        body.append(
            f'<rect x="{svg.num(x)}" y="{svg.num(y)}" width="{_BOX_W}" height="{_BOX_H}" rx="4" '
            f'fill="{svg.WHITE}" stroke="{edge}" stroke-width="{2 if node in short else 1}"/>'
        )
        lines = svg.wrap(nodes[node][1], _BOX_W - 12, 12)[:2]
        for i, line in enumerate(lines):
            body.append(svg.text(x + 6, y + 18 + i * 15, line, size=12))
        if node in short:
            body.append(svg.text(x + 6, y + _BOX_H + 13, "nothing for a period", size=11, fill=STALLED))
    stalls = (
        "; ".join(
            f"\u00a3{s['amount_gbp']:,.0f} waiting at {s['at_name']} for {s['days_waiting']} days"
            for s in alliance["stalls"]
        )
        or "no money waiting"
    )
    unpaid = ", ".join(m["name"] for m in alliance["members"] if m["periods_with_nothing"]) or "none"
    desc = (
        f"Payments from the commissioner through the trust to {alliance['lead_name']} and its members. "
        f"Stalled: {stalls}. Members with a period of nothing: {unpaid}."
    )
    return svg.document(width, height, chart_id, f"Funding chain of {alliance['lead_name']}", desc, body)


# --- reading -----------------------------------------------------------------------------------

_FLOWS = """
SELECT event_id::text AS event_id, area, occurred_at, funding::text AS funding FROM reporting_events
WHERE type = 'funding' AND area = ANY($1::text[]) AND day BETWEEN $2 AND $3
ORDER BY occurred_at, event_id"""
_LATEST_FLOW = """
SELECT max(ingested_at) FROM reporting_events WHERE type = 'funding' AND area = ANY($1::text[])"""
_VITAL_SIGNS = """
SELECT DISTINCT ON (area, provider_id, indicator) area, provider_id, provider_name, indicator,
       period_start::text AS period_start, period_end::text AS period_end, value, target
FROM provider_indicator_series
WHERE area = ANY($1::text[]) AND indicator = ANY($2::text[]) AND period_end BETWEEN $3 AND $4
ORDER BY area, provider_id, indicator, period_end DESC, period_start DESC"""


async def read_flows(pool: asyncpg.Pool, q: Query) -> list[Flow]:
    rows = await pool.fetch(_FLOWS, q.areas, q.window.start, q.window.end)
    return [
        Flow(r["event_id"], r["area"], r["occurred_at"], FundingData.model_validate_json(r["funding"]))
        for r in rows
        if r["funding"] is not None
    ]


async def chain(store: ReportingStore, q: Query) -> tuple[dict, Table]:
    view = chain_view(
        await read_flows(store.pool, q), await alliance_shares(store.pool), datetime.now(timezone.utc).date()
    )
    return q.header(await _as_of(store, q)) | view, chain_table(view)


async def _as_of(store: ReportingStore, q: Query) -> datetime | None:
    """When the report's data last changed: the rollups' freshness, or the latest flow stored
    (flows are not in the rollups)."""
    found = [
        t for t in (await store.data_as_of(q.areas), await store.pool.fetchval(_LATEST_FLOW, q.areas)) if t is not None
    ]
    return max(found) if found else None


async def grants(store: ReportingStore, q: Query) -> tuple[dict, Table]:
    view = grants_view(await read_flows(store.pool, q), datetime.now(timezone.utc).date())
    return q.header(await _as_of(store, q)) | view, grants_table(view)


async def vital_signs(store: ReportingStore, q: Query) -> tuple[dict, Table]:
    wanted = [i.value for t in VITAL_SIGNS for i in t.indicators]
    rows = await store.pool.fetch(_VITAL_SIGNS, q.areas, wanted, q.window.start, q.window.end)
    view = vital_signs_view(rows)
    return q.header(await store.data_as_of(q.areas)) | view, vital_signs_table(view)


# --- routes ------------------------------------------------------------------------------------

router = APIRouter(tags=["reports"], responses=problem_responses(API_PROBLEMS))


def _store(request: Request) -> ReportingStore:
    return request.app.state.store


@both(
    "/v1/reports/funding-chain",
    "The funding chain per alliance: who paid whom what and when, where "
    "money stalled, each member's share against what it received",
    router,
)
async def funding_chain(request: Request, q: ReportQ, format: FormatQ = None):
    return answer(request, format, "funding_chain", await chain(_store(request), q))


@both("/v1/reports/small-grants", "Small grants by scheme: awarded, paid and spent", router)
async def small_grants(request: Request, q: ReportQ, format: FormatQ = None):
    return answer(request, format, "small_grants", await grants(_store(request), q))


@both(
    "/v1/reports/vital-signs",
    "Provider indicators grouped by Vital Signs tier, with the 2009/10 national targets",
    router,
)
async def vital_signs_report(request: Request, q: ReportQ, format: FormatQ = None):
    return answer(request, format, "vital_signs", await vital_signs(_store(request), q))


@router.get("/dashboard/funding-chain", include_in_schema=False)
async def funding_chain_page(request: Request) -> Response:
    """The page: the chart and tables of each alliance, the small grants, the Vital Signs tiers;
    signed in, filtered and framed as every dashboard page is."""

    async def render(request: Request, q: Query, frame: pages.Frame) -> str:
        store = _store(request)
        view, _ = await chain(store, q)
        grants_, _ = await grants(store, q)
        tiers, _ = await vital_signs(store, q)
        charts = {
            a["alliance_id"]: Markup(chain_chart(a, svg.safe_id(f"chain-{a['alliance_id']}")))
            for a in view["alliances"]
        }
        return pages.render(
            "funding_chain.html",
            title=frame.title,
            frame=frame,
            view=view,
            params=frame.params,
            charts=charts,
            grants=grants_,
            tiers=tiers,
        )

    return await dashboard_page(request, "funding", "Follow the money: the funding chain", render)
