"""Routing to subscriptions, the Alertmanager-shaped payload, signatures, backoff, email text."""

from __future__ import annotations

import hashlib
import ipaddress
import hmac
import json
from uuid import UUID

import pytest
from pydantic import ValidationError

from contracts.events import AlertRule, AlertSeverity
from services.alerts.domain.conditions import Condition
from services.alerts.domain.delivery import (
    ZERO_TIME,
    Subscription,
    alertmanager_payload,
    backoff,
    email_message,
    retryable,
    route,
    sign,
    valid_target,
    verify,
)
from services.alerts.domain.targets import publicly_routable
from services.alerts.domain.lifecycle import NotificationPolicy, acknowledge, step
from services.alerts.domain.records import RuleOutcome

from .factories import AREA, NOW

POLICY = NotificationPolicy(group_by=("area", "rule", "subject"))


def cond(severity=AlertSeverity.AMBER, subject="community:somali", rule=AlertRule.UNMET_NEED):
    outcome = RuleOutcome(
        severity=severity, subject=subject, detail="Two findings.", evidence={"score": 18}, event_ids=()
    )
    return Condition.of(rule, AREA, outcome)


def fired(*conditions):
    result = step({}, list(conditions), area=AREA, now=NOW, policy=POLICY)
    return result.records, list(result.notifications)


def sub(n=1, **kw) -> Subscription:
    values = {
        "id": UUID(int=n),
        "organisation_id": "bsol-icb",
        "areas": {AREA},
        "channel": "webhook",
        "target": "https://hooks.example/alerts",
        **kw,
    }
    return Subscription(**values)


def test_route_keeps_area_severity_and_rules():
    _, (amber,) = fired(cond())
    _, (red,) = fired(cond(AlertSeverity.RED, subject="provider:x", rule=AlertRule.FUNDING_GAP))
    everyone, reds = sub(1), sub(2, min_severity="red")
    funding_only, elsewhere = sub(3, rules={AlertRule.FUNDING_GAP}), sub(4, areas={"SOM"})
    subs = [everyone, reds, funding_only, elsewhere]
    assert [s.id for s, _ in route(amber, subs)] == [everyone.id]
    assert [s.id for s, _ in route(red, subs)] == [everyone.id, reds.id, funding_only.id]


def test_subscription_refuses_unknown_areas():
    with pytest.raises(ValidationError, match="ZZZ"):
        sub(areas={"ZZZ"})


@pytest.mark.parametrize(
    "channel,target,ok",
    [
        ("webhook", "https://hooks.example/a", True),
        ("webhook", "http://127.0.0.1:9/x", True),
        ("webhook", "ftp://hooks.example/a", False),
        ("webhook", "javascript:alert(1)", False),
        ("email", "commissioning@icb.nhs.example", True),
        ("email", "no-at-sign", False),
        ("email", "a@b", False),
    ],
)
def test_targets(channel, target, ok):
    assert (valid_target(channel, target) is None) is ok


def test_payload_is_shaped_like_alertmanagers_webhook():
    records, (intent,) = fired(cond())
    (alert,) = intent.alerts
    p = alertmanager_payload(
        intent,
        intent.alerts,
        receiver="sub-1",
        notification_id="n-1",
        external_url="https://alerts.example/",
        records=records,
    )
    assert set(p) == {
        "version",
        "groupKey",
        "truncatedAlerts",
        "status",
        "receiver",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
        "externalURL",
        "alerts",
        "notificationId",
        "reason",
    }
    assert p["version"] == "4" and p["status"] == "firing" and p["reason"] == "new"
    assert p["externalURL"] == "https://alerts.example"
    (item,) = p["alerts"]
    assert set(item) == {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}
    assert item["endsAt"] == ZERO_TIME and item["startsAt"] == "2026-03-31T12:00:00Z"
    assert item["labels"]["alertname"] == "unmet_need" and item["labels"]["severity"] == "amber"
    assert item["generatorURL"] == f"https://alerts.example/v1/alerts/{alert.fingerprint}"
    assert p["commonLabels"] == item["labels"] and p["groupLabels"]["subject"] == alert.subject
    json.dumps(p)  # serialisable as it is


def test_acknowledged_alert_is_firing_with_who_and_why():
    records, (intent,) = fired(cond())
    (record,) = records.values()
    acked, _ = acknowledge(record, by="bsol-icb", note="On it", now=NOW)
    p = alertmanager_payload(
        intent,
        [acked.to_alert()],
        receiver="r",
        notification_id="n",
        external_url="https://x",
        records={acked.fingerprint: acked},
    )
    notes = p["alerts"][0]["annotations"]
    assert p["alerts"][0]["status"] == "firing" and notes["state"] == "acknowledged"
    assert notes["acknowledged_by"] == "bsol-icb" and notes["acknowledgement_note"] == "On it"


def test_common_labels_keep_only_what_all_share():
    _, intents = fired(cond(), cond(subject="community:irish"))
    alerts = [a for i in intents for a in i.alerts]
    p = alertmanager_payload(intents[0], alerts, receiver="r", notification_id="n", external_url="https://x")
    assert "subject" not in p["commonLabels"] and p["commonLabels"]["area"] == AREA


def test_signature_is_hmac_sha256_over_timestamp_dot_body():
    body = b'{"version":"4"}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("s3cret", "1700000000", body) == "sha256=" + expected
    sig = sign("s3cret", "1700000000", body)
    assert verify("s3cret", "1700000000", body, sig, now=1700000100)
    assert not verify("s3cret", "1700000000", body + b" ", sig, now=1700000100)
    assert not verify("other", "1700000000", body, sig, now=1700000100)
    assert not verify("s3cret", "1700000000", body, sig, now=1700000000 + 301)  # replayed late
    assert not verify("s3cret", "yesterday", body, sig, now=1700000000)


def test_backoff_doubles_to_a_cap_with_jitter_in_the_upper_half():
    assert [backoff(n, base=2, cap=60, jitter=1.0) for n in (1, 2, 3, 4, 5, 6, 7)] == [2, 4, 8, 16, 32, 60, 60]
    assert backoff(3, base=2, cap=60, jitter=0.0) == 4
    assert 4 <= backoff(3, base=2, cap=60, jitter=0.37) <= 8
    with pytest.raises(ValueError):
        backoff(0, base=2, cap=60, jitter=0.5)
    with pytest.raises(ValueError):
        backoff(1, base=2, cap=60, jitter=1.5)


@pytest.mark.parametrize(
    "code,again",
    [
        (None, True),
        (500, True),
        (503, True),
        (429, True),
        (408, True),
        (400, False),
        (401, False),
        (404, False),
        (410, False),
    ],
)
def test_what_is_retried(code, again):
    assert retryable(code) is again


def test_email_has_subject_text_and_escaped_html():
    records, (intent,) = fired(cond())
    p = alertmanager_payload(
        intent,
        intent.alerts,
        receiver="r",
        notification_id="n-42",
        external_url="https://alerts.example",
        records=records,
    )
    p["alerts"][0]["annotations"]["summary"] = "Unmet need <script>x</script>"
    subject, text, html = email_message(p)
    assert subject == "[FIRING:1] Unmet need - Birmingham and Solihull (community:somali)"
    assert "FIRING AMBER: Unmet need <script>" in text and "n-42" in text
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "https://alerts.example/v1/alerts/" in html


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.5",
        "172.16.3.4",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fe80::1%eth0",
        "fd00::1",
        "::ffff:10.1.2.3",
        "224.0.0.1",
    ],
)
def test_webhooks_may_not_reach_internal_addresses(address):
    assert not publicly_routable(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "51.140.10.20", "2a00:1450:4009:80b::200e", "::ffff:8.8.4.4"])
def test_public_addresses_are_fine(address):
    assert publicly_routable(ipaddress.ip_address(address))
