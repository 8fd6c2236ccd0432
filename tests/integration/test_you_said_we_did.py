"""'You said, we did' against real Kafka and PostgreSQL: a partner reads the answers to its own
recommendations and not another's (404, not 403); the area's public summary needs no key, shows
what was recommended and done and nothing that names people, organisations or keys; the public
page renders it in the reporting process, and an unknown area is a 404 page."""

from __future__ import annotations

import json
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import TEST_ENV, bearer, create_key, http_json, url, wait_until
from tests.stackenv import run_script

pytestmark = pytest.mark.integration

AREA, REGION = "STAF", "west_midlands"


@pytest.fixture(scope="module")
def actors(stack, keys) -> dict[str, dict]:
    return {
        "mind": create_key("staffs-voice-forum", "partner", areas=AREA, name="Staffordshire voice forum"),
        "other": create_key("staffs-faith-network", "partner", areas=AREA, name="Staffordshire faith network"),
        "icb": create_key("staffs-icb-voice", "commissioner", areas=AREA, name="Staffordshire ICB"),
        "operator": keys["operator"],
    }


def restart(env: dict[str, str]) -> None:
    run_script(env, "services.sh", "stop", "alerts-api")
    run_script(env, "services.sh", "start", "alerts-api", timeout=300)


def finding(source: str, recommendation: str) -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "source": source,
        "area": AREA,
        "region": REGION,
        "occurred_at": (datetime.now(timezone.utc) - timedelta(days=3)).isoformat(),
        "type": "uk.nhs.commissioning.finding.v1",
        "data": {
            "community": "gypsy_and_traveller",
            "theme": "access_and_language_barriers",
            "severity": "high",
            "finding_source": "community_forum",
            "service": "GP registration",
            "summary": "Families on the site are turned away from GP registration without an address.",
            "recommendation": recommendation,
        },
    }


def post(event: dict, key: dict) -> int:
    return http_json("POST", url("intake", "/v1/findings"), event, bearer(key), timeout=30)[0]


def alerts(method: str, path: str, key: dict | None = None, body=None):
    return http_json(method, url("alerts-api", path), body, bearer(key) if key else None)


def page(path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url("reporting", path), timeout=15) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture(scope="module")
def answered(actors) -> dict:
    """One recommendation of each partner; the commissioners accept the first and complete it."""
    mine = finding("staffs-voice-forum", "Register families at the practice with the site's address.")
    theirs = finding("staffs-faith-network", "Hold a monthly drop-in at the community centre.")
    assert post(mine, actors["mind"]) == 202 and post(theirs, actors["other"]) == 202
    for e in (mine, theirs):
        wait_until(
            lambda e=e: alerts("GET", f"/v1/areas/{AREA}/recommendations/{e['event_id']}", actors["icb"])[0] == 200,
            60,
            what="the recommendation",
        )
    path = f"/v1/areas/{AREA}/recommendations/{mine['event_id']}/responses"
    accept = {
        "response_id": str(uuid.uuid4()),
        "outcome": "accepted",
        "action": "Practices accept the site's address for registration.",
        "owner": "Primary care commissioning manager",
        "due_date": (datetime.now(timezone.utc) + timedelta(days=60)).date().isoformat(),
    }
    done = {
        "response_id": str(uuid.uuid4()),
        "progress": "completed",
        "note": "All four practices near the site now register families with the site's address.",
    }
    assert alerts("POST", path, actors["icb"], accept)[0] == 201
    assert alerts("POST", path, actors["icb"], done)[0] == 201
    return {"mine": mine, "theirs": theirs, "accept": accept, "done": done}


def test_a_partner_reads_the_answer_to_its_own_recommendation(actors, answered):
    mine, accept, done = answered["mine"], answered["accept"], answered["done"]
    status, _, listed = alerts("GET", "/v1/partners/me/recommendations", actors["mind"])
    assert status == 200, listed
    ids = [r["id"] for r in listed["items"]]
    assert mine["event_id"] in ids and answered["theirs"]["event_id"] not in ids
    assert listed["total"] == len(ids) == 1
    status, _, one = alerts("GET", f"/v1/partners/me/recommendations/{mine['event_id']}", actors["mind"])
    assert status == 200, one
    assert one["status"] == "completed" and one["outcome"] == "accepted" and not one["open"]
    assert one["action"] == accept["action"] and one["owner"] == accept["owner"]
    assert one["due_date"] == accept["due_date"] and one["what_changed"] == done["note"]
    assert [a["response_id"] for a in one["responses"]] == [accept["response_id"], done["response_id"]]
    assert one["responses"][0]["by"] == "staffs-icb-voice" and "key_id" not in json.dumps(one)
    status, _, filtered = alerts("GET", f"/v1/partners/me/recommendations?status=completed&area={AREA}", actors["mind"])
    assert status == 200 and [r["id"] for r in filtered["items"]] == [mine["event_id"]]


def test_another_organisations_recommendation_is_not_found_not_forbidden(actors, answered):
    theirs = answered["theirs"]["event_id"]
    status, headers, problem = alerts("GET", f"/v1/partners/me/recommendations/{theirs}", actors["mind"])
    assert status == 404 and headers["content-type"].startswith("application/problem+json")
    assert alerts("GET", f"/v1/partners/me/recommendations/{uuid.uuid4()}", actors["mind"])[0] == 404
    status, _, own = alerts("GET", f"/v1/partners/me/recommendations/{theirs}", actors["other"])
    assert status == 200 and own["status"] == "awaiting_response" and own["responses"] == []


def test_only_partner_keys_read_their_own(actors):
    assert alerts("GET", "/v1/partners/me/recommendations", actors["icb"])[0] == 403
    assert alerts("GET", "/v1/partners/me/recommendations", actors["operator"])[0] == 403
    assert alerts("GET", "/v1/partners/me/recommendations")[0] == 401
    status, _, problem = alerts("GET", "/v1/partners/me/recommendations/not-a-uuid", actors["mind"])
    assert status == 422 and problem["errors"][0]["field"] == "path.rec_id"


def test_the_public_summary_needs_no_key_and_names_no_one(actors, answered):
    status, _, body = alerts("GET", f"/v1/public/areas/{AREA}/you-said-we-did")
    assert status == 200, body
    by_text = {r["you_said"]: r for r in body["items"]}
    mine = by_text[answered["mine"]["data"]["recommendation"]]
    assert mine["status"] == "completed" and mine["we_did"] == answered["done"]["note"]
    assert mine["we_will"] == answered["accept"]["action"] and mine["community"] == "gypsy_and_traveller"
    assert by_text[answered["theirs"]["data"]["recommendation"]]["status"] == "awaiting_response"
    assert body["area_name"] == "Staffordshire" and body["follow_up"]["made"] >= 2
    text = json.dumps(body)
    for hidden in (
        "staffs-voice-forum",
        "staffs-faith-network",
        "staffs-icb-voice",
        answered["accept"]["owner"],
        actors["icb"]["key_id"],
        answered["mine"]["data"]["summary"],
    ):
        assert hidden not in text


def test_an_unknown_area_is_not_found(stack):
    status, _, problem = alerts("GET", "/v1/public/areas/ZZZZ/you-said-we-did")
    assert status == 404 and problem["status"] == 404
    assert alerts("GET", "/v1/public/areas/staf/you-said-we-did")[0] == 422
    status, html = page("/public/areas/ZZZZ/you-said-we-did")
    assert status == 404 and "There is no area with that code." in html and "You said" not in html.split("<h1>")[1]


def test_the_public_page_shows_what_was_said_and_done(answered):
    def shown():
        status, html = page(f"/public/areas/{AREA}/you-said-we-did")
        return html if status == 200 and "All four practices" in html else None

    html = wait_until(shown, 20, what="the public page")
    assert "Register families at the practice with the site&#39;s address." in html
    assert "Hold a monthly drop-in at the community centre." in html and "Awaiting an answer" in html
    assert "staffs-voice-forum" not in html and "Primary care commissioning manager" not in html
    status, index = page("/public/areas")
    assert status == 200 and f"/public/areas/{AREA}/you-said-we-did" in index


def test_replaying_the_findings_changes_nothing(actors, answered):
    before = alerts("GET", f"/v1/partners/me/recommendations/{answered['mine']['event_id']}", actors["mind"])[2]
    status, _, dup = http_json("POST", url("intake", "/v1/findings"), answered["mine"], bearer(actors["mind"]))
    assert status == 200 and dup["status"] == "duplicate"
    marker = finding("staffs-voice-forum", "A marker behind the replay.")
    assert post(marker, actors["mind"]) == 202
    wait_until(
        lambda: alerts("GET", "/v1/partners/me/recommendations", actors["mind"])[2]["total"] == 2, 60, what="the marker"
    )
    assert alerts("GET", f"/v1/partners/me/recommendations/{answered['mine']['event_id']}", actors["mind"])[2] == before


def test_the_public_summary_is_held_to_a_read_limit_per_address(answered):
    """Last in the file: the alerts API is restarted with a small read limit (each of its worker
    processes keeps its own buckets), then with the suite's settings again."""
    small = {**TEST_ENV, "CSP_READS_PER_SECOND": "0.5", "CSP_READS_BURST": "3"}
    try:
        restart(small)
        statuses, headers = [], {}
        for _ in range(40):
            status, headers, _body = alerts("GET", f"/v1/public/areas/{AREA}/you-said-we-did?limit=1")
            statuses.append(status)
            if status == 429:
                break
        assert statuses[0] == 200 and statuses[-1] == 429, statuses
        assert int(headers["retry-after"]) >= 1
    finally:
        restart(TEST_ENV)
