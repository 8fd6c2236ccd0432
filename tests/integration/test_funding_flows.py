"""Funding flows against real Kafka and PostgreSQL: money stuck at a trust raises an alert once the
onward-payment threshold passes (the alerts worker's clock moved with the test-only
CSP_ALERTS_CLOCK_OFFSET_SECONDS) and an onward payment resolves it; an alliance member paid nothing
while the alliance was paid raises its own; replays change nothing; only a party to a flow may
post it."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from kafka import KafkaProducer

from contracts.events import AlertRule
from contracts.topics import MAPPED
from services.alerts.domain.conditions import fingerprint
from tests.conftest import TEST_ENV, bearer, create_key, http_json, url, wait_until
from tests.integration.kafka_probe import records
from tests.stackenv import run_script

pytestmark = pytest.mark.integration

AREA, REGION = "SOM", "south_west"
FAST = {"CSP_ALERTS_TICK_SECONDS": "0.5", "CSP_ALERTS_REEVALUATE_SECONDS": "2"}
RUN = uuid.uuid4().hex[:6]
TRUST, LEAD = f"som-trust-{RUN}", f"som-lead-{RUN}"
PAID, UNPAID = f"som-member-a-{RUN}", f"som-member-b-{RUN}"


def restart(env: dict[str, str]) -> None:
    run_script(env, "services.sh", "stop", "alerts", "alerts-api")
    run_script(env, "services.sh", "start", "alerts", "alerts-api", timeout=300)


@pytest.fixture(scope="module")
def actors(stack, keys) -> dict[str, dict]:
    made = {org: create_key(org, "partner", areas=AREA, name=org) for org in (TRUST, LEAD, PAID, UNPAID)}
    made["stranger"] = create_key(f"som-stranger-{RUN}", "partner", areas=AREA, name="Not a party")
    status, _, registered = http_json(
        "PUT",
        url("intake", f"/v1/organisations/{LEAD}"),
        {"members": [PAID, UNPAID], "shares": {PAID: 0.6, UNPAID: 0.4}},
        bearer(keys["operator"]),
    )
    assert status == 200 and registered["shares"] == {PAID: 0.6, UNPAID: 0.4}, registered
    status, _, problem = http_json(
        "PUT",
        url("intake", f"/v1/organisations/{LEAD}"),
        {"members": [PAID], "shares": {PAID: 0.6, UNPAID: 0.4}},
        bearer(keys["operator"]),
    )
    assert status == 422 and problem["errors"][0]["field"] == "shares"
    restart({**TEST_ENV, **FAST})
    yield {**made, "commissioner": keys["som-commissioner"]}
    restart(TEST_ENV)


def party(org: str, role: str) -> dict:
    return {"organisation_id": org, "role": role}


def flow(
    source: str,
    payer: dict,
    payee: dict,
    amount: float,
    days_ago: float,
    reference: str,
    period: tuple[date, date],
    kind: str = "payment",
) -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "source": source,
        "area": AREA,
        "region": REGION,
        "occurred_at": (datetime.now(timezone.utc) - timedelta(days=days_ago)).isoformat(),
        "type": "uk.nhs.commissioning.funding.v1",
        "data": {
            "kind": kind,
            "reference": reference,
            "payer": payer,
            "payee": payee,
            "amount_gbp": amount,
            "period_start": period[0].isoformat(),
            "period_end": period[1].isoformat(),
            "alliance_id": LEAD,
        },
    }


def post(events: list[dict], key: dict) -> dict:
    status, _, answer = http_json(
        "POST", url("intake", "/v1/funding-events:batch"), {"events": events}, bearer(key), timeout=60
    )
    assert status == 200, answer
    return answer["counts"]


def alert(fp: str, key: dict) -> dict | None:
    status, _, body = http_json("GET", url("alerts-api", f"/v1/alerts/{fp}"), headers=bearer(key))
    return body if status == 200 else None


def seen(found: dict | None) -> tuple | None:
    """What a replay must not change of an alert."""
    return (
        None
        if found is None
        else (found["status"], found["severity"], found["updated_at"], sorted(found["event_ids"]), found["evidence"])
    )


def test_money_stuck_at_the_trust_alerts_after_the_threshold_and_the_onward_payment_resolves_it(actors):
    reader = actors["commissioner"]
    today = datetime.now(timezone.utc).date()
    this_period = (today - timedelta(days=20), today)
    last_period = (today - timedelta(days=60), today - timedelta(days=21))
    icb, trust, lead = party("somerset-icb", "commissioner"), party(TRUST, "trust"), party(LEAD, "lead_body")
    ref, ref_before = f"SOM-CMH-{RUN}", f"SOM-CMH-{RUN}-PREV"

    # The trust was paid 13 days ago (the threshold is 14); last period's money reached the lead
    # body, which paid one member and not the other.
    to_trust = flow(TRUST, icb, trust, 45_000, 13, ref, this_period)
    to_lead = flow(LEAD, trust, lead, 40_000, 40, ref_before, last_period)
    to_member = flow(LEAD, lead, party(PAID, "member"), 24_000, 35, ref_before, last_period)
    assert post([to_trust], actors[TRUST]) == {"accepted": 1}
    assert post([to_lead, to_member], actors[LEAD]) == {"accepted": 2}

    unpaid = fingerprint(AlertRule.ALLIANCE_MEMBER_UNPAID, AREA, f"member:{LEAD}:{UNPAID}:{last_period[0]}")
    member_alert = wait_until(lambda: alert(unpaid, reader), 60, what="the unpaid member alert")
    assert member_alert["status"] == "firing" and member_alert["evidence"]["share_due_gbp"] == 16_000
    assert (
        alert(fingerprint(AlertRule.ALLIANCE_MEMBER_UNPAID, AREA, f"member:{LEAD}:{PAID}:{last_period[0]}"), reader)
        is None
    )
    stuck = fingerprint(AlertRule.PAYMENT_STUCK_IN_CHAIN, AREA, f"payment:{ref}:{TRUST}:{this_period[0]}")
    time.sleep(4)  # several re-evaluations: 13 days are within the threshold
    assert alert(stuck, reader) is None

    # Two days on (the alerts worker's clock moved), the money has sat at the trust 15 days.
    restart({**TEST_ENV, **FAST, "CSP_ALERTS_CLOCK_OFFSET_SECONDS": str(2 * 86400)})
    fired = wait_until(lambda: alert(stuck, reader), 60, what="the stuck payment alert")
    assert fired["status"] == "firing" and fired["severity"] == "amber"
    assert fired["evidence"]["days_waiting"] == 15 and fired["evidence"]["payee"] == TRUST

    # The trust pays the lead body: the alert resolves.
    onward = flow(TRUST, trust, lead, 45_000, 0, ref, this_period)
    assert post([onward], actors[TRUST]) == {"accepted": 1}
    wait_until(lambda: alert(stuck, reader)["status"] == "resolved", 60, what="the alert resolved")

    # Replays change nothing: through intake, and every mapped record of the area again on
    # mapped.events.v1, behind which a marker flow raises an alert of its own.
    assert post([to_trust, onward], actors[TRUST]) == {"duplicate": 2}
    assert post([to_lead, to_member], actors[LEAD]) == {"duplicate": 2}
    before = {fp: seen(alert(fp, reader)) for fp in (stuck, unpaid)}
    producer = KafkaProducer(bootstrap_servers=TEST_ENV["CSP_KAFKA_BOOTSTRAP"], acks="all")
    for r in records(MAPPED.name, timeout=20):
        if r.key == AREA.encode() and json.loads(r.value)["event"]["type"].endswith("funding.v1"):
            producer.send(MAPPED.name, key=r.key, value=r.value, headers=r.headers).get(timeout=10)
    producer.close()
    marker_ref = f"SOM-MARK-{RUN}"
    marker = flow(TRUST, icb, trust, 1_000, 20, marker_ref, this_period)
    assert post([marker], actors[TRUST]) == {"accepted": 1}
    wait_until(
        lambda: alert(
            fingerprint(AlertRule.PAYMENT_STUCK_IN_CHAIN, AREA, f"payment:{marker_ref}:{TRUST}:{this_period[0]}"),
            reader,
        ),
        60,
        what="the marker's alert",
    )
    assert {fp: seen(alert(fp, reader)) for fp in (stuck, unpaid)} == before


def test_only_a_party_to_a_flow_may_post_it(actors):
    today = datetime.now(timezone.utc).date()
    body = flow(
        f"som-stranger-{RUN}",
        party(TRUST, "trust"),
        party(LEAD, "lead_body"),
        500,
        1,
        f"SOM-X-{RUN}",
        (today - timedelta(days=5), today),
    )
    status, headers, problem = http_json("POST", url("intake", "/v1/funding-events"), body, bearer(actors["stranger"]))
    assert status == 403 and headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in problem["errors"]] == ["data.payer.organisation_id", "data.payee.organisation_id"]
    status, _, answer = http_json(
        "POST", url("intake", "/v1/funding-events:batch"), {"events": [body]}, bearer(actors["stranger"])
    )
    assert status == 200 and answer["results"][0]["http_status"] == 403
    # The payee may post it, and a negative amount is refused naming the field.
    mine = {**body, "source": LEAD, "event_id": str(uuid.uuid4())}
    status, _, answer = http_json("POST", url("intake", "/v1/funding-events"), mine, bearer(actors[LEAD]))
    assert status == 202, answer
    bad = {**mine, "event_id": str(uuid.uuid4()), "data": {**mine["data"], "amount_gbp": -5}}
    status, _, problem = http_json("POST", url("intake", "/v1/funding-events"), bad, bearer(actors[LEAD]))
    assert status == 422 and [e["field"] for e in problem["errors"]] == ["data.amount_gbp"]


def test_the_funding_chain_report_shows_where_money_waits(actors):
    today = datetime.now(timezone.utc).date()
    ref = f"SOM-RPT-{RUN}"
    waiting = flow(
        TRUST,
        party("somerset-icb", "commissioner"),
        party(TRUST, "trust"),
        12_345,
        3,
        ref,
        (today - timedelta(days=10), today),
    )
    assert post([waiting], actors[TRUST]) == {"accepted": 1}
    reader = bearer(actors["commissioner"])

    def chain() -> dict | None:
        status, _, body = http_json(
            "GET", url("reporting", f"/v1/reports/funding-chain?area={AREA}&days=90"), headers=reader
        )
        assert status == 200, body
        alliance = next((a for a in body["alliances"] if a["alliance_id"] == LEAD), None)
        return alliance if alliance and any(s["reference"] == ref for s in alliance["stalls"]) else None

    alliance = wait_until(chain, 60, what="the payment in the funding chain report")
    stall = next(s for s in alliance["stalls"] if s["reference"] == ref)
    assert stall["at"] == TRUST and stall["amount_gbp"] == 12_345 and stall["days_waiting"] == 3
    assert {m["member"]: m["share"] for m in alliance["members"]} == {PAID: 0.6, UNPAID: 0.4}
    req = urllib.request.Request(url("reporting", f"/v1/reports/funding-chain.csv?area={AREA}&days=90"), headers=reader)
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read().decode()
    assert text.startswith("alliance,reference,") and f"{LEAD},{ref}," in text
    req = urllib.request.Request(url("reporting", f"/dashboard/funding-chain?area={AREA}&days=90"), headers=reader)
    with urllib.request.urlopen(req, timeout=10) as r:
        page = r.read().decode()
    assert 'data-testid="funding-chain-chart"' in page and "<svg" in page and ref in page
    assert http_json("GET", url("reporting", "/v1/reports/funding-chain?area=BSOL"), headers=reader)[0] == 403
