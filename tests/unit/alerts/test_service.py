"""The alerts use cases (AlertsService: ingest, tick, act, answer, ingest_peer_reviews) with
in-memory stores (tests/unit/alerts/fakes.py): an alert opened and told once, replays that change
nothing, resolution by hand and by a raised threshold, and a failure that leaves nothing written.
Each test names the integration test that runs the same path against real PostgreSQL and Kafka."""

from __future__ import annotations

import copy
from datetime import timedelta
from uuid import uuid4

import pytest

from contracts.events import AlertRule, MappedEvent, RecommendationResponse
from contracts.peer_review import EXAMPLE, MappedPeerReview, PeerReviewReturn, recommendation_id
from contracts.places import AREAS
from contracts.taxonomy import Competency, Stage
from contracts.vocabulary import Severity
from services.alerts.domain.conditions import fingerprint
from services.alerts.domain.delivery import Subscription
from services.alerts.domain.lifecycle import AlertRecord, LifecycleError, NotificationPolicy, Silence
from services.alerts.domain.thresholds import AreaThresholds
from services.alerts.service import AlertsService, ResponseIdTaken, UnknownAlert

from .factories import AREA, NOW, as_mapped, finding, with_recommendation
from .fakes import FakeDatabase, FakePool, StoreFailure, stores

#: The service's configured policy (services/alerts/config.py defaults) with the integration
#: tests' short group interval (tests/integration/test_alerts.py, alerts_env).
POLICY = NotificationPolicy(
    group_by=("area", "rule", "subject"),
    group_interval=timedelta(seconds=2),
    prompt=frozenset({"fired", "reopened", "escalated", "acknowledged", "resolved_by_hand"}),
)
FP = fingerprint(AlertRule.UNMET_NEED, AREA, "community:somali")


def service(*, subscribed: bool = True) -> tuple[AlertsService, FakeDatabase]:
    db = FakeDatabase()
    if subscribed:
        db.tables.subscriptions.append(
            Subscription(
                id=uuid4(),
                organisation_id="bsol-icb",
                areas=frozenset({AREA}),
                channel="webhook",
                target="https://bsol.example.org/hooks/alerts",
            )
        )
    svc = AlertsService(FakePool(db), POLICY, "https://alerts.example.org", timedelta(minutes=1), **stores())
    return svc, db


def mapped(
    severity: Severity = Severity.HIGH, people: int | None = 100, recommendation: str | None = None
) -> MappedEvent:
    event = finding(severity=severity, people=people)
    return as_mapped(with_recommendation(event, recommendation) if recommendation else event)


def alert(db: FakeDatabase, fp: str = FP) -> AlertRecord:
    return AlertRecord.model_validate_json(db.tables.alerts[fp][1])


def audit(db: FakeDatabase, fp: str = FP) -> list[tuple]:
    return [(a["action"], a["actor"], a["note"]) for a in db.tables.audit if a["fingerprint"] == fp]


async def test_findings_crossing_the_threshold_open_one_alert_and_queue_one_notification():
    """Mirrors tests/integration/test_alerts.py::
    test_findings_open_one_signed_notification_then_ack_and_resolve_are_told (its first part)."""
    svc, db = service()
    events = [mapped(), mapped()]  # 2 x (high 3 x 100 people 3) = 18 >= 15
    done = await svc.ingest(events, NOW)
    assert done.fresh == {e.event_id for e in events} and done.published == 1
    rec = alert(db)
    assert rec.status.value == "firing" and rec.severity.value == "amber"
    assert rec.evidence["findings"] == 2 and rec.evidence["score"] == 18.0
    assert sorted(map(str, rec.event_ids)) == sorted(str(e.event_id) for e in events)
    assert audit(db) == [("fired", None, None)]
    (note,) = db.tables.notifications
    assert (note["status"], note["reason"], note["fingerprints"]) == ("firing", "new", [FP])
    assert note["subscription_id"] == db.tables.subscriptions[0].id and note["state"] == "pending"
    assert note["payload"]["notificationId"] == str(note["id"])
    assert [a["fingerprint"] for a in note["payload"]["alerts"]] == [FP]
    assert [(p["fingerprint"], p["payload"]["status"]) for p in db.tables.publications] == [(FP, "firing")]
    assert ("csp_alert_outbox", "") in db.notified  # the delivery loop is woken on commit


async def test_the_same_events_again_change_nothing_and_a_copy_in_a_batch_counts_once():
    """Mirrors the replay part of tests/integration/test_alerts.py::
    test_findings_open_one_signed_notification_then_ack_and_resolve_are_told."""
    svc, db = service()
    events = [mapped(), mapped()]
    await svc.ingest(events, NOW)
    before = copy.deepcopy(db.tables)
    again = await svc.ingest(events, NOW + timedelta(seconds=1))
    assert again.fresh == set() and again.turns == ()
    assert db.tables == before  # nothing counted twice, nothing queued
    marker = mapped(severity=Severity.LOW, people=None)
    done = await svc.ingest([events[0], marker, marker], NOW + timedelta(seconds=2))
    assert done.fresh == {marker.event_id}
    rec = alert(db)
    assert rec.evidence["findings"] == 3 and rec.evidence["score"] == 19.0
    assert audit(db) == [("fired", None, None)] and len(db.tables.notifications) == 1
    assert [(p["payload"]["status"], len(p["payload"]["event_ids"])) for p in db.tables.publications] == [
        ("firing", 2),
        ("firing", 3),
    ]


async def test_acknowledge_and_resolve_by_hand_are_recorded_and_told():
    """Mirrors the acknowledge and resolve part of tests/integration/test_alerts.py::
    test_findings_open_one_signed_notification_then_ack_and_resolve_are_told."""
    svc, db = service()
    await svc.ingest([mapped(), mapped()], NOW)
    acked = await svc.act(
        FP,
        "acknowledge",
        by="bsol-icb",
        key_id="k-bsol",
        note="Raised with the talking therapies lead.",
        now=NOW + timedelta(minutes=1),
    )
    assert acked.status.value == "acknowledged" and acked.acknowledged_by == "bsol-icb"
    with pytest.raises(LifecycleError):  # the API's 409
        await svc.act(FP, "acknowledge", by="bsol-icb", key_id="k-bsol", note=None, now=NOW + timedelta(minutes=2))
    resolved = await svc.act(
        FP,
        "resolve",
        by="bsol-icb",
        key_id="k-bsol",
        note="Counselling commissioned from Pattigift.",
        now=NOW + timedelta(minutes=3),
    )
    assert resolved.status.value == "resolved" and resolved.ends_at is not None
    assert alert(db) == resolved
    assert audit(db) == [
        ("fired", None, None),
        ("acknowledged", "bsol-icb", "Raised with the talking therapies lead."),
        ("resolved", "bsol-icb", "Counselling commissioned from Pattigift."),
    ]
    assert [a["key_id"] for a in db.tables.audit] == [None, "k-bsol", "k-bsol"]
    assert [n["status"] for n in db.tables.notifications] == ["firing", "firing", "resolved"]
    assert len({n["id"] for n in db.tables.notifications}) == 3
    assert [p["payload"]["status"] for p in db.tables.publications] == ["firing", "acknowledged", "resolved"]
    with pytest.raises(UnknownAlert):
        await svc.act("0" * 32, "resolve", by="bsol-icb", key_id="k-bsol", note=None, now=NOW)


async def test_a_raised_threshold_resolves_the_alert_at_the_next_tick():
    """Mirrors tests/integration/test_alerts.py::
    test_thresholds_are_validated_and_a_raised_threshold_resolves_automatically."""
    svc, db = service()
    await svc.ingest([mapped(), mapped()], NOW)
    db.tables.thresholds[AREA] = AreaThresholds.model_validate(
        {"unmet_need": {"amber_score": 30, "red_score": 60}}
    ).model_dump_json(exclude_defaults=True)
    await svc.tick(AREA, NOW + timedelta(minutes=1))
    assert alert(db).status.value == "resolved"
    assert audit(db) == [("fired", None, None), ("resolved", None, None)]
    await svc.tick(AREA, NOW + timedelta(minutes=2))  # the group interval has passed
    told = db.tables.notifications[-1]
    assert (told["status"], told["reason"]) == ("resolved", "resolved")
    assert len(db.tables.notifications) == 2


async def test_a_silence_mutes_the_notification_not_the_alert():
    """Mirrors tests/integration/test_alerts.py::
    test_a_silence_mutes_notifications_not_state_until_it_expires (while the silence holds)."""
    svc, db = service()
    db.tables.silences.append(
        Silence(
            id="s1",
            created_by="bsol-icb",
            reason="A new service opens next month.",
            starts_at=NOW - timedelta(hours=1),
            ends_at=NOW + timedelta(hours=1),
            area=AREA,
            rule=AlertRule.UNMET_NEED,
            subject="community:somali",
        )
    )
    await svc.ingest([mapped(), mapped()], NOW)
    assert alert(db).status.value == "firing" and alert(db).silenced_by
    assert db.tables.notifications == []


@pytest.mark.parametrize(
    "step",
    ["first_sights", "save_records", "append_audit", "enqueue_notifications", "enqueue_publications", "announce"],
)
async def test_a_failure_mid_batch_leaves_nothing_written_and_the_retry_applies_it_once(step):
    """Mirrors tests/integration/test_alerts.py::test_killing_the_worker_loses_and_repeats_nothing:
    state, the seen event ids and both outboxes commit together or not at all."""
    svc, db = service()
    events = [mapped(), mapped()]
    before = copy.deepcopy(db.tables)
    db.fail_at = step
    with pytest.raises(StoreFailure):
        await svc.ingest(events, NOW)
    assert db.tables == before and db.notified == []  # not an event id marked seen, not a row queued
    db.fail_at = None
    done = await svc.ingest(events, NOW)  # the batch redelivered
    assert done.fresh == {e.event_id for e in events}
    assert alert(db).evidence["findings"] == 2 and audit(db) == [("fired", None, None)]
    assert len(db.tables.notifications) == 1 and len(db.tables.publications) == 1
    await svc.ingest(events, NOW)
    assert len(db.tables.notifications) == 1 and len(db.tables.publications) == 1


async def test_an_answer_is_recorded_once_and_its_id_is_not_reused():
    """Mirrors tests/integration/test_recommendations.py::
    test_a_recommendation_left_unanswered_alerts_and_an_answer_resolves_it (the answers)."""
    svc, db = service()
    finding_ = mapped(recommendation="Fund a Somali-speaking counsellor at the GP practice.")
    await svc.ingest([finding_], NOW)
    await svc.ingest([finding_], NOW)
    assert list(db.tables.recommendations) == [finding_.event_id]  # a replay opens nothing
    answer = RecommendationResponse(
        event_id=uuid4(),
        source="bsol-icb",
        occurred_at=NOW,
        area=AREA,
        region=AREAS[AREA].region,
        data={
            "recommendation_id": finding_.event_id,
            "outcome": "accepted",
            "action": "Commission a Somali-speaking counsellor.",
            "owner": "Head of mental health commissioning",
            "due_date": "2026-06-30",
        },
    )
    rec, new = await svc.answer(answer, key_id="k-bsol", now=NOW)
    assert new and rec.status == "accepted"
    written = copy.deepcopy(db.tables)
    again, new = await svc.answer(answer, key_id="k-bsol", now=NOW + timedelta(minutes=1))
    assert not new and again == rec and db.tables == written
    other = answer.model_copy(update={"data": answer.data.model_copy(update={"owner": "Someone else"})})
    with pytest.raises(ResponseIdTaken):
        await svc.answer(other, key_id="k-bsol", now=NOW)
    assert db.tables == written
    assert [p["response_id"] for p in db.tables.response_publications] == [answer.event_id]


async def test_a_peer_review_return_opens_its_recommendations_once():
    """Mirrors tests/integration/test_peer_reviews.py::test_replaying_every_record_changes_nothing."""
    svc, db = service()
    body = copy.deepcopy(EXAMPLE)
    body["data"]["recommendations"] = EXAMPLE["data"]["recommendations"] + [
        {"recommendation": "Recruit a CDW for the rural east of the county.", "theme": "service_gap"}
    ]
    returned = MappedPeerReview(
        event=PeerReviewReturn.model_validate(body),
        stages=[Stage.MANAGING_PERFORMANCE],
        competencies=[Competency.ENGAGE_WITH_PUBLIC_AND_PATIENTS],
        rule_ids=["peer_review.panel"],
        rules_version="test",
        mapped_at=NOW,
    )
    assert await svc.ingest_peer_reviews([returned, returned], NOW) == {returned.event_id}
    ids = [recommendation_id(returned.event_id, i) for i in range(2)]
    assert sorted(db.tables.recommendations) == sorted(ids) and list(db.tables.peer_reviews) == [returned.event_id]
    written = copy.deepcopy(db.tables)
    assert await svc.ingest_peer_reviews([returned], NOW + timedelta(days=1)) == set()
    assert db.tables == written
