"""Follow the money (services/reporting/funding_chain.py): the chain, its stalls and members, small
grants by scheme, Vital Signs tiers, the flow chart, and the page, from plain values."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta

from markupsafe import Markup

from contracts.citations import misquoted, parse_citations
from contracts.funding import FundingData
from deploy.local import demo_funding
from services.reporting import pages
from services.reporting.funding_chain import (
    VITAL_SIGNS,
    Flow,
    chain_chart,
    chain_table,
    chain_view,
    grants_table,
    grants_view,
    vital_signs_table,
    vital_signs_view,
)

DAY0 = date(2026, 12, 1)
TODAY = DAY0 + timedelta(days=1)


def demo_flows() -> list[Flow]:
    return [
        Flow(e["event_id"], e["area"], datetime.fromisoformat(e["occurred_at"]), FundingData.model_validate(e["data"]))
        for items in demo_funding.build_events(DAY0).values()
        for e in items
    ]


def test_the_chain_shows_who_paid_whom_and_where_money_waits():
    view = chain_view(demo_flows(), demo_funding.shares(), TODAY)
    [alliance] = view["alliances"]
    assert alliance["alliance_id"] == "rethink-somerset"
    [stall] = alliance["stalls"]  # this quarter's money, at the trust
    assert stall["at"] == "somerset-nhs-ft" and stall["days_waiting"] == 21 and stall["amount_gbp"] == 45_000
    carers = next(m for m in alliance["members"] if m["member"] == demo_funding.UNPAID_MEMBER)
    assert carers["share"] == 0.15 and len(carers["periods_with_nothing"]) == 1
    assert carers["due_gbp"] == round(0.15 * alliance["received_gbp"], 2)
    rec = next(m for m in alliance["members"] if m["member"] == "somerset-rec")
    assert rec["periods_with_nothing"] == [] and rec["paid_gbp"] == 3 * 45_000 * 0.3
    columns, rows = chain_table(view)
    assert len(rows) == len(alliance["steps"]) and columns[-2:] == ["stalled_at_payee", "days_waiting"]
    assert [r for r in rows if r[-2]] == [[*r[:10], True, 21] for r in rows if r[-2]]
    assert view["totals"] == {"alliances": 1, "stalls": 1, "stalled_gbp": 45_000}


def test_small_grants_by_scheme_with_awarded_paid_and_spent():
    view = grants_view(demo_flows(), TODAY)
    [scheme] = view["schemes"]
    assert len(scheme["grants"]) == 12 and scheme["awarded_gbp"] == sum(g[1] for g in demo_funding.GRANTS)
    unpaid = next(g for g in scheme["grants"] if g["holder"] == demo_funding.UNPAID_GRANT)
    assert unpaid["paid_gbp"] == 0 and unpaid["not_paid_by_start"]
    assert scheme["paid_gbp"] == scheme["awarded_gbp"] - unpaid["awarded_gbp"]
    assert len(grants_table(view)[1]) == 12


def test_indicators_are_grouped_by_vital_signs_tier_with_their_quotes():
    for tier in VITAL_SIGNS:
        assert all(misquoted(c) is None for c in tier.cites)
    row = {
        "area": "CAMP",
        "provider_id": "cpft",
        "provider_name": "CPFT",
        "indicator": "iapt_access",
        "period_start": "2026-10-01",
        "period_end": "2026-10-31",
        "value": 14.0,
        "target": None,
    }
    view = vital_signs_view([row])
    tier2 = next(t for t in view["tiers"] if t["tier"] == "tier_2")
    assert tier2["indicators"][0]["providers"] == [row]
    assert next(t for t in view["tiers"] if t["tier"] == "tier_1")["not_collected"]
    assert parse_citations(tier2["cites"])[0].seed == "002"
    assert vital_signs_table(view)[1] == [
        ["tier_2", "iapt_access", "CAMP", "cpft", "CPFT", "2026-10-01", "2026-10-31", 14.0, None]
    ]


def test_the_chart_is_svg_that_names_the_stall_and_escapes_names():
    flows = demo_flows()
    i = next(n for n, f in enumerate(flows) if f.data.kind.value == "payment" and f.data.payee.role.value == "trust")
    hostile = FundingData.model_validate(
        {
            **flows[i].data.model_dump(mode="json"),
            "payee": {"organisation_id": "somerset-nhs-ft", "role": "trust", "name": "<script>alert(1)</script> & co"},
        }
    )
    flows[i] = Flow(flows[i].event_id, flows[i].area, flows[i].occurred_at, hostile)
    [alliance] = chain_view(flows, demo_funding.shares(), TODAY)["alliances"]
    drawn = chain_chart(alliance, "chain-test")
    root = ET.fromstring(drawn)  # well-formed XML
    assert root.get("role") == "img" and "<script>" not in drawn
    desc = root.find("{http://www.w3.org/2000/svg}desc")
    assert desc is not None and "waiting at" in (desc.text or "") and "carers" in (desc.text or "")


def test_the_page_renders_the_chain_grants_and_tiers():
    flows = demo_flows()
    view = {
        "areas": ["SOM"],
        "region": None,
        "data_as_of": None,
        "window": {"from": "2025-12-02", "to": "2026-12-01", "days": 365},
        "previous_window": {"from": "2024-12-02", "to": "2025-12-01", "days": 365},
        **chain_view(flows, demo_funding.shares(), TODAY),
    }
    charts = {a["alliance_id"]: Markup(chain_chart(a, "chain-x")) for a in view["alliances"]}
    frame = pages.Frame(
        "Follow the money",
        "funding",
        "/dashboard/funding-chain",
        "somerset-icb (commissioner)",
        ["SOM"],
        {"area": "SOM", "days": "365"},
    )
    page = pages.render(
        "funding_chain.html",
        title=frame.title,
        frame=frame,
        view=view,
        params=frame.params,
        charts=charts,
        grants=grants_view(flows, TODAY),
        tiers=vital_signs_view([]),
    )
    assert 'data-testid="funding-chain-chart"' in page and "<svg" in page
    assert "Somerset carers" in page and "not paid by its start" in page
    assert "/v1/reports/funding-chain.csv?area=SOM" in page and "Tier two" in page
    # Each tier names its seed line as people cite it, not by the seed's file name.
    assert "(002:1162)" in page and ".txt:" not in page


def test_funding_flows_stay_out_of_the_evidence_rollups():
    """The rollups' signatures are findings or performance (migration 004's check): a funding flow
    is kept in reporting_events only, so the reporting worker never writes a signature it refuses."""
    from contracts.funding import FundingFlowEvent
    from services.mapping.domain import mapper, ruleset
    from services.reporting.domain import rollups

    body = demo_funding.build_events(DAY0)[demo_funding.TRUST.id][0]
    mapped = mapper.map_event(FundingFlowEvent.model_validate(body), ruleset.load(), datetime(2026, 12, 2).astimezone())
    assert not isinstance(mapped, mapper.Unplaceable)
    batch = rollups.rollup([mapped])
    assert len(batch) == 0 and batch.signatures == {}
    assert rollups.event_type(mapped) == "funding"
