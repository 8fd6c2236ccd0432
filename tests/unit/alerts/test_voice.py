"""The community's side of the loop, pure: what a partner reads of its recommendations, what the
public page shows (and leaves out), and the recommendations a peer review return opens."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime, timedelta, timezone
from uuid import UUID

import pytest
from pydantic import ValidationError

from contracts.peer_review import (
    EXAMPLE,
    QUESTIONS,
    MappedPeerReview,
    PeerReviewReturn,
    ReviewQuestion,
    recommendation_id,
)
from contracts.taxonomy import Competency, Stage
from services.alerts.domain.peer_reviews import public_review, recommendations_of
from services.alerts.domain.recommendations import answer, partner_view, public_view

from .test_recommendations import ACCEPT, rec, response

NOW = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)


def answered():
    r = rec()
    first = response(r, **ACCEPT)
    r = answer(r, first)
    done = response(
        r,
        at=NOW + timedelta(days=3),
        progress="completed",
        note="A Somali-speaking counsellor now works two days a week at the practice.",
    )
    return answer(r, done), [first, done]


def test_the_partner_reads_the_answer_its_action_owner_due_date_and_what_changed():
    r, answers = answered()
    shown = partner_view(r, reversed(answers))
    assert shown["id"] == str(r.id) and shown["status"] == "completed" and shown["open"] is False
    assert shown["outcome"] == "accepted" and shown["action"] == ACCEPT["action"]
    assert shown["owner"] == ACCEPT["owner"] and shown["due_date"] == "2026-06-30"
    assert shown["what_changed"].startswith("A Somali-speaking counsellor")
    assert [a["outcome"] for a in shown["responses"]] == ["accepted", None]  # in the order given
    assert shown["responses"][1]["progress"] == "completed"
    assert "key_id" not in json.dumps(shown)


def test_an_unanswered_recommendation_reads_as_awaiting():
    shown = partner_view(rec(), [])
    assert shown["status"] == "awaiting_response" and shown["responses"] == [] and shown["outcome"] is None


def test_the_public_view_shows_what_was_said_and_done_with_dates_only():
    r, _ = answered()
    shown = public_view(r)
    assert shown["you_said"] == r.text and shown["community"] == "somali"
    assert shown["we_will"] == ACCEPT["action"] and shown["we_did"].startswith("A Somali-speaking")
    assert shown["said_on"] == r.made_at.date().isoformat() and "T" not in shown["completed_on"]


def test_the_public_view_leaves_out_organisations_owners_and_the_finding():
    r, _ = answered()
    text = json.dumps(public_view(r))
    for hidden in (r.organisation_id, "bsol-icb", ACCEPT["owner"], r.finding_summary):
        assert hidden not in text
    assert not {"owner", "organisation_id", "by", "key_id", "responded_by"} & set(public_view(r))


def test_what_changed_is_shown_only_once_the_action_is_completed():
    r = rec()
    r = answer(r, response(r, **ACCEPT))
    r = answer(r, response(r, progress="in_progress", note="Recruiting."))
    assert public_view(r)["we_did"] is None and public_view(r)["progress"] == "in_progress"


# --- peer review returns --------------------------------------------------------------------


def review(**data) -> PeerReviewReturn:
    body = copy.deepcopy(EXAMPLE)
    body["data"].update(data)
    return PeerReviewReturn.model_validate(body)


def mapped(r: PeerReviewReturn) -> MappedPeerReview:
    return MappedPeerReview(
        event=r,
        stages=[Stage.MANAGING_PERFORMANCE],
        competencies=[Competency.ENGAGE_WITH_PUBLIC_AND_PATIENTS],
        rule_ids=["peer_review.panel"],
        rules_version="t",
        mapped_at=NOW,
    )


def test_a_return_opens_one_recommendation_per_recommendation_with_derived_ids():
    two = EXAMPLE["data"]["recommendations"] + [
        {"recommendation": "Recruit a CDW for the rural east of the county.", "theme": "service_gap"}
    ]
    m = mapped(review(recommendations=two))
    recs = recommendations_of(m, NOW)
    assert [r.id for r in recs] == [recommendation_id(m.event_id, 0), recommendation_id(m.event_id, 1)]
    assert recommendations_of(m, NOW + timedelta(days=1))[1].id == recs[1].id  # a replay opens the same
    assert all(r.peer_review_id == m.event_id and r.area == "SOM" and r.open for r in recs)
    assert recs[1].community.value == "bme_communities_generally"
    assert recs[0].stages == (Stage.MANAGING_PERFORMANCE,)


def test_the_public_review_shows_the_panel_by_kind_and_each_question_in_the_forms_words():
    m = mapped(review())
    shown = public_review(m, recommendations_of(m, NOW))
    assert shown["panel"] == {"service_user": 1, "carer": 1, "fis_project_manager": 1, "race_equality_lead": 1}
    assert [a["asks"] for a in shown["answers"]] == [QUESTIONS[q].quote for q in ReviewQuestion]
    assert [a["rating"] for a in shown["answers"]] == [3, 3, 2, 2, 2]
    assert shown["recommendations"][0]["status"] == "awaiting_response"
    assert "somerset-vcse-alliance" not in json.dumps(shown)


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda d: d["answers"].pop(), "answers"),
        (lambda d: d["answers"].append(dict(d["answers"][0])), "answers"),
        (lambda d: d["answers"][0].update(rating=5), "answers.0.rating"),
        (lambda d: d["answers"][0].update(rating=0), "answers.0.rating"),
        (lambda d: d.update(panel={"service_user": 0}), "panel"),
        (lambda d: d.update(panel={"chair": 1}), "panel.chair"),
        (lambda d: d["recommendations"][0].pop("theme"), "recommendations.0.theme"),
    ],
)
def test_a_return_missing_a_question_or_out_of_scale_is_refused_naming_the_field(change, field):
    body = copy.deepcopy(EXAMPLE)
    change(body["data"])
    with pytest.raises(ValidationError) as err:
        PeerReviewReturn.model_validate(body)
    where = [".".join(str(p) for p in e["loc"]) for e in err.value.errors()]
    assert any(w.startswith("data." + field) for w in where), where


def test_a_review_dated_after_its_return_is_refused():
    with pytest.raises(ValidationError, match="reviewed_on"):
        review(reviewed_on=(date(2026, 11, 21)).isoformat())


def test_answers_are_kept_in_the_forms_order_whatever_order_they_came_in():
    shuffled = list(reversed(EXAMPLE["data"]["answers"]))
    assert [a.question for a in review(answers=shuffled).data.answers] == list(ReviewQuestion)


def test_recommendation_ids_differ_by_return_and_place():
    a, b = UUID(int=1), UUID(int=2)
    assert len({recommendation_id(a, 0), recommendation_id(a, 1), recommendation_id(b, 0)}) == 3
