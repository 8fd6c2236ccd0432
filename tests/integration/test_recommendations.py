"""The community voice loop against real Kafka and PostgreSQL: a finding's recommendation becomes
a record, silence past the response window raises an alert delivered to a real webhook, a
commissioner's answer resolves it (and is published on Kafka), and replays change nothing.

The response window is sixty days, so the alerts worker and API are restarted with the
test-only clock offset (CSP_ALERTS_CLOCK_OFFSET_SECONDS) to see it pass.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from kafka import KafkaProducer

from contracts.events import AlertRule
from contracts.topics import MAPPED, RECOMMENDATION_RESPONSES
from services.alerts.domain.conditions import fingerprint
from services.alerts.domain.delivery import verify
from tests.conftest import TEST_ENV, bearer, create_key, http_json, url, wait_until
from tests.integration.alerts_support import WebhookReceiver
from tests.integration.kafka_probe import records
from tests.stackenv import run_script

pytestmark = pytest.mark.integration

AREA, REGION, OTHER = "EASI", "north_east", "ELON"
FAST = {
    "CSP_ALERTS_RETRY_BASE_SECONDS": "0.2",
    "CSP_ALERTS_TICK_SECONDS": "0.5",
    "CSP_ALERTS_REEVALUATE_SECONDS": "2",
    "CSP_ALERTS_GROUP_INTERVAL_SECONDS": "2",
}
OFFSET_DAYS = 61


def restart(env: dict[str, str]) -> None:
    run_script(env, "services.sh", "stop", "alerts", "alerts-api")
    run_script(env, "services.sh", "start", "alerts", "alerts-api", timeout=300)


@pytest.fixture(scope="module")
def actors(stack, keys) -> dict[str, dict]:
    restart({**TEST_ENV, **FAST})
    yield {
        "partner": create_key("easi-cdw", "partner", areas=AREA, name="North East CDW team"),
        "easi": create_key("easi-icb", "commissioner", areas=AREA, name="North East ICB"),
        "elon": create_key("elon-icb", "commissioner", areas=OTHER, name="East London ICB"),
        "operator": keys["operator"],
    }
    restart(TEST_ENV)


def api(method: str, path: str, key: dict, body=None):
    return http_json(method, url("alerts-api", path), body, bearer(key))


def finding(recommendation: str | None, days_ago: float = 2) -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "source": "easi-cdw",
        "area": AREA,
        "region": REGION,
        "occurred_at": (datetime.now(timezone.utc) - timedelta(days=days_ago)).isoformat(),
        "type": "uk.nhs.commissioning.finding.v1",
        "data": {
            "community": "bangladeshi",
            "theme": "access_and_language_barriers",
            "severity": "high",
            "people_affected": 30,
            "finding_source": "focus_group",
            "cdw_role": "change_agent",
            "service": "community mental health team",
            "summary": "Women describe no interpreter at first appointments.",
            **({"recommendation": recommendation} if recommendation else {}),
        },
    }


def post(events: list[dict], partner: dict) -> dict:
    status, _, answer = http_json(
        "POST", url("intake", "/v1/findings:batch"), {"events": events}, bearer(partner), timeout=60
    )
    assert status == 200, answer
    return answer["counts"]


def recommendation(rec_id: str, key: dict) -> dict | None:
    status, _, body = api("GET", f"/v1/areas/{AREA}/recommendations/{rec_id}", key)
    return body if status == 200 else None


def alert(fp: str, key: dict) -> dict | None:
    status, _, body = api("GET", f"/v1/alerts/{fp}", key)
    return body if status == 200 else None


def responses_on_kafka(rec_id: str) -> list:
    return [
        r
        for r in records(RECOMMENDATION_RESPONSES.name, timeout=20)
        if json.loads(r.value)["data"]["recommendation_id"] == rec_id
    ]


def test_a_recommendation_left_unanswered_alerts_and_an_answer_resolves_it(actors):
    partner, easi = actors["partner"], actors["easi"]
    event = finding("Book interpreters for every first appointment; tell the community when done.")
    assert post([event], partner) == {"accepted": 1}
    rec_id = event["event_id"]

    # 1. The recommendation is a record of its own, awaiting a response.
    rec = wait_until(lambda: recommendation(rec_id, easi), 60, what="the recommendation")
    assert rec["status"] == "awaiting_response" and rec["open"]
    assert rec["organisation_id"] == "easi-cdw" and "change_agent" in rec["cdw_roles"]
    assert rec["community"] == "bangladeshi" and rec["service"] == "community mental health team"
    assert rec["stages"] and rec["competencies"] and rec["answers"] == []
    status, _, listed = api("GET", f"/v1/areas/{AREA}/recommendations?status=awaiting_response", easi)
    assert status == 200 and rec_id in [r["id"] for r in listed["items"]]
    quiet = fingerprint(AlertRule.RECOMMENDATION_NOT_FOLLOWED_UP, AREA, f"recommendation:{rec_id}")
    overdue = fingerprint(AlertRule.RECOMMENDATION_ACTION_OVERDUE, AREA, f"recommendation:{rec_id}")
    time.sleep(3)  # several timer passes: two days of silence are within the window
    assert alert(quiet, easi) is None

    # 2. The clock moves past the response window: the alert fires and reaches the webhook.
    receiver = WebhookReceiver()
    status, _, sub = api(
        "POST",
        "/v1/subscriptions",
        easi,
        {
            "areas": [AREA],
            "channel": "webhook",
            "target": receiver.url,
            "rules": ["recommendation_not_followed_up", "recommendation_action_overdue"],
        },
    )
    assert status == 201, sub
    moved = {**TEST_ENV, **FAST, "CSP_ALERTS_CLOCK_OFFSET_SECONDS": str(OFFSET_DAYS * 86400)}
    try:
        restart(moved)
        fired = wait_until(lambda: alert(quiet, easi), 60, what="the not-followed-up alert")
        assert fired["status"] == "firing" and fired["severity"] == "amber"
        assert fired["evidence"]["recommendation_id"] == rec_id
        assert fired["evidence"]["days_waiting"] >= OFFSET_DAYS
        first = wait_until(lambda: receiver.about(quiet), 30, what="the webhook delivery")[0]
        assert first.payload["status"] == "firing"
        assert first.payload["alerts"][0]["labels"]["rule"] == "recommendation_not_followed_up"
        ts, sig = first.headers["x-csp-timestamp"], first.headers["x-csp-signature"]
        assert verify(sub["secret"], ts, first.body, sig, now=time.time())

        # 3. Only a commissioner of the area answers; a refused answer names the field.
        path = f"/v1/areas/{AREA}/recommendations/{rec_id}/responses"
        accept = {
            "response_id": str(uuid.uuid4()),
            "outcome": "accepted",
            "action": "Interpreters booked with every first appointment letter.",
            "owner": "Mental health commissioning lead",
            "due_date": (datetime.now(timezone.utc) + timedelta(days=30)).date().isoformat(),
        }
        assert api("POST", path, actors["elon"], accept)[0] == 403
        assert api("POST", path, actors["operator"], accept)[0] == 403
        assert api("POST", path, actors["partner"], accept)[0] == 403
        status, headers, problem = api(
            "POST", path, easi, {"response_id": str(uuid.uuid4()), "outcome": "not_accepted"}
        )
        assert status == 422 and headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in problem["errors"]] == ["reason"]
        status, _, problem = api(
            "POST", path, easi, {**accept, "response_id": str(uuid.uuid4()), "owner": "Ring about 943 476 5919"}
        )
        assert status == 422 and [e["field"] for e in problem["errors"]] == ["owner"]
        assert "943" not in json.dumps(problem)
        status, _, problem = api(
            "POST", path, easi, {**accept, "response_id": str(uuid.uuid4()), "action": "Interpreters\u0000booked"}
        )
        assert status == 422 and [e["field"] for e in problem["errors"]] == ["action"]
        status, _, problem = api("POST", path, easi, {**accept, "response_id": "not-a-uuid"})
        assert status == 422 and [e["field"] for e in problem["errors"]] == ["response_id"]
        status, _, problem = api("POST", path, easi, {**accept, "response_id": str(uuid.uuid4()), "colour": "blue"})
        assert status == 422 and [e["field"] for e in problem["errors"]] == ["colour"]
        assert recommendation(rec_id, easi)["answers"] == []

        # 4. The response resolves the silence alert; its due date, past on the moved clock,
        #    raises the overdue alert. Sent twice, it is recorded once.
        status, _, answered = api("POST", path, easi, accept)
        assert status == 201, answered
        assert answered["status"] == "accepted" and len(answered["answers"]) == 1
        assert answered["answers"][0]["by"] == "easi-icb"
        assert alert(quiet, easi)["status"] == "resolved"
        wait_until(
            lambda: any(d.payload["status"] == "resolved" for d in receiver.about(quiet)),
            30,
            what="the resolution delivered",
        )
        late = wait_until(lambda: alert(overdue, easi), 60, what="the overdue alert")
        assert late["status"] == "firing"
        status, _, again = api("POST", path, easi, accept)
        assert status == 200 and len(again["answers"]) == 1
        status, _, problem = api("POST", path, easi, {**accept, "owner": "someone else"})
        assert status == 409 and problem["errors"][0]["field"] == "response_id"

        # 5. Completion, with what changed, resolves the overdue alert.
        done = {
            "response_id": str(uuid.uuid4()),
            "progress": "completed",
            "note": "Interpreters at 42 first appointments since; fed back at the community forum.",
        }
        status, _, completed = api("POST", path, easi, done)
        assert status == 201 and completed["status"] == "completed" and not completed["open"]
        assert alert(overdue, easi)["status"] == "resolved"
        status, _, problem = api("POST", path, easi, {**done, "response_id": str(uuid.uuid4())})
        assert status == 409

        # 6. Each answer is on Kafka once, as its own CloudEvent.
        on_kafka = wait_until(
            lambda: (found := responses_on_kafka(rec_id)) and len(found) >= 2 and found, 30, what="the answers on Kafka"
        )
        time.sleep(2)
        on_kafka = responses_on_kafka(rec_id)
        ids = [dict(r.headers)["ce_id"].decode() for r in on_kafka]
        assert sorted(ids) == sorted([accept["response_id"], done["response_id"]])
        assert all(r.key == AREA.encode() for r in on_kafka)

        # 7. Replaying every event changes nothing: through intake, and every mapped record of the
        #    area written again onto mapped.events.v1, behind which a marker finding is applied.
        assert post([event], partner) == {"duplicate": 1}
        before = recommendation(rec_id, easi)
        alerts_before = {fp: alert(fp, easi)["updated_at"] for fp in (quiet, overdue)}
        count_before = api("GET", f"/v1/areas/{AREA}/recommendations", easi)[2]["total"]
        producer = KafkaProducer(bootstrap_servers=TEST_ENV["CSP_KAFKA_BOOTSTRAP"], acks="all")
        for r in records(MAPPED.name, timeout=20):
            if r.key == AREA.encode():
                producer.send(MAPPED.name, key=r.key, value=r.value).get(timeout=10)
        producer.close()
        marker = finding("A second recommendation, the marker behind the replay.")
        assert post([marker], partner) == {"accepted": 1}
        wait_until(lambda: recommendation(marker["event_id"], easi), 60, what="the marker")
        time.sleep(1.5)
        assert recommendation(rec_id, easi) == before
        assert {fp: alert(fp, easi)["updated_at"] for fp in (quiet, overdue)} == alerts_before
        assert api("GET", f"/v1/areas/{AREA}/recommendations", easi)[2]["total"] == count_before + 1
        assert len(responses_on_kafka(rec_id)) == 2
    finally:
        receiver.close()
        api("DELETE", f"/v1/subscriptions/{sub['id']}", easi)


def test_recommendations_are_read_in_the_callers_areas_only(actors):
    assert api("GET", f"/v1/areas/{AREA}/recommendations", actors["elon"])[0] == 403
    assert api("GET", f"/v1/areas/{AREA}/recommendations", actors["partner"])[0] == 403
    assert api("GET", f"/v1/areas/{AREA}/recommendations", actors["operator"])[0] == 200
    status, _, problem = api("GET", f"/v1/areas/{AREA}/recommendations/{uuid.uuid4()}", actors["easi"])
    assert status == 404 and problem["status"] == 404


def test_the_area_summary_reports_its_follow_up(actors):
    path = f"/v1/areas/{AREA}/recommendations/summary?days=90"
    status, _, summary = api("GET", path, actors["easi"])
    assert status == 200, summary
    assert summary["made"] >= 2 and summary["answered"] >= 1 and summary["outcomes"]["accepted"] >= 1
    assert 0 < summary["response_rate"] < 1 and summary["median_days_to_response"] >= OFFSET_DAYS - 3
    assert summary["completed"] >= 1 and summary["response_days"] == 60
    assert api("GET", path, actors["elon"])[0] == 403
    status, _, problem = api("GET", f"/v1/areas/{AREA}/recommendations/summary?days=0", actors["easi"])
    assert status == 422 and problem["errors"][0]["field"] == "query.days"
