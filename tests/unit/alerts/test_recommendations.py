"""Recommendations and their follow-up: the record a finding opens, answers, and the two rules
(not followed up, action overdue) with injected time and thresholds."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import uuid4

import pytest
from pydantic import ValidationError

from contracts.events import (
    AlertRule,
    AlertSeverity,
    AlertStatus,
    MappedEvent,
    RecommendationResponse,
    RecommendationResponseData,
)
from contracts.places import AREAS
from contracts.taxonomy import CDWRole, Competency, Stage
from services.alerts.domain import engine
from services.alerts.domain.conditions import CONCERNS, fingerprint
from services.alerts.domain.recommendations import (
    Recommendation,
    RecommendationError,
    answer,
    follow_up_conditions,
    follow_up_summary,
    subject,
)
from services.alerts.domain.state import new_state
from services.alerts.domain.thresholds import RecommendationThresholds, threshold_sources

from .factories import AREA, NOW, as_mapped, finding, with_recommendation

DEFAULTS = RecommendationThresholds()


def mapped(
    *, recommendation: str | None = "Fund a Somali-speaking counsellor at the GP practice.", days_ago: float = 1.0
) -> MappedEvent:
    return as_mapped(with_recommendation(finding(days_ago=days_ago), recommendation))


def rec(days_ago: float = 1.0) -> Recommendation:
    made = Recommendation.of(mapped(days_ago=days_ago), NOW)
    assert made is not None
    return made


def response(r: Recommendation, at: datetime = NOW, response_id=None, **data) -> RecommendationResponse:
    return RecommendationResponse(
        event_id=response_id or uuid4(),
        source="bsol-icb",
        occurred_at=at,
        area=r.area,
        region=AREAS[r.area].region,
        data={"recommendation_id": r.id, **data},
    )


ACCEPT = dict(
    outcome="accepted",
    action="Commission a Somali-speaking counsellor.",
    owner="Head of mental health commissioning",
    due_date=date(2026, 6, 30),
)


# --- the record a finding opens ---------------------------------------------------------------


def test_a_finding_with_a_recommendation_opens_one_with_who_what_where_and_when():
    m = mapped()
    r = Recommendation.of(m, NOW)
    assert r is not None and r.id == m.event_id and r.area == AREA
    assert r.organisation_id == "pattigift-cdw" and r.cdw_roles == (CDWRole.CHANGE_AGENT,)
    assert r.community.value == "somali" and r.service == "talking therapies"
    assert r.stages == (Stage.ASSESSING_NEEDS,)
    assert r.competencies == (Competency.ENGAGE_WITH_PUBLIC_AND_PATIENTS,)
    assert r.made_at == m.event.occurred_at and r.recorded_at == NOW
    assert r.status == "awaiting_response" and r.open


@pytest.mark.parametrize("text", [None, "   "])
def test_a_finding_without_a_recommendation_opens_none(text):
    assert Recommendation.of(mapped(recommendation=text), NOW) is None


# --- answers --------------------------------------------------------------------------------


def test_accepted_then_progress_then_completed():
    base = rec()
    r = answer(base, response(base, **ACCEPT))
    assert r.status == "accepted" and r.open and r.due_date == date(2026, 6, 30)
    r = answer(r, response(r, at=NOW + timedelta(days=10), progress="in_progress"))
    assert r.status == "accepted" and r.open and r.first_responded_at == NOW
    r = answer(
        r,
        response(
            r, at=NOW + timedelta(days=40), progress="completed", note="A counsellor started in May; 40 people seen."
        ),
    )
    assert r.status == "completed" and not r.open and r.completed_at == NOW + timedelta(days=40)
    with pytest.raises(RecommendationError, match="completed"):
        answer(r, response(r, **ACCEPT))


def test_not_accepted_closes_it_and_progress_needs_acceptance():
    base = rec()
    r = answer(base, response(base, outcome="not_accepted", reason="Already commissioned city-wide."))
    assert r.status == "not_accepted" and not r.open and r.action is None
    with pytest.raises(RecommendationError, match="accepted"):
        answer(base, response(base, progress="in_progress"))


def test_an_answer_for_another_recommendation_is_refused():
    a, b = rec(), rec()
    with pytest.raises(RecommendationError):
        answer(a, response(b, **ACCEPT))


@pytest.mark.parametrize(
    "data, field",
    [
        ({"outcome": "not_accepted"}, "reason"),
        ({"outcome": "accepted", "owner": "x", "due_date": "2026-06-30"}, "action"),
        ({"outcome": "partly_accepted", "action": "y", "owner": "x"}, "due_date"),
        ({"outcome": "not_accepted", "reason": "no", "action": "y"}, "action"),
        ({}, "progress"),
        ({**ACCEPT, "progress": "in_progress"}, "progress"),
        ({"progress": "completed"}, "note"),
    ],
)
def test_the_contract_names_the_field_an_answer_lacks(data, field):
    with pytest.raises(ValidationError) as exc:
        RecommendationResponseData(recommendation_id=uuid4(), **data)
    assert [e["loc"] for e in exc.value.errors()] == [(field,)]


# --- the rules, with injected time and thresholds --------------------------------------------


def rules(recs, now, t=DEFAULTS):
    return {(c.rule, c.severity) for c in follow_up_conditions(recs, now, t)}


def test_no_response_within_the_window_is_not_followed_up_then_red():
    r = rec(days_ago=0)
    assert rules([r], NOW + timedelta(days=59, hours=23)) == set()
    assert rules([r], NOW + timedelta(days=60)) == {(AlertRule.RECOMMENDATION_NOT_FOLLOWED_UP, AlertSeverity.AMBER)}
    assert rules([r], NOW + timedelta(days=120)) == {(AlertRule.RECOMMENDATION_NOT_FOLLOWED_UP, AlertSeverity.RED)}


def test_the_window_is_an_area_setting():
    r = rec(days_ago=0)
    short = RecommendationThresholds(response_days=14, red_response_days=28)
    assert rules([r], NOW + timedelta(days=14), short) == {
        (AlertRule.RECOMMENDATION_NOT_FOLLOWED_UP, AlertSeverity.AMBER)
    }
    with pytest.raises(ValidationError, match="red_response_days"):
        RecommendationThresholds(response_days=30, red_response_days=20)


def test_the_default_window_is_a_labelled_local_default():
    cites = threshold_sources()["recommendations.response_days"]
    assert DEFAULTS.response_days == 60 and "local default" in cites and "001" in cites


def test_any_response_ends_not_followed_up_and_an_action_past_due_is_overdue():
    base = rec(days_ago=0)
    r = answer(base, response(base, **ACCEPT))
    late = datetime.combine(date(2026, 7, 1), NOW.timetz())
    assert rules([r], date_time(2026, 6, 30)) == set()
    assert rules([r], late) == {(AlertRule.RECOMMENDATION_ACTION_OVERDUE, AlertSeverity.AMBER)}
    assert rules([r], late + timedelta(days=30)) == {(AlertRule.RECOMMENDATION_ACTION_OVERDUE, AlertSeverity.RED)}
    done = answer(r, response(r, progress="completed", note="Counsellor in post."))
    assert rules([done], late + timedelta(days=30)) == set()
    moved = answer(r, response(r, progress="in_progress", due_date="2026-09-30"))
    assert rules([moved], late) == set()


def date_time(y: int, m: int, d: int) -> datetime:
    return datetime.combine(date(y, m, d), NOW.timetz())


def test_the_condition_names_the_recommendation_and_its_place_in_the_cycle():
    r = rec(days_ago=61)
    [c] = follow_up_conditions([r], NOW, DEFAULTS)
    assert c.fingerprint == fingerprint(AlertRule.RECOMMENDATION_NOT_FOLLOWED_UP, AREA, subject(r.id))
    assert c.event_ids == (r.id,) and c.evidence["recommendation_id"] == str(r.id)
    assert "no response from commissioners for 61 days" in c.summary
    concern = CONCERNS[AlertRule.RECOMMENDATION_NOT_FOLLOWED_UP]
    assert f"'{concern.competency.title}'" in c.summary and c.stages == concern.stages


def test_follow_up_needs_an_aware_now():
    with pytest.raises(ValueError, match="timezone"):
        follow_up_conditions([rec()], NOW.replace(tzinfo=None), DEFAULTS)


# --- through the engine: the lifecycle opens and resolves the alert -----------------------


def test_the_engine_fires_on_silence_and_resolves_on_a_response():
    r = rec(days_ago=0)
    later = NOW + timedelta(days=61)
    turn = engine.advance(new_state(AREA), {}, {}, now=later, recommendations=[r])
    [record] = turn.records.values()
    assert record.rule is AlertRule.RECOMMENDATION_NOT_FOLLOWED_UP and record.status is AlertStatus.FIRING
    assert turn.notifications
    answered = answer(r, response(r, at=later, outcome="not_accepted", reason="Out of scope."))
    after = engine.advance(
        turn.state,
        turn.records,
        turn.groups,
        now=later + timedelta(minutes=1),
        recommendations=[answered] if answered.open else [],
    )
    assert after.records[record.fingerprint].status is AlertStatus.RESOLVED


# --- the area's follow-up over a rolling window -------------------------------------------


def test_the_summary_counts_answers_their_speed_and_what_is_left_undone():
    def made(days_ago: float) -> Recommendation:
        return rec(days_ago=days_ago)

    quick, slow, refused, silent, overdue_one, old = made(80), made(75), made(70), made(65), made(50), made(200)
    recs = [
        answer(quick, response(quick, at=quick.made_at + timedelta(days=10), **ACCEPT)),
        answer(
            slow,
            response(
                slow,
                at=slow.made_at + timedelta(days=30),
                outcome="partly_accepted",
                action="Translate the leaflet.",
                owner="Comms lead",
                due_date=NOW.date() - timedelta(days=5),
            ),
        ),
        answer(
            refused,
            response(
                refused,
                at=refused.made_at + timedelta(days=20),
                outcome="not_accepted",
                reason="Commissioned regionally.",
            ),
        ),
        silent,
        overdue_one,
        old,
    ]
    summary = follow_up_summary(recs, NOW, 90, DEFAULTS)
    assert summary["made"] == 5 and summary["answered"] == 3  # the 200-day-old one is outside
    assert summary["response_rate"] == 0.6 and summary["median_days_to_response"] == 20.0
    assert summary["outcomes"] == {"accepted": 1, "partly_accepted": 1, "not_accepted": 1}
    assert summary["awaiting_response"] == 2 and summary["not_followed_up"] == 1  # 65 days, not 50
    assert summary["overdue_actions"] == 1 and summary["completed"] == 0
    assert follow_up_summary([], NOW, 90, DEFAULTS)["response_rate"] is None
