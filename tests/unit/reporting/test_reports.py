"""The dashboards' views as pure functions: rollup contributions, signatures, trends, completeness,
funding, SPC and benchmark per provider, CSV export."""

from __future__ import annotations

import copy
import csv
import io
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from contracts.events import MappedEvent, partner_event_adapter
from contracts.taxonomy import CDWRole, Competency, Plan, Stage
from contracts.examples import FINDING, PERFORMANCE
from services.reporting.domain import reports, rollups
from services.reporting.domain.csvout import to_csv
from services.reporting.domain.windows import Window, rolling

TODAY = date(2026, 3, 31)


def _mapped(body: dict, stages=(1, 2), comps=(2, 5), roles=("change_agent",)) -> MappedEvent:
    return MappedEvent(
        event=partner_event_adapter.validate_python(body),
        cdw_roles=[CDWRole(r) for r in roles],
        stages=[Stage(s) for s in stages],
        competencies=[Competency(c) for c in comps],
        plans=[Plan.STRATEGIC_COMMISSIONING_PLAN],
        rule_ids=["r1"],
        rules_version="1",
        mapped_at=datetime(2026, 3, 31, tzinfo=timezone.utc),
    )


def _finding(day: date, community="somali", theme="unmet_need", severity="high", people=5, area="BSOL"):
    body = copy.deepcopy(FINDING)
    body.update(event_id=str(uuid.uuid4()), area=area, occurred_at=f"{day.isoformat()}T10:00:00+00:00")
    body["data"].update(community=community, theme=theme, severity=severity, people_affected=people)
    return body


# -- rollups -----------------------------------------------------------------------------------


def test_signature_is_order_free_and_stable():
    a = _mapped(_finding(TODAY), stages=(2, 1, 2), comps=(5, 2), roles=("change_agent", "access_facilitator"))
    b = _mapped(_finding(TODAY), stages=(1, 2), comps=(2, 5), roles=("access_facilitator", "change_agent"))
    assert rollups.signature_of(a) == rollups.signature_of(b)
    sig = rollups.signature_of(a)
    assert sig.stages == (1, 2) and sig.cdw_roles == ("access_facilitator", "change_agent")
    assert sig.id == rollups.signature_of(b).id and -(2**63) <= sig.id < 2**63
    # The same bytes migration 004 hashes in SQL: sha256("finding|1,2|2,5|access_facilitator,change_agent").
    import hashlib

    digest = hashlib.sha256(b"finding|1,2|2,5|access_facilitator,change_agent").digest()[:8]
    assert sig.id == int.from_bytes(digest, "big", signed=True)


def test_a_batch_adds_up_per_rollup_row():
    day = TODAY
    events = [
        _mapped(_finding(day, people=5, severity="high")),
        _mapped(_finding(day, people=7, severity="low")),
        _mapped(_finding(day, community="irish", people=1, severity="critical")),
        _mapped(_finding(day - timedelta(days=1), people=2)),
    ]
    batch = rollups.rollup(events)
    assert len(batch) == 4 and len(batch.signatures) == 1
    sid = next(iter(batch.signatures))
    today_row = batch.area[("BSOL", day, sid)]
    assert (today_row.events, today_row.people_affected) == (3, 13)
    somali = batch.detail[("BSOL", day, sid, "somali", "unmet_need")]
    assert (somali.events, somali.people_affected, somali.severity_weight, somali.high_severity) == (2, 12, 4, 1)
    assert today_row.unmet_need == 3
    assert batch.detail[("BSOL", day, sid, "irish", "unmet_need")].high_severity == 1
    assert batch.last_day == {"BSOL": day} and batch.regions == {"BSOL": "west_midlands"}


def test_a_performance_event_counts_without_theme():
    body = copy.deepcopy(PERFORMANCE)
    c = rollups.contribution(_mapped(body, stages=(8,), comps=(10,), roles=()))
    assert (c.signature.type, c.theme, c.community, c.counts.events, c.counts.people_affected) == (
        "performance",
        "",
        "",
        1,
        0,
    )


# -- stages, competencies, heat map ------------------------------------------------------------


def _sig_row(type_, stages, comps, roles, cur, prev):
    return {
        "type": type_,
        "stages": stages,
        "competencies": comps,
        "cdw_roles": roles,
        "events": cur,
        "events_prev": prev,
    }


def test_signatures_expand_into_stages_cells_and_roles():
    rows = [_sig_row("finding", [1, 2], [2, 5], ["change_agent"], 3, 1), _sig_row("performance", [8], [10], [], 2, 0)]
    cc = reports.expand_signatures(rows)
    assert cc.stages == {1: (3, 1), 2: (3, 1), 8: (2, 0)}
    assert cc.cells[(1, 5)] == (3, 1) and cc.cells[(8, 10)] == (2, 0) and len(cc.cells) == 5
    assert cc.roles == {"change_agent": (3, 1)}
    assert cc.findings == (3, 1) and cc.performance == (2, 0)
    cells = reports.heatmap_cells(cc)
    assert len(cells) == 88 and sum(1 for c in cells if c["gap"]) == 83
    gaps = reports.gaps_summary(cells)
    assert "Contract implementation" in gaps["stages_without_evidence"]
    assert "Locally lead the NHS" in gaps["competencies_without_evidence"]
    only_findings = reports.expand_signatures(rows, "finding")
    assert 8 not in only_findings.stages
    stage_list = reports.by_stage(cc)
    assert [s["events"] for s in stage_list] == [3, 3, 0, 0, 0, 0, 0, 2]


# -- unmet needs and trends ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "cur, prev, word",
    [(0, 0, "none"), (3, 0, "new"), (0, 2, "gone"), (5, 2, "rising"), (2, 5, "falling"), (4, 4, "steady")],
)
def test_trend_words(cur, prev, word):
    assert reports.trend(cur, prev) == word


def _ct(community, theme, cur, prev, people=0):
    return {
        "community": community,
        "theme": theme,
        "findings": cur,
        "findings_prev": prev,
        "people": people,
        "people_prev": 0,
        "severity_weight": cur * 2,
        "high_severity": 0,
    }


def test_unmet_needs_sorted_flagged_and_totalled():
    rows = [
        _ct("somali", "unmet_need", 5, 2, 40),
        _ct("somali", "stigma", 1, 1),
        _ct("irish", "service_gap", 7, 0),
        _ct("chinese", "stigma", 0, 0),
    ]
    view = reports.unmet_needs(rows)
    assert [(i["community"], i["theme"]) for i in view["items"]] == [
        ("irish", "service_gap"),
        ("somali", "unmet_need"),
        ("somali", "stigma"),
    ]
    assert view["items"][0]["unmet_need_theme"] and not view["items"][2]["unmet_need_theme"]
    assert view["items"][1]["findings"] == {"current": 5, "previous": 2, "change": 3, "change_pct": 150.0}
    somali = next(c for c in view["by_community"] if c["community"] == "somali")
    assert somali["findings"]["current"] == 6 and somali["unmet_need_findings"] == 5
    only = reports.unmet_needs(rows, unmet_only=True, sort="community")
    assert [i["community"] for i in only["items"]] == ["irish", "somali"]
    with pytest.raises(ValueError):
        reports.unmet_needs(rows, sort="1; DROP TABLE")
    cols, table = reports.unmet_table(view)
    assert len(table) == 3 and all(len(r) == len(cols) for r in table)


def test_overview_per_area_and_totals():
    totals = [
        {
            "area": "BSOL",
            "type": "finding",
            "events": 4,
            "events_prev": 1,
            "people": 30,
            "people_prev": 3,
            "unmet_need": 3,
            "unmet_need_prev": 1,
        },
        {"area": "BSOL", "type": "performance", "events": 2, "events_prev": 2, "people": 0, "people_prev": 0},
        {"area": "BLKC", "type": "finding", "events": 1, "events_prev": 0, "people": 2, "people_prev": 0},
        {"area": "SOM", "type": "finding", "events": 9, "events_prev": 9, "people": 9, "people_prev": 9},
    ]
    view = reports.overview(["BSOL", "BLKC", "ARDN"], totals, {"BSOL": 2})
    bsol = view["areas"][0]
    assert bsol["events"]["current"] == 6 and bsol["findings"] == {
        "current": 4,
        "previous": 1,
        "change": 3,
        "change_pct": 300.0,
    }
    assert bsol["unmet_need_findings"]["current"] == 3 and bsol["open_alerts"] == 2
    assert view["areas"][2]["events"]["current"] == 0  # an area with nothing is listed
    assert view["totals"]["findings"]["current"] == 5  # SOM (out of scope) is not counted
    assert view["totals"]["open_alerts"] == 2


# -- completeness, funding, alerts ---------------------------------------------------------------


def test_months_in_a_window_are_whole_months():
    assert reports.months_in(Window(date(2026, 1, 1), date(2026, 3, 31))) == [
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]
    assert reports.months_in(Window(date(2026, 1, 15), date(2026, 3, 31))) == [date(2026, 2, 1), date(2026, 3, 1)]
    # Seven days inside one month still expect that month's report.
    assert reports.months_in(rolling(7, date(2026, 3, 20))) == [date(2026, 3, 1)]


def test_completeness_counts_reported_months():
    win = Window(date(2026, 1, 1), date(2026, 3, 31))
    c = reports.completeness([date(2026, 1, 1), date(2026, 3, 1), date(2025, 12, 1)], win)
    assert c == {"expected_periods": 3, "reported_periods": 2, "percent": 66.7, "missing": ["2026-02-01"]}


def test_funding_gap_and_contract_ending():
    row = {
        "area": "SOM",
        "provider_id": "p",
        "provider_name": "P",
        "funding_committed_gbp": 50000.0,
        "funding_required_gbp": 80000.0,
        "period_start": date(2026, 3, 1),
        "period_end": date(2026, 3, 31),
        "contract_end_date": TODAY + timedelta(days=90),
        "renewal_recorded": False,
    }
    item = reports.funding_item(row, TODAY)
    assert item["funding_gap_gbp"] == 30000.0 and item["funded_percent"] == 62.5
    assert item["contract_ending_soon"] and item["days_to_contract_end"] == 90
    later = reports.funding_item(row | {"contract_end_date": TODAY + timedelta(days=91)}, TODAY)
    assert not later["contract_ending_soon"]
    ended = reports.funding_item(row | {"contract_end_date": TODAY - timedelta(days=1)}, TODAY)
    assert ended["contract_ended"] and not ended["contract_ending_soon"]
    over = reports.funding_item(row | {"funding_committed_gbp": 90000.0}, TODAY)
    assert over["funding_gap_gbp"] == 0.0
    view = reports.funding(
        [row, row | {"provider_id": "q", "funding_committed_gbp": 80000.0, "contract_end_date": None}], TODAY
    )
    assert view["totals"]["gap_gbp"] == 30000.0 and view["totals"]["contracts_ending_soon"] == 1
    assert view["items"][0]["provider_id"] == "p"  # the biggest gap first


def test_the_funding_page_shows_payments_overdue():
    row = {"area": "SOM", "provider_id": "p", "provider_name": "P", "payment_days_overdue": 45.0}
    view = reports.funding([row, row | {"provider_id": "q", "payment_days_overdue": 0.0}], TODAY)
    assert [i["payment_days_overdue"] for i in view["items"]] == [45.0, 0.0]
    assert view["totals"]["payments_overdue"] == 1
    cols, table = reports.funding_table(view)
    assert table[0][cols.index("payment_days_overdue")] == 45.0


def test_alert_age():
    now = datetime(2026, 3, 31, 12, tzinfo=timezone.utc)
    row = {
        "fingerprint": "ab" * 8,
        "rule": "unmet_need",
        "area": "BSOL",
        "region": "west_midlands",
        "subject": "somali",
        "severity": "red",
        "status": "firing",
        "summary": "s",
        "stages": [1],
        "competencies": [2],
        "event_ids": [uuid.UUID(int=1)],
        "starts_at": now - timedelta(days=3, hours=2),
        "updated_at": now,
        "ends_at": None,
    }
    item = reports.alert_items([row], now)[0]
    assert item["age"] == "3 days" and item["age_seconds"] == 3 * 86400 + 7200 and item["state"] == "firing"
    assert reports.age_text(59 * 60) == "59 min" and reports.age_text(5 * 3600) == "5 h"


# -- provider performance ------------------------------------------------------------------------


def _series(values, area="BSOL", provider="p1", region="west_midlands", denominator=200, target=95.0):
    out = []
    for i, v in enumerate(values):
        start = date(2025, 1, 1) + timedelta(days=31 * i)
        start = date(start.year, start.month, 1)
        end = date(start.year, start.month, 28)
        out.append(
            {
                "area": area,
                "region": region,
                "provider_id": provider,
                "provider_name": "Provider One",
                "sector": "voluntary",
                "indicator": "four_week_wait",
                "community": "",
                "period_start": start,
                "period_end": end,
                "value": v,
                "target": target,
                "numerator": round(v * denominator / 100),
                "denominator": denominator,
                "event_id": uuid.uuid4(),
            }
        )
    return out


def test_performance_item_spc_target_and_benchmark():
    values = [80, 82, 79, 81, 80, 83, 78, 80, 81, 79, 82, 80, 81, 50]
    rows = _series(values)
    last_end = rows[-1]["period_end"]
    cur = Window(date(last_end.year, last_end.month, 1), last_end)
    pools = {("west_midlands", "four_week_wait"): (1800, 2000)}  # region: 90%
    item = reports.performance(rows, cur, cur.previous(), pools)[0]
    assert item["latest"]["value"] == 50 and item["meets_target"] is False and item["target"] == 95.0
    assert item["window"] == {"periods": 1, "numerator": 100, "denominator": 200, "proportion": 0.5}
    assert item["benchmark"]["significance"] == "worse" and item["benchmark"]["value"] == 0.9
    spc = item["spc"]
    assert spc["points"][-1]["rules"] == ["outside_limits"] and spc["variation"] == "concern_low"
    assert spc["assurance"] == "consistently_fail" and not spc["trial_limits"]
    cols, table = reports.performance_table([item])
    assert len(table[0]) == len(cols)


def test_performance_with_one_period_has_no_chart_and_funding_is_left_out():
    rows = _series([90])
    # Every funding indicator goes to the funding page (contracts.vocabulary.FUNDING_INDICATORS).
    rows += [rows[0] | {"indicator": i} for i in ("funding", "contract_end", "payment_overdue")]
    w = Window(date(2025, 1, 1), date(2025, 1, 31))
    items = reports.performance(rows, w, w.previous(), {})
    assert len(items) == 1 and items[0]["spc"] is None
    assert items[0]["benchmark"]["significance"] == "not compared"


# -- CSV -----------------------------------------------------------------------------------------


def test_csv_quotes_and_neutralises_formulas():
    text = to_csv(["a", "b", "c", "d"], [['say "hi", then\nbye', -3, None, True], ["=SUM(A1)", 1.5, "+1", "@x"]])
    assert text.startswith("a,b,c,d\r\n") and text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ['say "hi", then\nbye', "-3", "", "true"]
    assert rows[2] == ["'=SUM(A1)", "1.5", "'+1", "'@x"]
    with pytest.raises(ValueError):
        to_csv(["a"], [[1, 2]])
