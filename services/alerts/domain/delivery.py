"""Who hears about what, and in which shape. Pure: no sockets, no clock, no randomness inside.

* :func:`route` matches a notification intent against commissioners' subscriptions (area,
  minimum severity, rules) and keeps, for each subscription, only the alerts it asked for.
* :func:`alertmanager_payload` shapes a notification like Prometheus Alertmanager's webhook
  (version "4"), so tooling that reads Alertmanager can read ours.
* :func:`sign` / :func:`verify` - HMAC-SHA256 over ``"<timestamp>.<body>"``.
* :func:`backoff` - exponential backoff with jitter (the caller passes the random number).
* :func:`email_message` - subject, plain text and HTML of an email notification.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.events import Alert, AlertRule, AlertSeverity, AlertStatus
from contracts.places import AREAS

from . import targets
from .conditions import SEVERITY_RANK
from .lifecycle import AlertRecord, NotificationIntent

Channel = Literal["webhook", "email"]
#: Alertmanager writes this for an alert that has not ended.
ZERO_TIME = "0001-01-01T00:00:00Z"
SIGNATURE_PREFIX = "sha256="
_EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")


class Subscription(BaseModel):
    """A commissioner's standing request to be told about alerts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: UUID
    organisation_id: str
    areas: frozenset[str] = Field(min_length=1)
    min_severity: AlertSeverity = AlertSeverity.AMBER
    rules: frozenset[AlertRule] = Field(frozenset(), description="Rules to hear about; empty means every rule.")
    channel: Channel
    target: str = Field(min_length=3, max_length=2000)

    @field_validator("areas")
    @classmethod
    def _known_areas(cls, areas: frozenset[str]) -> frozenset[str]:
        unknown = sorted(a for a in areas if a not in AREAS)
        if unknown:
            raise ValueError(f"unknown area code(s): {', '.join(unknown)}")
        return areas

    def wants(self, alert: Alert) -> bool:
        return (
            alert.area in self.areas
            and SEVERITY_RANK[alert.severity] >= SEVERITY_RANK[self.min_severity]
            and (not self.rules or alert.rule in self.rules)
        )


def valid_target(channel: Channel, target: str) -> str | None:
    """Why ``target`` cannot be used on ``channel``, or None when it can."""
    if channel == "email":
        return None if _EMAIL.match(target) else "not an email address"
    try:
        targets.parse(target)
    except targets.TargetRefused as exc:
        return str(exc)
    return None


def route(
    intent: NotificationIntent, subscriptions: Sequence[Subscription]
) -> list[tuple[Subscription, tuple[Alert, ...]]]:
    """Each subscription that wants any alert of the intent, with the alerts it wants."""
    out = []
    for sub in sorted(subscriptions, key=lambda s: str(s.id)):
        wanted = tuple(a for a in intent.alerts if sub.wants(a))
        if wanted:
            out.append((sub, wanted))
    return out


def _iso(at: datetime | None) -> str:
    return at.isoformat().replace("+00:00", "Z") if at else ZERO_TIME


def _labels(alert: Alert) -> dict[str, str]:
    return {
        "alertname": alert.rule.value,
        "rule": alert.rule.value,
        "area": alert.area,
        "region": alert.region.value,
        "subject": alert.subject,
        "severity": alert.severity.value,
    }


def _annotations(alert: Alert, record: AlertRecord | None) -> dict[str, str]:
    notes = {
        "summary": alert.summary,
        "state": alert.status.value,
        "stages": ", ".join(s.title for s in alert.stages),
        "competencies": ", ".join(c.title for c in alert.competencies),
        "events": str(len(alert.event_ids)),
    }
    if record is not None and alert.status is AlertStatus.ACKNOWLEDGED:
        notes["acknowledged_by"] = record.acknowledged_by or ""
        notes["acknowledgement_note"] = record.acknowledgement_note or ""
    if record is not None and alert.status is AlertStatus.RESOLVED:
        notes["resolved_by"] = record.resolved_by or "automatically: the condition cleared"
        if record.resolution_note:
            notes["resolution_note"] = record.resolution_note
    return notes


def _common(dicts: Sequence[Mapping[str, str]]) -> dict[str, str]:
    if not dicts:
        return {}
    first = dicts[0]
    return {k: v for k, v in first.items() if all(d.get(k) == v for d in dicts[1:])}


def alertmanager_payload(
    intent: NotificationIntent,
    alerts: Sequence[Alert],
    *,
    receiver: str,
    notification_id: str,
    external_url: str,
    records: Mapping[str, AlertRecord] | None = None,
) -> dict[str, Any]:
    """Alertmanager webhook payload (version 4) plus ``notificationId`` and ``reason``."""
    records = records or {}
    base = external_url.rstrip("/")
    items: list[dict[str, Any]] = []
    for alert in alerts:
        status = "resolved" if alert.status is AlertStatus.RESOLVED else "firing"
        items.append(
            {
                "status": status,
                "labels": _labels(alert),
                "annotations": _annotations(alert, records.get(alert.fingerprint)),
                "startsAt": _iso(alert.starts_at),
                "endsAt": _iso(alert.ends_at),
                "generatorURL": f"{base}/v1/alerts/{alert.fingerprint}",
                "fingerprint": alert.fingerprint,
            }
        )
    labels = [i["labels"] for i in items]
    notes = [i["annotations"] for i in items]
    status = "firing" if any(i["status"] == "firing" for i in items) else "resolved"
    return {
        "version": "4",
        "groupKey": intent.group_key,
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": dict(intent.group_labels),
        "commonLabels": _common(labels),
        "commonAnnotations": _common(notes),
        "externalURL": base,
        "alerts": items,
        "notificationId": notification_id,
        "reason": intent.reason,
    }


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, "<timestamp>.<body>")."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, *, now: float, tolerance_seconds: float = 300
) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent."""
    try:
        age = abs(now - float(timestamp))
    except ValueError:
        return False
    return age <= tolerance_seconds and hmac.compare_digest(sign(secret, timestamp, body), signature)


def backoff(attempt: int, *, base: float, cap: float, jitter: float) -> float:
    """Seconds before retry number ``attempt`` (1 = the first retry): base x 2^(attempt-1),
    capped, then scaled into [50%, 100%] by ``jitter`` in [0, 1] ("equal jitter"), so that
    receivers coming back up are not hit by every sender at the same instant."""
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    if not 0 <= jitter <= 1:
        raise ValueError("jitter must be in [0, 1]")
    delay = min(cap, base * 2 ** (attempt - 1))
    return delay * (0.5 + jitter / 2)


def retryable(status_code: int | None) -> bool:
    """Network errors, timeouts, 408, 425, 429 and 5xx are worth retrying; other 4xx are not."""
    return status_code is None or status_code in (408, 425, 429) or status_code >= 500


def _place(area: str) -> str:
    return AREAS[area].name if area in AREAS else area


def email_message(payload: Mapping[str, Any]) -> tuple[str, str, str]:
    """(subject, plain text, HTML) for an Alertmanager-shaped payload."""
    alerts = payload["alerts"]
    firing = [a for a in alerts if a["status"] == "firing"]
    resolved = [a for a in alerts if a["status"] == "resolved"]
    head = f"[{payload['status'].upper()}:{len(firing) or len(resolved)}]"
    first = alerts[0]["labels"]
    rule = first["rule"].replace("_", " ")
    subject = f"{head} {rule.capitalize()} - {_place(first['area'])} ({first['subject']})"
    if len(alerts) > 1:
        subject += f" and {len(alerts) - 1} more"
    lines = [f"Commissioning signals: {len(firing)} firing, {len(resolved)} resolved ({payload['reason']}).", ""]
    blocks = []
    for a in alerts:
        n, lab = a["annotations"], a["labels"]
        state = n.get("state", a["status"])
        lines += [
            f"* {state.upper()} {lab['severity'].upper()}: {n['summary']}",
            f"  Area: {_place(lab['area'])}; subject: {lab['subject']}; since {a['startsAt']}.",
            f"  Commissioning cycle stages: {n.get('stages', '')}",
            f"  Competencies: {n.get('competencies', '')}",
        ]
        for key in ("acknowledged_by", "acknowledgement_note", "resolved_by", "resolution_note"):
            if n.get(key):
                lines.append(f"  {key.replace('_', ' ').capitalize()}: {n[key]}")
        lines += [f"  Details: {a['generatorURL']}", ""]
        blocks.append(
            "<li><p><strong>{state} {sev}</strong>: {summary}</p>"
            "<p>Area: {area}; subject: {subject}; since {since}.<br>"
            "Stages: {stages}<br>Competencies: {comps}</p>"
            '<p><a href="{url}">Evidence and audit trail</a></p></li>'.format(
                state=html.escape(state.upper()),
                sev=html.escape(lab["severity"].upper()),
                summary=html.escape(n["summary"]),
                area=html.escape(_place(lab["area"])),
                subject=html.escape(lab["subject"]),
                since=html.escape(a["startsAt"]),
                stages=html.escape(n.get("stages", "")),
                comps=html.escape(n.get("competencies", "")),
                url=html.escape(a["generatorURL"], quote=True),
            )
        )
    lines.append(f"Notification {payload['notificationId']}.")
    body_html = (
        "<html><body><p>Commissioning signals: {f} firing, {r} resolved ({why}).</p>"
        "<ul>{items}</ul><p><small>Notification {nid}.</small></p></body></html>"
    ).format(
        f=len(firing),
        r=len(resolved),
        why=html.escape(payload["reason"]),
        items="".join(blocks),
        nid=html.escape(payload["notificationId"]),
    )
    return subject, "\n".join(lines), body_html
