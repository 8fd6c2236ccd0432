"""What the reporting worker records, and the reports read back, with the in-memory store
(tests/unit/reporting/fakes.py). The worker's batch step is ``apply_or_one_by_one(parsed,
store.ingest_new, dead_letter)`` (services/reporting/worker.py), run here as it is there.

The report figures are sums in SQL; the fake sums its rows in Python, so these tests check the
counting of what was recorded (the pure ``rollups``) and the shaping of the rows into the reports
(services/reporting/views.py over the pure ``domain.reports``). Each test names the integration
test that runs the same path against real PostgreSQL and Kafka, which holds the SQL."""

from __future__ import annotations

import copy
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from contracts.events import Alert, MappedEvent, partner_event_adapter
from contracts.examples import FINDING
from contracts.taxonomy import CDWRole, Competency, Plan, Stage
from services.common.streams import apply_or_one_by_one
from services.reporting import views
from services.reporting.domain.windows import rolling

from .fakes import FakeReportingStore

TODAY = datetime.now(timezone.utc).date()
AREA, OTHER_AREA = "ARDN", "WMER"
AGES = {2: 3, 20: 5, 60: 7}  # days ago -> findings that many days ago, as tests/integration/test_reporting.py


def mapped(
    days_ago: int,
    *,
    community: str = "somali",
    theme: str = "unmet_need",
    people: int = 10,
    area: str = AREA,
    summary: str | None = None,
    stages=(1, 2),
    comps=(2, 5),
) -> MappedEvent:
    body = copy.deepcopy(FINDING)
    at = datetime.combine(TODAY - timedelta(days=days_ago), datetime.min.time(), tzinfo=timezone.utc)
    body.update(
        event_id=str(uuid.uuid4()),
        source="black-country-cdw",
        area=area,
        region="west_midlands",
        occurred_at=(at + timedelta(hours=10)).isoformat(),
    )
    body["data"].update(community=community, theme=theme, people_affected=people, cdw_role=None)
    if summary is not None:
        body["data"]["summary"] = summary
    return MappedEvent(
        event=partner_event_adapter.validate_python(body),
        cdw_roles=[CDWRole.CHANGE_AGENT],
        stages=[Stage(s) for s in stages],
        competencies=[Competency(c) for c in comps],
        plans=[Plan.STRATEGIC_COMMISSIONING_PLAN],
        rule_ids=["r1"],
        rules_version="1",
        mapped_at=datetime.now(timezone.utc),
    )


def posted() -> list[MappedEvent]:
    return [mapped(age) for age, n in AGES.items() for _ in range(n)]


async def worker_batch(store: FakeReportingStore, batch: list[MappedEvent]) -> tuple[set, list]:
    """The worker's batch step: the new event ids, and what was dead-lettered with the reason."""
    refused: list[tuple[int, str]] = []

    async def dead_letter(event, reason: str) -> None:
        refused.append((event.message.offset, reason))

    parsed = [(SimpleNamespace(message=SimpleNamespace(offset=i)), m) for i, m in enumerate(batch)]
    _, done = await apply_or_one_by_one(parsed, store.ingest_new, dead_letter)
    return set().union(*done), refused


def query(days: int, areas=(AREA,)) -> views.Query:
    window = rolling(days, TODAY)
    return views.Query(list(areas), window, window.previous())


async def test_a_batch_is_recorded_once_and_a_replay_changes_nothing():
    """Mirrors tests/integration/test_reporting.py::test_replaying_changes_nothing and
    tests/integration/test_report_rollups.py::test_a_replay_adds_nothing_to_the_bucket_rollup."""
    store, events = FakeReportingStore(), posted()
    new, refused = await worker_batch(store, events + events[:3])  # copies inside the batch too
    assert new == {e.event_id for e in events} and refused == []
    before = {d: await views.summary(store, query(d)) for d in (7, 30, 90)}
    tables = copy.deepcopy(store.tables)
    new, _ = await worker_batch(store, events)  # the whole batch redelivered
    assert new == set() and store.tables == tables
    marker = mapped(1, community="chinese", theme="stigma", people=4)
    new, _ = await worker_batch(store, [events[0], marker])
    assert new == {marker.event_id}
    for d in (7, 30, 90):
        after, _ = await views.summary(store, query(d))
        assert after["findings"]["current"] - before[d][0]["findings"]["current"] == 1
        assert after["people_affected"] - before[d][0]["people_affected"] == 4


async def test_an_unstorable_event_is_refused_and_the_rest_of_its_batch_recorded():
    """Mirrors tests/integration/test_unstorable.py::
    test_an_unstorable_mapped_event_is_dead_lettered_and_the_workers_go_on."""
    store = FakeReportingStore()
    poison = mapped(1, summary="Members met at the centre\x00 and spoke of waiting times")
    good = mapped(1, summary="Members spoke of long waits for a first appointment")
    new, refused = await worker_batch(store, [poison, good])
    assert new == {good.event_id} and list(store.tables.events) == [good.event_id]
    assert [(offset, reason.split(":")[0]) for offset, reason in refused] == [(0, "not storable")]
    assert (await views.summary(store, query(7)))[0]["findings"]["current"] == 1


async def test_rolling_windows_and_their_previous_windows():
    """Mirrors tests/integration/test_reporting.py::test_rolling_windows_and_their_previous_windows."""
    store = FakeReportingStore()
    await worker_batch(store, posted() + [mapped(2, area=OTHER_AREA)])
    expect = {7: (3, 0), 10: (3, 0), 15: (3, 5), 30: (8, 0), 45: (8, 7), 90: (15, 0)}
    for days, (cur, prev) in expect.items():
        body, _ = await views.summary(store, query(days))
        assert (body["findings"]["current"], body["findings"]["previous"]) == (cur, prev), days
        assert body["people_affected"] == 10 * cur and body["window"]["days"] == days
        assert body["data_as_of"] is not None
    region, _ = await views.overview(store, query(90, (AREA, OTHER_AREA)))
    alone, _ = await views.overview(store, query(90))
    assert next(a for a in region["areas"] if a["area"] == AREA) == alone["areas"][0]
    assert region["totals"]["findings"]["current"] == 16


async def test_unmet_needs_and_the_heatmap_count_what_was_recorded():
    """Mirrors tests/integration/test_reporting.py::test_unmet_needs_heatmap_and_drill_down (its
    reports; the drill-down reads the ledger in SQL only)."""
    store = FakeReportingStore()
    await worker_batch(store, posted() + [mapped(3, community="irish", theme="stigma", stages=(3,), comps=(7,))])
    unmet, _ = await views.unmet_needs(store, query(30))
    items = {(i["community"], i["theme"]): i for i in unmet["items"]}
    assert items[("somali", "unmet_need")]["findings"]["current"] == 8
    assert items[("somali", "unmet_need")]["people_affected"]["current"] == 80
    assert items[("irish", "stigma")]["findings"]["current"] == 1
    assert not items[("irish", "stigma")]["unmet_need_theme"]
    only, _ = await views.unmet_needs(store, query(30), unmet_only=True)
    assert [(i["community"], i["theme"]) for i in only["items"]] == [("somali", "unmet_need")]
    heat, _ = await views.heatmap(store, query(90))
    assert len(heat["cells"]) == 88
    cells = {(c["stage"], c["competency"]): c["events"] for c in heat["cells"]}
    assert cells[(1, 2)] == cells[(2, 5)] == 15 and cells[(3, 7)] == 1
    assert sum(cells.values()) == 4 * 15 + 1  # each finding in each of its stage x competency
    irish, _ = await views.heatmap(store, query(90), community="irish")
    assert {(c["stage"], c["competency"]): c["events"] for c in irish["cells"] if c["events"]} == {(3, 7): 1}


def alert(fingerprint: str, status: str, updated: datetime, area: str = AREA) -> Alert:
    return Alert.model_validate(
        {
            "fingerprint": fingerprint,
            "rule": "unmet_need",
            "area": area,
            "region": "west_midlands",
            "subject": "somali",
            "severity": "red",
            "status": status,
            "summary": "Unmet need reported by the Somali community is rising",
            "stages": [1, 2],
            "competencies": [2, 5],
            "evidence": {"findings": 9},
            "event_ids": [str(uuid.uuid4())],
            "starts_at": (updated - timedelta(days=3)).isoformat(),
            "updated_at": updated.isoformat(),
            "ends_at": None,
        }
    )


async def test_the_latest_state_of_an_alert_wins_whatever_the_order():
    """Mirrors tests/integration/test_reporting.py::test_open_alerts_from_the_alerts_topic."""
    store, now = FakeReportingStore(), datetime.now(timezone.utc)
    fp, other = uuid.uuid4().hex, uuid.uuid4().hex
    assert await store.upsert_alert(alert(fp, "firing", now - timedelta(minutes=5)))
    assert await store.upsert_alert(alert(fp, "acknowledged", now - timedelta(minutes=1)))
    assert not await store.upsert_alert(alert(fp, "firing", now - timedelta(minutes=3)))  # older, late
    assert not await store.upsert_alert(alert(fp, "acknowledged", now - timedelta(minutes=1)))  # a replay
    assert await store.upsert_alert(alert(other, "firing", now, area="BSOL"))
    body, _ = await views.alerts(store, query(30))
    (item,) = body["items"]
    assert (item["fingerprint"], item["state"], item["age"]) == (fp, "acknowledged", "3 days")
    assert "evidence" not in item
    overview, _ = await views.overview(store, query(30))
    assert overview["areas"][0]["open_alerts"] == 1
    assert await store.upsert_alert(alert(fp, "resolved", now))
    assert (await views.alerts(store, query(30)))[0]["items"] == []
    assert [i["state"] for i in (await views.alerts(store, query(30), include_resolved=True))[0]["items"]] == [
        "resolved"
    ]
