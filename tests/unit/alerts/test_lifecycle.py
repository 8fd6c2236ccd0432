"""Lifecycle: transitions, acknowledgement, resolution, silences, grouping and timing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.events import Alert, AlertRule, AlertSeverity, AlertStatus
from services.alerts.domain.conditions import Condition
from services.alerts.domain.lifecycle import (
    LifecycleError,
    NotificationPolicy,
    Silence,
    acknowledge,
    flush,
    resolve_by_hand,
    step,
    transition,
)
from services.alerts.domain.records import RuleOutcome

from .factories import AREA, NOW

AMBER, RED = AlertSeverity.AMBER, AlertSeverity.RED
FIRING, ACKED, RESOLVED = AlertStatus.FIRING, AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED
POLICY = NotificationPolicy()  # group by area and rule; wait 0, interval 5 min, repeat 24 h
MIN = timedelta(minutes=1)


def cond(
    severity=AMBER, subject="community:somali", rule=AlertRule.UNMET_NEED, area=AREA, score=20.0, inhibited_by=None
) -> Condition:
    outcome = RuleOutcome(
        severity=severity, subject=subject, detail=f"Score {score}.", evidence={"score": score}, event_ids=()
    )
    return Condition.of(rule, area, outcome, inhibited_by=inhibited_by)


class Run:
    """Drives step() through time, as the worker will."""

    def __init__(self, policy=POLICY, silences=()):
        self.records, self.groups, self.policy, self.silences = {}, {}, policy, list(silences)
        self.sent, self.audit = [], []

    def at(self, when, *conditions, area=AREA):
        result = step(
            self.records,
            list(conditions),
            area=area,
            now=when,
            groups=self.groups,
            silences=self.silences,
            policy=self.policy,
        )
        self.records, self.groups = result.records, result.groups
        self.sent.extend(result.notifications)
        self.audit.extend(result.audit)
        return result

    def one(self):
        (record,) = self.records.values()
        return record


# --- transitions ----------------------------------------------------------------------------


def test_a_new_condition_fires_and_is_notified_at_once():
    run = Run()
    result = run.at(NOW, cond())
    record = run.one()
    assert record.status is FIRING and record.starts_at == NOW
    assert [a.action for a in result.audit] == ["fired"]
    (note,) = result.notifications
    assert (note.reason, note.status, note.group_labels) == ("new", "firing", {"area": AREA, "rule": "unmet_need"})
    assert isinstance(note.alerts[0], Alert) and note.alerts[0].status is FIRING
    assert result.next_wakeup == NOW + POLICY.repeat_interval


def test_the_same_condition_again_is_one_alert_and_no_new_notification():
    run = Run()
    run.at(NOW, cond())
    result = run.at(NOW + MIN, cond(score=25.0))
    assert len(run.records) == 1
    assert run.one().evidence == {"score": 25.0} and run.one().updated_at == NOW + MIN
    assert run.one().starts_at == NOW
    assert result.notifications == () and result.audit == ()


def test_condition_that_clears_resolves_and_is_notified():
    run = Run()
    run.at(NOW, cond())
    result = run.at(NOW + 10 * MIN)
    assert run.one().status is RESOLVED and run.one().ends_at == NOW + 10 * MIN
    assert run.one().resolved_by is None
    assert [a.action for a in result.audit] == ["resolved"]
    (note,) = result.notifications
    assert (note.reason, note.status) == ("resolved", "resolved")
    assert note.alerts[0].ends_at == NOW + 10 * MIN
    assert run.groups == {}  # an empty group is forgotten, as in Alertmanager


def test_resolution_waits_for_the_group_interval():
    run = Run()
    run.at(NOW, cond())
    assert run.at(NOW + 2 * MIN).notifications == ()
    assert run.one().status is RESOLVED  # state changes at once; only telling waits
    assert run.at(NOW + 5 * MIN - timedelta(seconds=1)).notifications == ()
    (note,) = run.at(NOW + 5 * MIN).notifications
    assert note.reason == "resolved"


def test_escalation_is_an_update_at_most_once_per_group_interval():
    run = Run()
    run.at(NOW, cond(AMBER))
    result = run.at(NOW + MIN, cond(RED))
    assert [a.action for a in result.audit] == ["escalated"]
    assert result.notifications == ()
    assert result.next_wakeup == NOW + 5 * MIN
    (note,) = run.at(NOW + 5 * MIN, cond(RED)).notifications
    assert note.reason == "update" and note.alerts[0].severity is RED
    assert run.at(NOW + 6 * MIN, cond(AMBER)).notifications == ()
    assert run.audit[-1].action == "de-escalated"


def test_repeat_interval_reminds_a_firing_group():
    run = Run()
    run.at(NOW, cond())
    assert run.at(NOW + timedelta(hours=24) - MIN, cond()).notifications == ()
    (note,) = run.at(NOW + timedelta(hours=24), cond()).notifications
    assert note.reason == "reminder"
    assert run.at(NOW + timedelta(hours=25), cond()).notifications == ()
    assert run.at(NOW + timedelta(hours=48), cond()).notifications[0].reason == "reminder"


def test_a_new_alert_in_a_notified_group_waits_for_the_interval_and_shares_the_message():
    run = Run()
    run.at(NOW, cond(subject="community:somali"))
    assert run.at(NOW + MIN, cond(subject="community:somali"), cond(subject="community:irish")).notifications == ()
    (note,) = run.at(NOW + 5 * MIN, cond(subject="community:somali"), cond(subject="community:irish")).notifications
    assert note.reason == "update"
    assert {a.subject for a in note.alerts} == {"community:somali", "community:irish"}


def test_grouping_by_subject_gives_one_message_per_alert():
    run = Run(policy=NotificationPolicy(group_by=("area", "rule", "subject")))
    result = run.at(NOW, cond(subject="community:somali"), cond(subject="community:irish"))
    assert len(result.notifications) == 2
    assert all(len(n.alerts) == 1 for n in result.notifications)


def test_group_wait_delays_the_first_message_of_a_new_group():
    run = Run(policy=NotificationPolicy(group_wait=timedelta(seconds=30)))
    first = run.at(NOW, cond())
    assert first.notifications == () and first.next_wakeup == NOW + timedelta(seconds=30)
    assert run.at(NOW + timedelta(seconds=29), cond()).notifications == ()
    (note,) = run.at(NOW + timedelta(seconds=30), cond()).notifications
    assert note.reason == "new"


def test_flapping_inside_group_wait_tells_nobody():
    run = Run(policy=NotificationPolicy(group_wait=timedelta(seconds=30)))
    run.at(NOW, cond())
    assert run.at(NOW + timedelta(seconds=10)).notifications == ()
    assert run.at(NOW + timedelta(seconds=40)).notifications == ()
    assert run.sent == []


def test_reopening_after_resolution_is_a_new_episode():
    run = Run()
    run.at(NOW, cond())
    run.at(NOW + 10 * MIN)
    result = run.at(NOW + 20 * MIN, cond())
    assert run.one().status is FIRING and run.one().starts_at == NOW + 20 * MIN
    assert run.one().ends_at is None
    assert [a.action for a in result.audit] == ["reopened"]
    assert result.notifications[0].reason == "new"


def test_records_of_other_areas_are_left_alone():
    run = Run()
    run.at(NOW, cond(area="SHEF"), area="SHEF")
    run.at(NOW + MIN, cond(), area=AREA)
    sheffield = next(r for r in run.records.values() if r.area == "SHEF")
    assert sheffield.status is FIRING


def test_conditions_must_belong_to_the_area_and_be_unique():
    with pytest.raises(ValueError, match="SHEF"):
        transition({}, [cond(area="SHEF")], area=AREA, now=NOW)
    with pytest.raises(ValueError, match="two conditions"):
        transition({}, [cond(), cond(RED)], area=AREA, now=NOW)


# --- acknowledgement and resolution by hand --------------------------------------------------


def test_acknowledged_stays_acknowledged_until_resolved():
    run = Run()
    run.at(NOW, cond())
    acked, entry = acknowledge(run.one(), by="commissioner@bsol", note="Raised at the LIT", now=NOW + MIN)
    assert (acked.status, acked.acknowledged_by, acked.acknowledgement_note) == (
        ACKED,
        "commissioner@bsol",
        "Raised at the LIT",
    )
    assert (entry.action, entry.from_status, entry.to_status, entry.by) == (
        "acknowledged",
        FIRING,
        ACKED,
        "commissioner@bsol",
    )
    run.records = {acked.fingerprint: acked}
    (note,) = run.at(NOW + 5 * MIN, cond()).notifications
    assert note.reason == "update" and note.alerts[0].status is ACKED
    run.at(NOW + 6 * MIN, cond(RED))
    assert run.one().status is ACKED and run.one().severity is RED
    assert run.at(NOW + timedelta(days=3), cond(RED)).notifications[0].reason == "update"
    assert run.at(NOW + timedelta(days=6), cond(RED)).notifications == ()  # no reminders
    run.at(NOW + timedelta(days=7))
    assert run.one().status is RESOLVED


def test_acknowledging_twice_or_after_resolution_is_refused():
    run = Run()
    run.at(NOW, cond())
    acked, _ = acknowledge(run.one(), by="a", note=None, now=NOW)
    with pytest.raises(LifecycleError, match="already acknowledged by a"):
        acknowledge(acked, by="b", note=None, now=NOW)
    resolved, _ = resolve_by_hand(acked, by="a", note="done", now=NOW)
    with pytest.raises(LifecycleError, match="resolved"):
        acknowledge(resolved, by="b", note=None, now=NOW)
    with pytest.raises(LifecycleError, match="already resolved"):
        resolve_by_hand(resolved, by="b", note=None, now=NOW)
    with pytest.raises(LifecycleError):
        acknowledge(run.one(), by="", note=None, now=NOW)


def test_resolved_by_hand_stays_resolved_while_the_condition_holds():
    run = Run()
    run.at(NOW, cond(AMBER))
    resolved, entry = resolve_by_hand(run.one(), by="lead", note="Known; funded next quarter", now=NOW + MIN)
    assert entry.action == "resolved" and entry.by == "lead"
    run.records = {resolved.fingerprint: resolved}
    result = run.at(NOW + 10 * MIN, cond(AMBER))
    assert run.one().status is RESOLVED and result.audit == ()
    assert result.notifications[0].reason == "resolved"
    run.at(NOW + 20 * MIN, cond(AMBER))
    assert run.one().status is RESOLVED
    escalated = run.at(NOW + 30 * MIN, cond(RED))
    assert run.one().status is FIRING and run.one().severity is RED
    assert [a.action for a in escalated.audit] == ["reopened"]


def test_resolved_by_hand_reopens_when_the_condition_clears_and_returns():
    run = Run()
    run.at(NOW, cond())
    resolved, _ = resolve_by_hand(run.one(), by="lead", note=None, now=NOW + MIN)
    run.records = {resolved.fingerprint: resolved}
    run.at(NOW + 2 * MIN)  # condition clears: the hold is released
    assert run.one().held_until_clear is False
    run.at(NOW + 3 * MIN, cond())
    assert run.one().status is FIRING


# --- silences -------------------------------------------------------------------------------


def silence(**kw):
    defaults = {
        "id": "s1",
        "created_by": "lead",
        "reason": "Known gap; panel meets Friday",
        "starts_at": NOW - MIN,
        "ends_at": NOW + timedelta(hours=2),
        "rule": AlertRule.UNMET_NEED,
    }
    return Silence(**{**defaults, **kw})


def test_silence_mutes_notifications_but_not_state():
    run = Run(silences=[silence()])
    result = run.at(NOW, cond())
    assert run.one().status is FIRING and run.one().silenced_by == ("s1",)
    assert result.notifications == () and [a.action for a in result.audit] == ["fired"]
    assert run.at(NOW + timedelta(hours=1), cond(RED)).notifications == ()
    assert run.one().severity is RED
    (note,) = run.at(NOW + timedelta(hours=2), cond(RED)).notifications  # silence expired
    assert note.reason == "new" and note.alerts[0].severity is RED
    assert run.one().silenced_by == ()


def test_resolution_while_silenced_is_not_notified():
    run = Run()
    run.at(NOW, cond())
    run.silences = [silence(starts_at=NOW + MIN)]
    run.at(NOW + 2 * MIN, cond())
    result = run.at(NOW + 10 * MIN)
    assert run.one().status is RESOLVED and result.notifications == ()
    run.silences = []
    assert run.at(NOW + 3 * timedelta(hours=1)).notifications == ()


def test_silence_matchers():
    run = Run(silences=[silence(rule=None, area="SHEF")])
    assert len(run.at(NOW, cond()).notifications) == 1
    other = Run(silences=[silence(rule=None, subject="community:irish")])
    (note,) = other.at(NOW, cond(subject="community:somali"), cond(subject="community:irish")).notifications
    assert [a.subject for a in note.alerts] == ["community:somali"]


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"ends_at": NOW - timedelta(hours=1)}, "ends_at"),
        ({"rule": None}, "matcher"),
        ({"created_by": ""}, "created_by"),
        ({"reason": ""}, "reason"),
    ],
)
def test_silence_validation(kw, message):
    with pytest.raises(ValidationError, match=message):
        silence(**kw)


# --- policy -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"group_by": ("rule",)}, "area"),
        ({"group_by": ("area", "area")}, "repeat"),
        ({"group_wait": timedelta(seconds=-1)}, "group_wait"),
        ({"group_interval": timedelta(0)}, "group_interval"),
        ({"repeat_interval": timedelta(minutes=1)}, "repeat_interval"),
        ({"group_by": ("area", "severity")}, "group_by"),
    ],
)
def test_policy_validation(kw, message):
    with pytest.raises(ValidationError, match=message):
        NotificationPolicy(**kw)


def test_flush_alone_sends_an_acknowledgement():
    run = Run()
    run.at(NOW, cond())
    acked, _ = acknowledge(run.one(), by="lead", note=None, now=NOW + 6 * MIN)
    records, groups, intents, _ = flush({acked.fingerprint: acked}, run.groups, now=NOW + 6 * MIN)
    (note,) = intents
    assert note.alerts[0].status is ACKED
    assert records[acked.fingerprint].notified_status is ACKED


# --- properties ---------------------------------------------------------------------------------


@settings(max_examples=120, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.integers(1, 600), st.sampled_from([None, AMBER, RED]), st.sampled_from([None, AMBER])),
        min_size=1,
        max_size=40,
    )
)
def test_a_group_is_told_at_most_once_per_group_interval(steps):
    """Whatever the conditions do, a group that keeps alerts hears at most once per interval."""
    run, now = Run(), NOW
    for gap_seconds, somali, irish in steps:
        now += timedelta(seconds=gap_seconds)
        conditions = [
            c
            for c in (
                somali and cond(somali, subject="community:somali"),
                irish and cond(irish, subject="community:irish"),
            )
            if c
        ]
        run.at(now, *conditions)
    times = [n.at for n in run.sent]
    for earlier, later, note in zip(times, times[1:], run.sent[1:]):
        assert later - earlier >= POLICY.group_interval or note.reason == "new"


@settings(max_examples=120, deadline=None)
@given(pattern=st.lists(st.sampled_from([None, AMBER, RED]), min_size=1, max_size=30))
def test_state_follows_the_conditions_and_resolutions_are_told_only_after_firing(pattern):
    run, now = (
        Run(policy=NotificationPolicy(group_interval=timedelta(seconds=1), repeat_interval=timedelta(hours=1))),
        NOW,
    )
    told_firing = False
    for severity in pattern:
        now += MIN
        result = run.at(now, *([cond(severity)] if severity else []))
        record = run.one() if run.records else None
        if severity is None:
            assert record is None or record.status is RESOLVED
        else:
            assert record.status is FIRING and record.severity is severity
        for note in result.notifications:
            if note.status == "resolved":
                assert told_firing
            told_firing = note.status == "firing"
