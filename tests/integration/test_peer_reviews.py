"""Peer review returns against real Kafka and PostgreSQL: a return posted through intake is mapped
by the rule set, shows on the area's public page with its panel and five answers, and its
recommendations enter the follow-up loop (the area's commissioners answer them; the partner that
posted it reads the answers). Only a partner serving the area posts one; replaying every record
changes nothing."""

from __future__ import annotations

import copy
import json
import time
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from kafka import KafkaProducer

from contracts.peer_review import EXAMPLE, QUESTIONS, recommendation_id
from contracts.topics import MAPPED_PEER_REVIEWS, PEER_REVIEWS
from tests.conftest import TEST_ENV, bearer, create_key, http_json, url, wait_until
from tests.integration.kafka_probe import records

pytestmark = pytest.mark.integration

AREA = "SOM"


@pytest.fixture(scope="module")
def actors(stack, keys) -> dict[str, dict]:
    return {
        "site": create_key("somerset-fis-review", "partner", areas=AREA, name="Somerset FIS review"),
        "elsewhere": create_key("kent-fis-review", "partner", areas="KENT", name="Kent FIS review"),
        "som": keys["som-commissioner"],
        "bsol": keys["bsol-commissioner"],
    }


def peer_review(source: str = "somerset-fis-review", **data) -> dict:
    body = copy.deepcopy(EXAMPLE)
    now = datetime.now(timezone.utc)
    body.update(event_id=str(uuid.uuid4()), source=source, occurred_at=now.isoformat())
    body["data"].update(reviewed_on=(now - timedelta(days=5)).date().isoformat(), **data)
    body["data"]["recommendations"] = [
        {
            "recommendation": f"Train acute ward staff in faith needs ({body['event_id'][:8]}).",
            "theme": "cultural_appropriateness",
            "service": "Acute inpatient care",
        },
        {
            "recommendation": f"Recruit a CDW for the rural east ({body['event_id'][:8]}).",
            "community": "bme_communities_generally",
            "theme": "service_gap",
        },
    ]
    return body


def post(body: dict, key: dict):
    return http_json("POST", url("intake", "/v1/peer-reviews"), body, bearer(key), timeout=30)


def public() -> dict:
    status, _, body = http_json("GET", url("alerts-api", f"/v1/public/areas/{AREA}/you-said-we-did"))
    assert status == 200, body
    return body


def review_shown(review_id: str) -> dict | None:
    return next((r for r in public()["peer_reviews"] if r["id"] == review_id), None)


def alerts(method: str, path: str, key: dict, body=None):
    return http_json(method, url("alerts-api", path), body, bearer(key))


@pytest.fixture(scope="module")
def posted(actors) -> dict:
    body = peer_review()
    status, _, answer = post(body, actors["site"])
    assert status == 202, answer
    shown = wait_until(lambda: review_shown(body["event_id"]), 60, what="the peer review on the public page")
    return {"body": body, "shown": shown}


def test_a_return_shows_with_its_panel_five_answers_and_placement(posted):
    shown, body = posted["shown"], posted["body"]
    assert shown["reviewed_on"] == body["data"]["reviewed_on"]
    assert shown["panel"] == {"service_user": 1, "carer": 1, "fis_project_manager": 1, "race_equality_lead": 1}
    assert [a["asks"] for a in shown["answers"]] == [ref.quote for ref in QUESTIONS.values()]
    assert [a["answer"] for a in shown["answers"]] == [a["answer"] for a in body["data"]["answers"]]
    assert [a["rating"] for a in shown["answers"]] == [3, 3, 2, 2, 2]
    assert 8 in shown["stages"] and 3 in shown["competencies"]
    assert [r["status"] for r in shown["recommendations"]] == ["awaiting_response"] * 2
    assert "somerset-fis-review" not in json.dumps(shown)


def test_its_recommendations_enter_the_loop(actors, posted):
    body = posted["body"]
    rid = uuid.UUID(body["event_id"])
    first, second = (str(recommendation_id(rid, i)) for i in (0, 1))
    status, _, rec = alerts("GET", f"/v1/areas/{AREA}/recommendations/{first}", actors["som"])
    assert status == 200, rec
    assert rec["peer_review_id"] == body["event_id"] and rec["organisation_id"] == "somerset-fis-review"
    assert rec["status"] == "awaiting_response" and rec["open"] and rec["stages"]
    assert alerts("GET", f"/v1/areas/{AREA}/recommendations/{first}", actors["bsol"])[0] == 403

    path = f"/v1/areas/{AREA}/recommendations/{second}/responses"
    decline = {
        "response_id": str(uuid.uuid4()),
        "outcome": "not_accepted",
        "reason": "The county's two CDW posts are funded to March; a third is not.",
    }
    assert alerts("POST", path, actors["bsol"], decline)[0] == 403
    status, _, answered = alerts("POST", path, actors["som"], decline)
    assert status == 201 and answered["status"] == "not_accepted"

    status, _, mine = alerts("GET", f"/v1/partners/me/recommendations/{second}", actors["site"])
    assert status == 200 and mine["reason"] == decline["reason"] and mine["peer_review_id"] == body["event_id"]
    assert alerts("GET", f"/v1/partners/me/recommendations/{second}", actors["elsewhere"])[0] == 404

    def progressed():
        shown = review_shown(body["event_id"])
        return shown if shown and "not_accepted" in [r["status"] for r in shown["recommendations"]] else None

    shown = wait_until(progressed, 30, what="the answer on the public page")
    assert sorted(r["status"] for r in shown["recommendations"]) == ["awaiting_response", "not_accepted"]


def test_the_public_page_shows_the_review(posted):
    def html() -> str | None:
        with urllib.request.urlopen(url("reporting", f"/public/areas/{AREA}/you-said-we-did"), timeout=15) as r:
            text = r.read().decode()
        return text if posted["body"]["data"]["recommendations"][0]["recommendation"] in text else None

    text = wait_until(html, 20, what="the review on the public page")
    assert text.count('data-testid="review-answer"') >= 5
    assert "What could the FIS project do to improve its effectiveness?" in text
    assert "1 Race Equality Lead" in text


@pytest.mark.parametrize(
    "change, status, field",
    [
        (lambda b: b["data"]["answers"].pop(), 422, "data.answers"),
        (lambda b: b["data"]["answers"][0].update(rating=7), 422, "data.answers[0].rating"),
        (lambda b: b["data"].update(panel={"service_user": 0, "carer": 0}), 422, "data.panel"),
        (
            lambda b: b["data"]["answers"][1].update(answer="Call the lead on 07700 900123."),
            422,
            "data.answers[1].answer",
        ),
    ],
)
def test_a_bad_return_is_refused_naming_the_field(actors, change, status, field):
    body = peer_review()
    change(body)
    got, headers, problem = post(body, actors["site"])
    assert got == status and headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in problem["errors"]], problem
    assert "07700" not in json.dumps(problem)


def test_only_a_partner_serving_the_area_posts_one(actors):
    status, _, problem = post(peer_review(source="kent-fis-review"), actors["elsewhere"])
    assert status == 403 and "area" in [e["field"] for e in problem["errors"]]
    assert post(peer_review(source="somerset-icb"), actors["som"])[0] == 403
    status, _, problem = post(peer_review(source="somerset-fis-review"), actors["elsewhere"])
    assert status == 403 and problem["errors"][0]["field"] == "source"


def test_replaying_every_record_changes_nothing(actors, posted):
    body = posted["body"]
    status, _, dup = post(body, actors["site"])
    assert status == 200 and dup["status"] == "duplicate"
    before = review_shown(body["event_id"])
    listed = alerts("GET", "/v1/partners/me/recommendations", actors["site"])[2]
    producer = KafkaProducer(bootstrap_servers=TEST_ENV["CSP_KAFKA_BOOTSTRAP"], acks="all")
    for topic in (PEER_REVIEWS.name, MAPPED_PEER_REVIEWS.name):
        for r in records(topic, timeout=20):
            producer.send(topic, key=r.key, value=r.value, headers=r.headers).get(timeout=10)
    producer.close()
    marker = peer_review()
    assert post(marker, actors["site"])[0] == 202
    wait_until(lambda: review_shown(marker["event_id"]), 60, what="the marker return")
    time.sleep(1.5)
    assert review_shown(body["event_id"]) == before
    after = alerts("GET", "/v1/partners/me/recommendations", actors["site"])[2]
    assert after["total"] == listed["total"] + 2
    assert [r for r in after["items"] if r["peer_review_id"] == body["event_id"]] == [
        r for r in listed["items"] if r["peer_review_id"] == body["event_id"]
    ]
    assert sum(r["id"] == body["event_id"] for r in public()["peer_reviews"]) == 1
