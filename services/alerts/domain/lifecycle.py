"""Alert lifecycle and notification decisions, after Prometheus Alertmanager. Pure: no sending.

Two halves, both pure functions of their inputs and ``now``:

* :func:`transition` - alert state. A new condition opens an alert (firing). A condition that
  clears resolves its alert automatically, acknowledged or not. An acknowledged alert stays
  acknowledged until it resolves. An alert resolved by hand stays resolved while its condition
  holds at the same or a lower severity, and opens again if the condition clears and returns or
  grows worse. An inhibited condition (its provider is silent) neither opens an alert nor
  changes one: no decision is made on missing data.
* :func:`flush` - notifications. Alerts are grouped by labels (``group_by``, by default area and
  rule). A new group is notified after ``group_wait``; later changes to a group (a new alert, a
  change of severity or status, a resolution) go out at most once per ``group_interval``; a
  group with firing, unacknowledged alerts is reminded every ``repeat_interval``. Resolutions are
  notified only for alerts whose firing was notified. Silences mute notifications, never state:
  a muted alert keeps firing, acknowledging and resolving; it is just not told. Inhibited alerts
  are muted the same way.

:func:`step` runs both. Each returns the intents to notify and audit entries; delivery,
storage and subscriptions are the adapters' business.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from contracts.events import Alert, AlertFacts, AlertRule, AlertSeverity, AlertStatus

from .conditions import SEVERITY_RANK, Condition

GroupLabel = Literal["area", "rule", "subject"]
#: Changes that :attr:`NotificationPolicy.prompt` may send at once, past the group interval.
PromptAction = Literal["fired", "reopened", "escalated", "de-escalated", "acknowledged", "resolved_by_hand", "resolved"]
#: What an audit entry records.
AuditAction = Literal["fired", "reopened", "escalated", "de-escalated", "acknowledged", "resolved"]
#: Why a group is notified.
NotifyReason = Literal["new", "update", "reminder", "resolved"]
ACTIVE = frozenset({AlertStatus.FIRING, AlertStatus.ACKNOWLEDGED})


class LifecycleError(ValueError):
    """An action that does not fit the alert's state (e.g. acknowledging a resolved alert)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NotificationPolicy(_Frozen):
    """Grouping and timing of notifications. Alertmanager's defaults are group_wait 30s,
    group_interval 5m, repeat_interval 4h; ours differ where commissioners differ."""

    group_by: tuple[GroupLabel, ...] = Field(
        default=("area", "rule"),
        description="Labels that make a group (must include area: state is "
        "per area). Add 'subject' for one group per alert.",
    )
    group_wait: timedelta = Field(
        default=timedelta(0),
        description="Platform default 0s: a new alert goes out at once (issue 5 "
        "asks for under 2 s from event to webhook).",
    )
    group_interval: timedelta = Field(
        default=timedelta(minutes=5), description="Alertmanager's default: updates to a group at most this often."
    )
    repeat_interval: timedelta = Field(
        default=timedelta(hours=24),
        description="Platform default: commissioners read alerts daily, "
        "so a firing, unacknowledged group is reminded daily.",
    )
    prompt: frozenset[PromptAction] = Field(
        default=frozenset(),
        description="Changes told at once, without waiting for the group interval "
        "(Alertmanager has none: every change waits). The service sends "
        "new alerts, escalations and people's actions promptly.",
    )

    @model_validator(mode="after")
    def _coherent(self) -> "NotificationPolicy":
        if "area" not in self.group_by:
            raise ValueError("group_by must include 'area' (alert state is kept per area)")
        if len(set(self.group_by)) != len(self.group_by):
            raise ValueError("group_by must not repeat a label")
        if self.group_wait < timedelta(0):
            raise ValueError("group_wait must not be negative")
        if self.group_interval <= timedelta(0):
            raise ValueError("group_interval must be positive")
        if self.repeat_interval < self.group_interval:
            raise ValueError(
                f"repeat_interval ({self.repeat_interval}) must be at least group_interval ({self.group_interval})"
            )
        return self


DEFAULT_POLICY = NotificationPolicy()


class Silence(_Frozen):
    """Mutes notifications of matching alerts between ``starts_at`` and ``ends_at``."""

    id: str = Field(min_length=1)
    created_by: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    area: str | None = None
    rule: AlertRule | None = None
    subject: str | None = None
    fingerprint: str | None = None

    @model_validator(mode="after")
    def _coherent(self) -> "Silence":
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if not any((self.area, self.rule, self.subject, self.fingerprint)):
            raise ValueError("a silence needs at least one matcher: area, rule, subject or fingerprint")
        return self

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, record: "AlertRecord") -> bool:
        return (
            (self.area is None or self.area == record.area)
            and (self.rule is None or self.rule is record.rule)
            and (self.subject is None or self.subject == record.subject)
            and (self.fingerprint is None or self.fingerprint == record.fingerprint)
        )


class AlertRecord(Alert):
    """An alert as the lifecycle keeps it: the contract's Alert plus its bookkeeping."""

    acknowledged_by: str | None = None
    acknowledged_at: AwareDatetime | None = None
    acknowledgement_note: str | None = None
    resolved_by: str | None = Field(None, description="None when resolved automatically.")
    resolution_note: str | None = None
    held_until_clear: bool = Field(
        False,
        description="Resolved by hand while the condition held: stays resolved until "
        "the condition clears (or grows worse).",
    )
    inhibited_by: str | None = None
    silenced_by: tuple[str, ...] = ()
    notified_status: AlertStatus | None = None
    notified_severity: AlertSeverity | None = None
    notified_at: AwareDatetime | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def muted(self) -> bool:
        return bool(self.silenced_by) or self.inhibited_by is not None

    def to_alert(self) -> Alert:
        """The contract's Alert alone, without the bookkeeping."""
        return Alert(**{name: getattr(self, name) for name in Alert.model_fields})


class GroupRecord(_Frozen):
    """Notification bookkeeping of one group of alerts."""

    key: str
    labels: dict[str, str]
    first_pending_at: AwareDatetime | None = None
    last_flush_at: AwareDatetime | None = None


class NotificationIntent(_Frozen):
    """One notification to deliver: a group's alerts, shaped for an Alertmanager-like payload."""

    group_key: str
    group_labels: dict[str, str]
    reason: NotifyReason
    status: Literal["firing", "resolved"]
    alerts: tuple[Alert, ...]
    at: AwareDatetime


class AuditEntry(_Frozen):
    """One change of an alert's state, for the audit trail."""

    fingerprint: str
    at: AwareDatetime
    action: AuditAction
    from_status: AlertStatus | None
    to_status: AlertStatus
    severity: AlertSeverity
    by: str | None = Field(None, description="Who did it; None for the platform itself.")
    note: str | None = None


class LifecycleResult(_Frozen):
    records: dict[str, AlertRecord]
    groups: dict[str, GroupRecord]
    notifications: tuple[NotificationIntent, ...]
    audit: tuple[AuditEntry, ...]
    next_wakeup: AwareDatetime | None = Field(
        None,
        description="When flush next has something to decide (group wait, interval or repeat); the worker's timer.",
    )


def _audit(
    record: AlertRecord,
    at: datetime,
    action: AuditAction,
    before: AlertStatus | None,
    by: str | None = None,
    note: str | None = None,
) -> AuditEntry:
    return AuditEntry(
        fingerprint=record.fingerprint,
        at=at,
        action=action,
        from_status=before,
        to_status=record.status,
        severity=record.severity,
        by=by,
        note=note,
    )


#: The facts that identify an alert; the others are its content, which a condition may change.
_IDENTITY = ("fingerprint", "rule", "area", "region", "subject")


def _content(condition: Condition) -> dict[str, Any]:
    return {name: getattr(condition, name) for name in AlertFacts.model_fields if name not in _IDENTITY}


def _open(condition: Condition, now: datetime, previous: AlertRecord | None) -> AlertRecord:
    """A new firing episode; what was last notified is carried over from an earlier one."""
    return AlertRecord(
        **{name: getattr(condition, name) for name in AlertFacts.model_fields},
        status=AlertStatus.FIRING,
        starts_at=now,
        updated_at=now,
        notified_status=previous.notified_status if previous else None,
        notified_severity=previous.notified_severity if previous else None,
        notified_at=previous.notified_at if previous else None,
    )


def _reopens(record: AlertRecord, condition: Condition) -> bool:
    if not record.held_until_clear:
        return True
    return SEVERITY_RANK[condition.severity] > SEVERITY_RANK[record.severity]


def _carry(record: AlertRecord, condition: Condition, now: datetime) -> AlertRecord:
    content = _content(condition)
    if all(getattr(record, k) == v for k, v in content.items()) and record.inhibited_by is None:
        return record
    return record.model_copy(update={**content, "updated_at": now, "inhibited_by": None})


def transition(
    previous: Mapping[str, AlertRecord], conditions: Sequence[Condition], *, area: str, now: datetime
) -> tuple[dict[str, AlertRecord], list[AuditEntry]]:
    """Alert states after one evaluation of ``area``; records of other areas pass untouched."""
    records, audit = dict(previous), []
    holding: set[str] = set()
    for c in conditions:
        if c.area != area:
            raise ValueError(f"condition {c.fingerprint} is for area '{c.area}', not '{area}'")
        if c.fingerprint in holding:
            raise ValueError(f"two conditions with fingerprint {c.fingerprint}")
        holding.add(c.fingerprint)
        r = records.get(c.fingerprint)
        if c.inhibited_by is not None:
            if r is not None and r.active and r.inhibited_by != c.inhibited_by:
                records[c.fingerprint] = r.model_copy(update={"inhibited_by": c.inhibited_by})
            continue
        if r is None or (not r.active and _reopens(r, c)):
            opened = _open(c, now, r)
            records[c.fingerprint] = opened
            audit.append(_audit(opened, now, "fired" if r is None else "reopened", None if r is None else r.status))
        elif r.active:
            updated = _carry(r, c, now)
            if updated.severity is not r.severity:
                worse = SEVERITY_RANK[updated.severity] > SEVERITY_RANK[r.severity]
                audit.append(_audit(updated, now, "escalated" if worse else "de-escalated", r.status))
            records[c.fingerprint] = updated
    for fp, r in previous.items():
        if r.area != area or fp in holding:
            continue
        if r.active:
            resolved = r.model_copy(
                update={
                    "status": AlertStatus.RESOLVED,
                    "ends_at": now,
                    "updated_at": now,
                    "resolved_by": None,
                    "held_until_clear": False,
                    "inhibited_by": None,
                }
            )
            records[fp] = resolved
            audit.append(_audit(resolved, now, "resolved", r.status))
        elif r.held_until_clear:
            records[fp] = r.model_copy(update={"held_until_clear": False})
    return records, audit


def acknowledge(record: AlertRecord, *, by: str, note: str | None, now: datetime) -> tuple[AlertRecord, AuditEntry]:
    """Firing -> acknowledged, by whom and with a note. It stays so until it resolves."""
    if not by:
        raise LifecycleError("an acknowledgement needs the name of who acknowledges")
    if record.status is AlertStatus.RESOLVED:
        raise LifecycleError(f"alert {record.fingerprint} is resolved; nothing to acknowledge")
    if record.status is AlertStatus.ACKNOWLEDGED:
        raise LifecycleError(
            f"alert {record.fingerprint} was already acknowledged by "
            f"{record.acknowledged_by} at {record.acknowledged_at}"
        )
    acked = record.model_copy(
        update={
            "status": AlertStatus.ACKNOWLEDGED,
            "acknowledged_by": by,
            "acknowledged_at": now,
            "acknowledgement_note": note,
            "updated_at": now,
        }
    )
    return acked, _audit(acked, now, "acknowledged", record.status, by, note)


def resolve_by_hand(record: AlertRecord, *, by: str, note: str | None, now: datetime) -> tuple[AlertRecord, AuditEntry]:
    """Firing or acknowledged -> resolved by a person; held until the condition clears."""
    if not by:
        raise LifecycleError("a resolution by hand needs the name of who resolves")
    if record.status is AlertStatus.RESOLVED:
        raise LifecycleError(f"alert {record.fingerprint} is already resolved")
    resolved = record.model_copy(
        update={
            "status": AlertStatus.RESOLVED,
            "ends_at": now,
            "updated_at": now,
            "resolved_by": by,
            "resolution_note": note,
            "held_until_clear": True,
        }
    )
    return resolved, _audit(resolved, now, "resolved", record.status, by, note)


def group_labels(record: AlertRecord, policy: NotificationPolicy) -> dict[str, str]:
    values = {"area": record.area, "rule": record.rule.value, "subject": record.subject}
    return {label: values[label] for label in policy.group_by}


def group_key(labels: Mapping[str, str]) -> str:
    return "|".join(f"{k}={v}" for k, v in labels.items())


def _desired(record: AlertRecord) -> tuple[AlertStatus, AlertSeverity] | None:
    """What subscribers should last have heard about the alert, if anything."""
    if record.active:
        return record.status, record.severity
    if record.notified_status in ACTIVE:
        return AlertStatus.RESOLVED, record.severity
    return None


def _pending(record: AlertRecord) -> bool:
    want = _desired(record)
    return want is not None and want != (record.notified_status, record.notified_severity)


def _mark_notified(record: AlertRecord, now: datetime) -> AlertRecord:
    status, severity = _desired(record) or (record.status, record.severity)
    return record.model_copy(update={"notified_status": status, "notified_severity": severity, "notified_at": now})


def _apply_silences(records: dict[str, AlertRecord], silences: Sequence[Silence], now: datetime) -> None:
    live = [s for s in silences if s.active(now)]
    for fp, r in records.items():
        by = tuple(sorted(s.id for s in live if s.matches(r)))
        if by != r.silenced_by:
            r = records[fp] = r.model_copy(update={"silenced_by": by})
        if r.muted and not r.active and r.notified_status in ACTIVE:
            # Resolved while muted: settled quietly, as Alertmanager drops muted resolutions.
            records[fp] = r.model_copy(
                update={"notified_status": AlertStatus.RESOLVED, "notified_severity": r.severity}
            )


def _flush_reason(
    pending: list[AlertRecord],
    active: list[AlertRecord],
    group: GroupRecord | None,
    now: datetime,
    policy: NotificationPolicy,
    urgent: bool = False,
) -> tuple[NotifyReason | None, datetime | None]:
    """Why the group is notified now (or None) and, if not now, when to look again."""
    if pending:
        if group is None or group.last_flush_at is None:
            first = group.first_pending_at if group and group.first_pending_at else now
            due = first + policy.group_wait
            return ("new", None) if now >= due else (None, due)
        due = group.last_flush_at + policy.group_interval
        if now < due and not urgent:
            return None, due
        return ("resolved" if all(not r.active for r in pending) else "update"), None
    if group and group.last_flush_at and any(r.status is AlertStatus.FIRING for r in active):
        due = group.last_flush_at + policy.repeat_interval
        return ("reminder", None) if now >= due else (None, due)
    return None, None


def flush(
    records: Mapping[str, AlertRecord],
    groups: Mapping[str, GroupRecord],
    *,
    now: datetime,
    silences: Sequence[Silence] = (),
    policy: NotificationPolicy = DEFAULT_POLICY,
    immediate: Collection[str] = (),
) -> tuple[dict[str, AlertRecord], dict[str, GroupRecord], list[NotificationIntent], datetime | None]:
    """Decide which groups to notify at ``now``; mark what was notified.

    A group holding a pending alert whose fingerprint is in ``immediate`` is told now, even
    inside its group interval (the group wait of a new group still applies)."""
    out, new_groups = dict(records), dict(groups)
    _apply_silences(out, silences, now)
    members: dict[str, list[AlertRecord]] = {}
    labels_of: dict[str, dict[str, str]] = {}
    for r in out.values():
        labels = group_labels(r, policy)
        key = group_key(labels)
        labels_of[key] = labels
        members.setdefault(key, []).append(r)
    intents, wakeups = [], []
    for key in sorted(members):
        everyone = sorted(members[key], key=lambda r: r.fingerprint)
        heard = [r for r in everyone if not r.muted]
        pending = [r for r in heard if _pending(r)]
        active = [r for r in heard if r.active]
        group = new_groups.get(key)
        urgent = any(r.fingerprint in immediate for r in pending)
        reason, wake = _flush_reason(pending, active, group, now, policy, urgent)
        if reason is not None:
            included = active + [r for r in pending if not r.active]
            for r in included:
                out[r.fingerprint] = _mark_notified(r, now)
            intents.append(
                NotificationIntent(
                    group_key=key,
                    group_labels=labels_of[key],
                    reason=reason,
                    status="firing" if active else "resolved",
                    alerts=tuple(out[r.fingerprint].to_alert() for r in included),
                    at=now,
                )
            )
            group = GroupRecord(key=key, labels=labels_of[key], last_flush_at=now)
            wake = now + policy.repeat_interval if any(r.status is AlertStatus.FIRING for r in active) else None
        elif group is None and pending:
            group = GroupRecord(key=key, labels=labels_of[key], first_pending_at=now)
        if any(r.active for r in everyone) or any(_pending(out[r.fingerprint]) for r in heard):
            if group is not None:
                new_groups[key] = group
        else:
            new_groups.pop(key, None)
        if wake is not None:
            wakeups.append(wake)
    return out, new_groups, intents, min(wakeups, default=None)


def prompt_action(entry: AuditEntry) -> PromptAction:
    """The audit action as :attr:`NotificationPolicy.prompt` names it."""
    if entry.action == "resolved" and entry.by is not None:
        return "resolved_by_hand"
    return entry.action


def prompt_fingerprints(audit: Iterable[AuditEntry], policy: NotificationPolicy) -> set[str]:
    """Alerts whose change the policy tells at once."""
    return {a.fingerprint for a in audit if prompt_action(a) in policy.prompt}


def step(
    previous: Mapping[str, AlertRecord],
    conditions: Sequence[Condition],
    *,
    area: str,
    now: datetime,
    groups: Mapping[str, GroupRecord] | None = None,
    silences: Sequence[Silence] = (),
    policy: NotificationPolicy = DEFAULT_POLICY,
) -> LifecycleResult:
    """One evaluation's worth of lifecycle: state transitions, then notification decisions."""
    records, audit = transition(previous, conditions, area=area, now=now)
    records, new_groups, intents, wake = flush(
        records, groups or {}, now=now, silences=silences, policy=policy, immediate=prompt_fingerprints(audit, policy)
    )
    return LifecycleResult(
        records=records, groups=new_groups, notifications=tuple(intents), audit=tuple(audit), next_wakeup=wake
    )
