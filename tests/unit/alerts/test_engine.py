"""One area's turn (engine.advance / engine.act): idempotent replays, stable evidence, prompt
notification of new alerts and people's actions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.events import AlertStatus
from contracts.vocabulary import Community, Severity
from services.alerts.domain import engine
from services.alerts.domain.lifecycle import LifecycleError, NotificationPolicy
from services.alerts.domain.state import new_state

from .factories import AREA, NOW, finding

PROMPT = NotificationPolicy(
    group_by=("area", "rule", "subject"),
    prompt=frozenset({"fired", "reopened", "escalated", "acknowledged", "resolved_by_hand"}),
)
MIN = timedelta(minutes=1)


class Area:
    """Drives the engine through events and time, as the worker and API do."""

    def __init__(self, policy=PROMPT):
        self.state, self.records, self.groups, self.policy = new_state(AREA), {}, {}, policy
        self.told, self.audit, self.published = [], [], []

    def keep(self, turn):
        self.state, self.records, self.groups = turn.state, turn.records, turn.groups
        self.told += turn.notifications
        self.audit += turn.audit
        self.published += turn.alerts()
        return turn

    def event(self, event, at=NOW):
        return self.keep(
            engine.advance(self.state, self.records, self.groups, now=at, events=[event], policy=self.policy)
        )

    def tick(self, at):
        return self.keep(engine.advance(self.state, self.records, self.groups, now=at, policy=self.policy))

    def act(self, fp, action, at, by="gman-icb", note="noted"):
        return self.keep(
            engine.act(
                self.state,
                self.records,
                self.groups,
                fingerprint=fp,
                action=action,
                by=by,
                note=note,
                now=at,
                policy=self.policy,
            )
        )


def high(community=Community.SOMALI, **kw):
    return finding(severity=Severity.HIGH, people=100, community=community, **kw)


def test_two_findings_fire_once_and_a_replay_changes_nothing():
    area, first, second = Area(), high(), high()
    assert area.event(first).notifications == ()
    turn = area.event(second)
    (fp,) = turn.published
    assert turn.changed == (fp,) and [a.action for a in turn.audit] == ["fired"]
    (note,) = turn.notifications
    assert note.reason == "new" and note.alerts[0].fingerprint == fp
    for again in (first, second):
        replay = area.event(again)
        assert replay.state is area.state
        assert (replay.changed, replay.published, replay.notifications, replay.audit) == ((), (), (), ())


def test_evidence_does_not_change_with_the_clock_alone():
    area = Area()
    area.event(high())
    area.event(high())
    for minutes in (1, 7, 90):
        turn = area.tick(NOW + minutes * MIN)
        assert turn.changed == () and turn.published == () and turn.notifications == ()


def test_a_new_alert_in_an_area_already_told_goes_out_at_once():
    area = Area()
    area.event(high())
    area.event(high())
    area.event(high(Community.IRISH), at=NOW + MIN)
    turn = area.event(high(Community.IRISH), at=NOW + 2 * MIN)
    (note,) = turn.notifications
    assert note.reason == "new" and note.alerts[0].subject == "community:irish"


def test_acknowledgement_and_resolution_by_hand_are_told_inside_the_group_interval():
    area = Area()
    area.event(high())
    (fp,) = area.event(high()).published
    acked = area.act(fp, "acknowledge", NOW + MIN)
    (note,) = acked.notifications
    assert note.reason == "update" and note.alerts[0].status is AlertStatus.ACKNOWLEDGED
    assert [(a.action, a.by, a.note) for a in acked.audit] == [("acknowledged", "gman-icb", "noted")]
    resolved = area.act(fp, "resolve", NOW + 2 * MIN, note="commissioned")
    (note,) = resolved.notifications
    assert note.reason == "resolved" and note.status == "resolved"
    assert resolved.published == (fp,) and resolved.records[fp].resolved_by == "gman-icb"
    with pytest.raises(LifecycleError):
        area.act(fp, "acknowledge", NOW + 3 * MIN)
    # Resolved by hand while the condition holds: the next evaluation leaves it resolved.
    assert area.tick(NOW + 4 * MIN).published == ()


def test_without_prompt_actions_an_acknowledgement_waits_for_the_group_interval():
    area = Area(NotificationPolicy())
    area.event(high())
    (fp,) = area.event(high()).published
    assert area.act(fp, "acknowledge", NOW + MIN).notifications == ()
    (note,) = area.tick(NOW + 6 * MIN).notifications
    assert note.alerts[0].status is AlertStatus.ACKNOWLEDGED


def test_an_automatic_resolution_waits_for_the_group_interval():
    area = Area()
    area.event(high(days_ago=29.999))
    (fp,) = area.event(high(days_ago=29.999)).published
    turn = area.tick(NOW + 2 * MIN)  # both findings have left the 30-day window
    assert turn.records[fp].status is AlertStatus.RESOLVED and turn.notifications == ()
    assert turn.published == (fp,) and turn.next_wakeup == NOW + 5 * MIN
    (note,) = area.tick(NOW + 5 * MIN).notifications
    assert note.reason == "resolved"


def test_unknown_fingerprint_is_a_key_error():
    with pytest.raises(KeyError):
        Area().act("0" * 32, "acknowledge", NOW)


def test_a_batch_of_events_ends_where_the_same_events_one_by_one_end():
    events = [
        high(),
        high(),
        high(community=Community.IRISH),
        high(community=Community.IRISH),
        finding(severity=Severity.LOW, people=3),
    ]
    one_by_one = Area()
    for event in events:
        one_by_one.event(event)
    batch = Area()
    turn = batch.keep(
        engine.advance(batch.state, batch.records, batch.groups, now=NOW, events=events, policy=batch.policy)
    )
    assert batch.state == one_by_one.state
    assert batch.records == one_by_one.records and len(batch.records) == 2
    assert sorted(a.action for a in turn.audit) == ["fired", "fired"]
    assert sorted(fp for n in turn.notifications for fp in (a.fingerprint for a in n.alerts)) == sorted(batch.records)


def test_a_copy_of_an_event_inside_a_batch_counts_once():
    first = high()
    batch = Area()
    turn = batch.keep(
        engine.advance(batch.state, batch.records, batch.groups, now=NOW, events=[first, first], policy=batch.policy)
    )
    assert turn.audit == () and batch.records == {}  # one high finding is under the threshold
    assert [a.action for a in batch.event(high()).audit] == ["fired"]
