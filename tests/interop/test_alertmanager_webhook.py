"""The alert webhook body against a JSON Schema of Alertmanager's webhook format (version 4,
contracts/external/alertmanager-webhook-v4.json), so receivers written for Alertmanager accept it
unchanged. Firing, acknowledged, resolved and grouped notifications are all checked."""

from __future__ import annotations

import json

import pytest

from contracts.events import AlertSeverity
from services.alerts.domain.delivery import alertmanager_payload
from services.alerts.domain.lifecycle import acknowledge, resolve_by_hand
from tests.interop.alertmanager_schema import problems
from tests.unit.alerts.factories import NOW
from tests.unit.alerts.test_delivery import cond, fired


def payloads() -> dict[str, dict]:
    records, (intent,) = fired(cond())
    (record,) = records.values()
    acked, _ = acknowledge(record, by="bsol-icb", note="On it", now=NOW)
    done, _ = resolve_by_hand(acked, by="bsol-icb", note="Service commissioned", now=NOW)
    _, grouped = fired(cond(), cond(AlertSeverity.RED, subject="community:irish"))
    common = {"receiver": "sub-1", "notification_id": "n-1", "external_url": "https://alerts.example/"}
    return {
        "firing": alertmanager_payload(intent, intent.alerts, records=records, **common),
        "acknowledged": alertmanager_payload(intent, [acked.to_alert()], records={acked.fingerprint: acked}, **common),
        "resolved": alertmanager_payload(intent, [done.to_alert()], records={done.fingerprint: done}, **common),
        "grouped": alertmanager_payload(grouped[0], [a for i in grouped for a in i.alerts], **common),
    }


@pytest.mark.parametrize("kind", ["firing", "acknowledged", "resolved", "grouped"])
def test_the_webhook_body_is_an_alertmanager_v4_notification(kind):
    body = payloads()[kind]
    assert problems(body) == []
    if kind == "resolved":
        assert body["status"] == "resolved" and body["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z"


@pytest.mark.parametrize(
    "breakage", ["no fingerprint", "numeric label", "unknown status", "bad label name", "bad time"]
)
def test_the_schema_refuses_what_an_alertmanager_receiver_would(breakage):
    """The check can fail: each breakage is one a receiver for Alertmanager would choke on."""
    body = json.loads(json.dumps(payloads()["firing"]))
    alert = body["alerts"][0]
    if breakage == "no fingerprint":
        del alert["fingerprint"]
    elif breakage == "numeric label":
        alert["labels"]["events"] = 3
    elif breakage == "unknown status":
        body["status"] = "acknowledged"
    elif breakage == "bad label name":
        alert["labels"]["cycle-stage"] = "x"
    else:
        alert["startsAt"] = "yesterday"
    assert problems(body)
