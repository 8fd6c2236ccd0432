"""The alerts service against real Kafka and PostgreSQL, driven through the intake API.

Findings posted to intake are mapped, evaluated by the alerts worker, stored, published to
alerts.v1 and delivered by the alerts API to a real webhook receiver, a real SMTP server
(aiosmtpd) and a server-sent events stream, all running in this test process. Each test uses
its own community (so its own alert) in Greater Manchester, or its own area.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from kafka import KafkaProducer

from contracts.events import AlertRule
from contracts.topics import ALERTS, MAPPED
from services.alerts.domain.conditions import fingerprint
from services.alerts.domain.delivery import ZERO_TIME, sign, verify
from tests.conftest import TEST_ENV, bearer, create_key, http_json, url, wait_until
from tests.integration.alerts_support import SmtpSink, SseReader, WebhookReceiver
from tests.interop.alertmanager_schema import problems as alertmanager_problems
from tests.integration.kafka_probe import json_values, records
from tests.stackenv import run_script

pytestmark = pytest.mark.integration

AREA, REGION = "GMAN", "north_west"


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def alerts_env(stack, smtp):
    """The alerts worker and API restarted with this module's SMTP server, fast retries and a
    short group interval (so automatic resolutions are told within seconds)."""
    env = {
        **TEST_ENV,
        "CSP_SMTP_HOST": "127.0.0.1",
        "CSP_SMTP_PORT": str(smtp.port),
        "CSP_ALERTS_RETRY_BASE_SECONDS": "0.2",
        "CSP_ALERTS_TICK_SECONDS": "0.5",
        "CSP_ALERTS_REEVALUATE_SECONDS": "2",
        "CSP_ALERTS_GROUP_INTERVAL_SECONDS": "2",
    }
    run_script(env, "services.sh", "stop", "alerts", "alerts-api")
    run_script(env, "services.sh", "start", "alerts", "alerts-api", timeout=300)
    yield env
    run_script(TEST_ENV, "services.sh", "stop", "alerts", "alerts-api")
    run_script(TEST_ENV, "services.sh", "start", "alerts", "alerts-api", timeout=300)


@pytest.fixture(scope="module")
def actors(alerts_env, keys) -> dict[str, dict]:
    return {
        "partner": create_key("gman-cdw", "partner", areas=f"{AREA},SHEF", name="Greater Manchester CDW team"),
        "gman": create_key("gman-icb", "commissioner", areas=AREA, name="Greater Manchester ICB"),
        "shef": create_key("sheffield-icb", "commissioner", areas="SHEF", name="Sheffield ICB"),
        "som": keys["som-commissioner"],
        "operator": keys["operator"],
        "pattigift": keys["pattigift"],
    }


@pytest.fixture
def receiver():
    r = WebhookReceiver()
    yield r
    r.close()


@pytest.fixture
def subscriptions(actors):
    """Creates subscriptions and removes them when the test ends."""
    made: list[tuple[dict, dict]] = []

    def subscribe(key: dict, **body) -> dict:
        status, _, sub = api("POST", "/v1/subscriptions", key, body)
        assert status == 201, sub
        made.append((key, sub))
        return sub

    yield subscribe
    for key, sub in made:
        api("DELETE", f"/v1/subscriptions/{sub['id']}", key)


# --- helpers ----------------------------------------------------------------------------------


def api(method: str, path: str, key: dict | None, body=None):
    return http_json(method, url("alerts-api", path), body, bearer(key) if key else {})


def finding(
    community: str,
    *,
    severity: str = "high",
    people: int | None = 100,
    theme: str = "unmet_need",
    days_ago: float = 2,
    area: str = AREA,
    region: str = REGION,
) -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "source": "gman-cdw",
        "area": area,
        "region": region,
        "occurred_at": (datetime.now(timezone.utc) - timedelta(days=days_ago)).isoformat(),
        "type": "uk.nhs.commissioning.finding.v1",
        "data": {
            "community": community,
            "theme": theme,
            "severity": severity,
            "people_affected": people,
            "finding_source": "community_forum",
            "summary": "Families describe no culturally appropriate support after discharge.",
        },
    }


def post(events: list[dict], partner: dict) -> dict:
    status, _, answer = http_json(
        "POST", url("intake", "/v1/findings:batch"), {"events": events}, bearer(partner), timeout=60
    )
    assert status == 200, answer
    return answer["counts"]


def unmet(community: str, area: str = AREA) -> str:
    return fingerprint(AlertRule.UNMET_NEED, area, f"community:{community}")


def shown(fp: str, key: dict) -> dict:
    status, _, body = api("GET", f"/v1/alerts/{fp}", key)
    assert status == 200, body
    return body


def appears(fp: str, key: dict):
    status, _, body = api("GET", f"/v1/alerts/{fp}", key)
    return body if status == 200 else None


def published(fp: str) -> list[dict]:
    return [v for v in json_values(ALERTS.name, timeout=20) if v.get("fingerprint") == fp]


def webhook(receiver, subscribe, key, **extra) -> dict:
    return subscribe(key, areas=[AREA], channel="webhook", target=receiver.url, **extra)


# --- the main flow --------------------------------------------------------------------------


def test_findings_open_one_signed_notification_then_ack_and_resolve_are_told(actors, receiver, subscriptions):
    gman = actors["gman"]
    sub = webhook(receiver, subscriptions, gman)
    assert len(sub["secret"]) >= 32
    fp = unmet("somali")
    events = [finding("somali"), finding("somali")]  # 2 x (high 3 x 100 people 3) = 18 >= 15
    assert post(events, actors["partner"]) == {"accepted": 2}

    (first,) = wait_until(lambda: receiver.about(fp), 60, what="the webhook")
    now = time.time()
    ts, sig = first.headers["x-csp-timestamp"], first.headers["x-csp-signature"]
    assert sig == sign(sub["secret"], ts, first.body) and sig.startswith("sha256=")
    assert verify(sub["secret"], ts, first.body, sig, now=now)
    assert not verify("another-secret-entirely", ts, first.body, sig, now=now)
    payload = first.payload
    assert alertmanager_problems(payload) == []  # what an Alertmanager receiver accepts
    assert first.headers["idempotency-key"] == payload["notificationId"]
    assert first.headers["content-type"] == "application/json"
    assert {k: payload[k] for k in ("version", "status", "receiver", "reason")} == {
        "version": "4",
        "status": "firing",
        "receiver": sub["id"],
        "reason": "new",
    }
    assert payload["groupLabels"] == {"area": AREA, "rule": "unmet_need", "subject": "community:somali"}
    assert payload["externalURL"] == url("alerts-api", "")
    (alert,) = payload["alerts"]
    assert alert["fingerprint"] == fp and alert["status"] == "firing"
    assert alert["endsAt"] == ZERO_TIME and alert["startsAt"].endswith("Z")
    assert alert["labels"] == {
        "alertname": "unmet_need",
        "rule": "unmet_need",
        "area": AREA,
        "region": REGION,
        "subject": "community:somali",
        "severity": "amber",
    }
    assert "Greater Manchester" in alert["annotations"]["summary"]
    assert alert["annotations"]["stages"].startswith("Assessing needs")
    assert payload["commonLabels"] == alert["labels"]

    body = shown(fp, gman)
    assert body["status"] == "firing" and body["severity"] == "amber"
    assert body["evidence"]["findings"] == 2 and body["evidence"]["score"] == 18.0
    assert sorted(body["event_ids"]) == sorted(e["event_id"] for e in events)
    assert [a["action"] for a in body["audit"]] == ["fired"]
    (note,) = body["notifications"]
    assert note["state"] == "delivered" and note["attempts"] == 1
    assert [(d["outcome"], d["status_code"]) for d in note["deliveries"]] == [("delivered", 200)]

    # Replays: through intake (duplicates), and a copy written straight onto mapped.events.v1.
    assert post(events, actors["partner"]) == {"duplicate": 2}
    copy = next(
        r for r in records(MAPPED.name, timeout=20) if json.loads(r.value)["event"]["event_id"] == events[0]["event_id"]
    )
    producer = KafkaProducer(bootstrap_servers=TEST_ENV["CSP_KAFKA_BOOTSTRAP"], acks="all")
    producer.send(MAPPED.name, key=copy.key, value=copy.value).get(timeout=10)
    producer.close()
    # A third, low-weight finding behind the copy in the same partition: once it counts, the
    # copy was seen (and must not have counted).
    marker = finding("somali", severity="low", people=None)
    assert post([marker], actors["partner"]) == {"accepted": 1}
    wait_until(lambda: shown(fp, gman)["evidence"]["findings"] == 3, 60, what="the marker")
    time.sleep(1.5)
    body = shown(fp, gman)
    assert body["evidence"]["findings"] == 3 and body["evidence"]["score"] == 19.0
    assert len(set(body["event_ids"])) == 3
    assert [a["action"] for a in body["audit"]] == ["fired"]
    assert len(receiver.about(fp)) == 1

    status, _, acked = api(
        "POST", f"/v1/alerts/{fp}/acknowledge", gman, {"note": "Raised with the talking therapies lead."}
    )
    assert status == 200, acked
    assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == "gman-icb"
    second = wait_until(
        lambda: (d := receiver.about(fp)) and len(d) >= 2 and d[1], 30, what="the acknowledgement notification"
    )
    (a2,) = second.payload["alerts"]
    assert second.payload["status"] == "firing" and a2["annotations"]["state"] == "acknowledged"
    assert a2["annotations"]["acknowledged_by"] == "gman-icb"
    assert a2["annotations"]["acknowledgement_note"] == "Raised with the talking therapies lead."
    status, headers, problem = api("POST", f"/v1/alerts/{fp}/acknowledge", gman, {})
    assert status == 409 and headers["content-type"] == "application/problem+json", problem

    status, _, resolved = api(
        "POST", f"/v1/alerts/{fp}/resolve", gman, {"note": "Counselling commissioned from Pattigift."}
    )
    assert status == 200 and resolved["status"] == "resolved" and resolved["ends_at"]
    third = wait_until(
        lambda: (d := receiver.about(fp)) and len(d) >= 3 and d[2], 30, what="the resolution notification"
    )
    (a3,) = third.payload["alerts"]
    assert third.payload["status"] == "resolved" and a3["status"] == "resolved"
    assert a3["endsAt"] != ZERO_TIME and a3["annotations"]["resolved_by"] == "gman-icb"
    audit = shown(fp, gman)["audit"]
    assert [(a["action"], a["by"], a["note"]) for a in audit] == [
        ("fired", None, None),
        ("acknowledged", "gman-icb", "Raised with the talking therapies lead."),
        ("resolved", "gman-icb", "Counselling commissioned from Pattigift."),
    ]
    time.sleep(1.5)
    assert len(receiver.about(fp)) == 3
    assert len({d.payload["notificationId"] for d in receiver.about(fp)}) == 3

    # alerts.v1 carries each change once, keyed by area, for reporting to consume.
    changes = wait_until(lambda: (p := published(fp)) and len(p) >= 4 and p, 30, what="alerts.v1 records")
    assert [(c["status"], len(c["event_ids"])) for c in changes] == [
        ("firing", 2),
        ("firing", 3),
        ("acknowledged", 3),
        ("resolved", 3),
    ]


def test_a_commissioner_of_another_area_sees_nothing_of_it(actors, receiver, subscriptions):
    gman, som = actors["gman"], actors["som"]
    fp = unmet("east_european")
    post([finding("east_european"), finding("east_european")], actors["partner"])
    wait_until(lambda: appears(fp, gman), 60, what="the alert")
    status, headers, problem = api("GET", f"/v1/alerts?area={AREA}", som)
    assert status == 403 and headers["content-type"] == "application/problem+json"
    assert AREA in problem["detail"]
    status, _, listing = api("GET", "/v1/alerts?limit=200", som)
    assert status == 200 and all(i["area"] == "SOM" for i in listing["items"])
    assert api("GET", f"/v1/alerts/{fp}", som)[0] == 404
    assert api("POST", f"/v1/alerts/{fp}/acknowledge", som, {"note": "not mine"})[0] == 404
    status, _, problem = api(
        "POST", "/v1/subscriptions", som, {"areas": [AREA], "channel": "webhook", "target": receiver.url}
    )
    assert status == 403, problem
    assert api("GET", "/v1/alerts", actors["pattigift"])[0] == 403
    assert api("GET", "/v1/alerts", None)[0] == 401
    status, _, listing = api("GET", f"/v1/alerts?area={AREA}&rule=unmet_need", actors["operator"])
    assert status == 200 and fp in {i["fingerprint"] for i in listing["items"]}


def test_list_filters_sorts_and_pages(actors):
    gman = actors["gman"]
    fp = unmet("white_other")
    post(
        [finding("white_other", severity="critical", people=1000) for _ in range(3)], actors["partner"]
    )  # 3 x 16 = 48 >= 40: red
    wait_until(lambda: appears(fp, gman), 60, what="the red alert")
    status, _, page = api("GET", f"/v1/alerts?area={AREA}&sort=-severity&limit=1", gman)
    assert status == 200 and page["items"][0]["severity"] == "red"
    assert page["total"] >= 2 and page["next_offset"] == 1 and len(page["items"]) == 1
    status, _, page = api("GET", f"/v1/alerts?area={AREA}&severity=red&status=firing", gman)
    assert fp in {i["fingerprint"] for i in page["items"]}
    assert all(i["severity"] == "red" for i in page["items"])
    status, headers, problem = api("GET", "/v1/alerts?sort=summary%3BDROP%20TABLE%20alerts", gman)
    assert status == 422 and headers["content-type"] == "application/problem+json"
    assert problem["errors"][0]["field"] == "query.sort"
    status, _, problem = api("GET", "/v1/alerts?status=open", gman)
    assert status == 422 and problem["errors"][0]["field"] == "query.status"


# --- delivery -------------------------------------------------------------------------------


def test_webhook_retries_with_backoff_and_logs_every_attempt(actors, subscriptions):
    gman = actors["gman"]
    receiver = WebhookReceiver(plan=[500, 503])
    try:
        webhook(receiver, subscriptions, gman)
        fp = unmet("chinese")
        post([finding("chinese"), finding("chinese")], actors["partner"])
        (delivered,) = wait_until(lambda: receiver.about(fp), 60, what="the third attempt")
        assert receiver.answered[:3] == [500, 503, 200]
        (note,) = wait_until(
            lambda: [n for n in shown(fp, gman)["notifications"] if n["state"] == "delivered"], 10, what="delivery log"
        )
        assert note["attempts"] == 3 and note["id"] == delivered.headers["idempotency-key"]
        assert [(d["attempt"], d["outcome"], d["status_code"]) for d in note["deliveries"]] == [
            (1, "retry", 500),
            (2, "retry", 503),
            (3, "delivered", 200),
        ]
        times = [datetime.fromisoformat(d["at"]) for d in note["deliveries"]]
        assert times[2] - times[1] >= timedelta(seconds=0.2)  # base 0.2 s x 2, half of it at least
    finally:
        receiver.close()


def test_email_arrives_at_the_smtp_relay_in_text_and_html(actors, smtp, subscriptions):
    gman = actors["gman"]
    status, _, problem = api(
        "POST", "/v1/subscriptions", gman, {"areas": [AREA], "channel": "email", "target": "not-an-address"}
    )
    assert status == 422 and problem["errors"][0]["field"] == "target"
    subscriptions(gman, areas=[AREA], channel="email", target="mh-commissioning@gman.example", rules=["unmet_need"])
    fp = unmet("irish")
    post([finding("irish"), finding("irish")], actors["partner"])

    def mail():
        return [m for m in smtp.messages if fp in m[2].get_body(("plain",)).get_content()]

    ((mail_from, rcpt, msg),) = wait_until(mail, 60, what="the email")
    assert rcpt == ["mh-commissioning@gman.example"] and "alerts@" in mail_from
    assert msg["Subject"].startswith("[FIRING:1] Unmet need - Greater Manchester")
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "community:irish" in text and "Assessing needs" in text
    assert "<li>" in html and f"/v1/alerts/{fp}" in html
    assert msg["X-CSP-Notification-Id"] in text


def test_server_sent_events_show_changes_in_granted_areas_only(actors):
    gman, som = actors["gman"], actors["som"]
    assert api("GET", f"/v1/alerts/stream?area={AREA}", som)[0] == 403
    mine = SseReader(url("alerts-api", "/v1/alerts/stream"), bearer(gman))
    theirs = SseReader(url("alerts-api", "/v1/alerts/stream"), bearer(som))
    try:
        wait_until(lambda: mine.status == 200 and theirs.status == 200, 10, what="both streams")
        fp = unmet("pakistani")
        post([finding("pakistani"), finding("pakistani")], actors["partner"])
        event = wait_until(
            lambda: [e for n, e in mine.events if n == "alert" and e["fingerprint"] == fp], 60, what="the live event"
        )
        assert event[0]["status"] == "firing" and event[0]["area"] == AREA
        time.sleep(1)
        assert not [e for _, e in theirs.events if e["area"] == AREA]
    finally:
        mine.close()
        theirs.close()


# --- silences, subscriptions, thresholds ----------------------------------------------------


def test_a_silence_mutes_notifications_not_state_until_it_expires(actors, receiver, subscriptions):
    gman = actors["gman"]
    webhook(receiver, subscriptions, gman)
    ends = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    status, _, problem = api("POST", "/v1/silences", gman, {"reason": "audit", "ends_at": ends})
    assert status == 422 and problem["errors"][0]["field"] == "area"
    status, _, problem = api(
        "POST",
        "/v1/silences",
        gman,
        {
            "area": AREA,
            "reason": "x",
            "ends_at": ends,
            "starts_at": (datetime.now(timezone.utc) + timedelta(hours=2)).isoformat(),
        },
    )
    assert status == 422 and "ends_at" in json.dumps(problem["errors"])
    assert api("POST", "/v1/silences", gman, {"area": "SOM", "reason": "x", "ends_at": ends})[0] == 403
    status, _, silence = api(
        "POST",
        "/v1/silences",
        gman,
        {
            "area": AREA,
            "rule": "unmet_need",
            "subject": "community:gypsy_and_traveller",
            "reason": "Known gap; a new service opens next month.",
            "ends_at": ends,
        },
    )
    assert status == 201 and silence["created_by"] == "gman-icb"
    assert silence["id"] in {s["id"] for s in api("GET", "/v1/silences", gman)[2]["items"]}

    fp = unmet("gypsy_and_traveller")
    post([finding("gypsy_and_traveller"), finding("gypsy_and_traveller")], actors["partner"])
    body = wait_until(lambda: appears(fp, gman), 60, what="the silenced alert")
    assert body["status"] == "firing" and body["silenced"] is True
    time.sleep(2)
    assert receiver.about(fp) == []

    status, _, expired = api("DELETE", f"/v1/silences/{silence['id']}", gman)
    assert status == 200 and datetime.fromisoformat(expired["ends_at"]) <= datetime.now(timezone.utc)
    (told,) = wait_until(lambda: receiver.about(fp), 30, what="the notification after expiry")
    assert told.payload["alerts"][0]["status"] == "firing"


def test_subscriptions_are_created_listed_and_deleted(actors, receiver):
    gman, som = actors["gman"], actors["som"]
    status, _, problem = api(
        "POST", "/v1/subscriptions", gman, {"areas": [AREA], "channel": "webhook", "target": "ftp://example.org/x"}
    )
    assert status == 422 and problem["errors"][0]["field"] == "target"
    status, _, problem = api(
        "POST",
        "/v1/subscriptions",
        gman,
        {"areas": [AREA], "channel": "webhook", "target": receiver.url, "min_severity": "pink"},
    )
    assert status == 422 and problem["errors"][0]["field"] == "min_severity"
    status, _, sub = api(
        "POST",
        "/v1/subscriptions",
        gman,
        {
            "areas": [AREA],
            "channel": "webhook",
            "target": receiver.url,
            "min_severity": "red",
            "rules": ["unmet_need", "funding_gap"],
            "secret": "a-shared-secret-of-some-length",
        },
    )
    assert status == 201 and sub["secret"] == "a-shared-secret-of-some-length"
    status, _, again = api("GET", f"/v1/subscriptions/{sub['id']}", gman)
    assert status == 200 and "secret" not in again and again["rules"] == ["funding_gap", "unmet_need"]
    assert sub["id"] in {s["id"] for s in api("GET", "/v1/subscriptions", gman)[2]["items"]}
    assert api("GET", f"/v1/subscriptions/{sub['id']}", som)[0] == 404
    assert api("DELETE", f"/v1/subscriptions/{sub['id']}", gman)[0] == 204
    assert api("GET", f"/v1/subscriptions/{sub['id']}", gman)[0] == 404


def test_thresholds_are_validated_and_a_raised_threshold_resolves_automatically(actors, receiver, subscriptions):
    shef, area = actors["shef"], "SHEF"
    status, _, current = api("GET", f"/v1/areas/{area}/thresholds", shef)
    assert status == 200 and current["thresholds"]["unmet_need"]["amber_score"] == 15.0
    assert "unmet_need.window_days" in current["sources"]
    assert api("GET", f"/v1/areas/{AREA}/thresholds", shef)[0] == 403
    for body, field in (
        ({"unmet_need": {"amber_score": 50, "red_score": 20}}, "unmet_need.red_score"),
        ({"unmet_need": {"window_days": 0}}, "unmet_need.window_days"),
        ({"funding": {"shortfall_tolerance": 1.5}}, "funding.shortfall_tolerance"),
        ({"unmet_need": {"colour": "red"}}, "unmet_need.colour"),
    ):
        status, headers, problem = api("PUT", f"/v1/areas/{area}/thresholds", shef, body)
        assert status == 422 and headers["content-type"] == "application/problem+json", problem
        assert problem["errors"][0]["field"] == field, problem

    subscriptions(shef, areas=[area], channel="webhook", target=receiver.url)
    fp = unmet("african", area)
    post([finding("african", area=area, region="yorkshire_and_humber") for _ in range(2)], actors["partner"])
    wait_until(lambda: receiver.about(fp), 60, what="the SHEF alert")
    status, _, updated = api(
        "PUT", f"/v1/areas/{area}/thresholds", shef, {"unmet_need": {"amber_score": 30, "red_score": 60}}
    )
    assert status == 200 and updated["overrides"] == {"unmet_need": {"amber_score": 30.0, "red_score": 60.0}}
    body = wait_until(lambda: (b := shown(fp, shef))["status"] == "resolved" and b, 30, what="the automatic resolution")
    assert [(a["action"], a["by"]) for a in body["audit"]] == [("fired", None), ("resolved", None)]
    told = wait_until(
        lambda: (d := receiver.about(fp)) and len(d) >= 2 and d[1], 30, what="the resolution notification"
    )
    assert told.payload["status"] == "resolved" and told.payload["reason"] == "resolved"
    assert api("PUT", f"/v1/areas/{area}/thresholds", shef, {})[0] == 200


# --- restart --------------------------------------------------------------------------------


def test_killing_the_worker_loses_and_repeats_nothing(actors, alerts_env, receiver, subscriptions):
    gman = actors["gman"]
    webhook(receiver, subscriptions, gman)
    before, during = unmet("indian"), unmet("bangladeshi")
    post([finding("indian"), finding("indian")], actors["partner"])
    wait_until(lambda: receiver.about(before), 60, what="the first alert")
    run_script(alerts_env, "services.sh", "kill", "alerts")  # SIGKILL, mid-stream
    post([finding("bangladeshi"), finding("bangladeshi")], actors["partner"])
    post([finding("indian", severity="low", people=None)], actors["partner"])
    time.sleep(1)
    assert receiver.about(during) == []
    run_script(alerts_env, "services.sh", "start", "alerts", timeout=300)
    wait_until(lambda: receiver.about(during), 90, what="the alert raised while down")
    wait_until(lambda: shown(before, gman)["evidence"]["findings"] == 3, 60, what="the marker")
    time.sleep(2)
    for fp, findings in ((before, 3), (during, 2)):
        body = shown(fp, gman)
        assert body["status"] == "firing" and body["evidence"]["findings"] == findings
        assert [a["action"] for a in body["audit"]] == ["fired"]
        assert len(receiver.about(fp)) == 1
    assert len({(c["status"], c["updated_at"]) for c in published(during)}) == 1


def test_metrics_are_exported(actors):
    import urllib.request

    def scrape(service: str) -> str:
        return urllib.request.urlopen(url(service, "/metrics"), timeout=5).read().decode()

    worker = wait_until(lambda: (m := scrape("alerts")) and "csp_alerts{" in m and m, 20, what="the alert gauges")
    assert 'csp_alerts{rule="unmet_need",state="firing"}' in worker
    assert 'csp_alerts_by_area{area="GMAN",state="firing"}' in worker
    api_metrics = scrape("alerts-api")
    assert 'csp_alert_notifications_total{channel="webhook",outcome="delivered"}' in api_metrics
    assert "csp_alert_notification_delivery_seconds_bucket" in api_metrics
