"""One area's turn: fold an event in, evaluate, run the lifecycle. Pure, for the worker and API.

The adapters load an area's state, alerts, groups, thresholds and silences under a row lock,
call :func:`advance` (for the area's events of a batch, or a timer tick) or :func:`act` (a person acknowledges or
resolves), and write back what comes out, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from contracts.events import Alert

from .lifecycle import (
    DEFAULT_POLICY,
    AlertRecord,
    AuditEntry,
    GroupRecord,
    NotificationIntent,
    NotificationPolicy,
    Silence,
    acknowledge,
    flush,
    prompt_fingerprints,
    resolve_by_hand,
    step,
)
from .funding_flows import AllianceShares
from .recommendations import Recommendation, follow_up_conditions
from .state import AreaState, Event, apply_all, evaluate, prune
from .thresholds import DEFAULT_THRESHOLDS, AreaThresholds


class Turn(BaseModel):
    """What one turn changed; the adapters persist exactly this."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    state: AreaState
    records: dict[str, AlertRecord]
    groups: dict[str, GroupRecord]
    notifications: tuple[NotificationIntent, ...]
    audit: tuple[AuditEntry, ...]
    #: Records to write back (anything differs, bookkeeping included).
    changed: tuple[str, ...]
    #: Records whose contract view (``Alert``) differs: published to alerts.v1.
    published: tuple[str, ...]
    next_wakeup: datetime | None = None

    def alerts(self) -> list[Alert]:
        return [self.records[fp].to_alert() for fp in self.published]


def _diff(
    before: Mapping[str, AlertRecord], after: Mapping[str, AlertRecord]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    changed, published = [], []
    for fp in sorted(after):
        old, new = before.get(fp), after[fp]
        if old == new:
            continue
        changed.append(fp)
        if old is None or old.to_alert() != new.to_alert():
            published.append(fp)
    return tuple(changed), tuple(published)


def advance(
    state: AreaState,
    records: Mapping[str, AlertRecord],
    groups: Mapping[str, GroupRecord],
    *,
    now: datetime,
    events: Sequence[Event] = (),
    thresholds: AreaThresholds = DEFAULT_THRESHOLDS,
    silences: Sequence[Silence] = (),
    policy: NotificationPolicy = DEFAULT_POLICY,
    recommendations: Sequence[Recommendation] = (),
    alliances: AllianceShares | None = None,
) -> Turn:
    """Fold ``events`` in (none for a timer tick), forget what fell out of the windows,
    evaluate once (the area's open ``recommendations`` and its ``alliances``' shares with the
    rest), step.

    The rules read the state, not the order the events came in (folding is order-free), so a
    batch of an area's events gives the conditions that hold after all of them, as a rule
    evaluation interval does in Prometheus: a condition that both starts and clears inside one
    batch never fires, and one that holds at the end fires once."""
    state = apply_all(state, events)
    state = prune(state, now, thresholds)
    conditions = sorted(
        [
            *evaluate(state, now, thresholds, alliances),
            *follow_up_conditions(recommendations, now, thresholds.recommendations),
        ],
        key=lambda c: c.fingerprint,
    )
    result = step(records, conditions, area=state.area, now=now, groups=groups, silences=silences, policy=policy)
    changed, published = _diff(records, result.records)
    return Turn(
        state=state,
        records=result.records,
        groups=result.groups,
        notifications=result.notifications,
        audit=result.audit,
        changed=changed,
        published=published,
        next_wakeup=result.next_wakeup,
    )


def act(
    state: AreaState,
    records: Mapping[str, AlertRecord],
    groups: Mapping[str, GroupRecord],
    *,
    fingerprint: str,
    action: Literal["acknowledge", "resolve"],
    by: str,
    note: str | None,
    now: datetime,
    silences: Sequence[Silence] = (),
    policy: NotificationPolicy = DEFAULT_POLICY,
) -> Turn:
    """A person acknowledges or resolves one alert; the change is told as the policy says.

    Raises :class:`~.lifecycle.LifecycleError` when the alert's state does not allow it and
    ``KeyError`` when there is no such alert in the area."""
    record = records[fingerprint]
    do = acknowledge if action == "acknowledge" else resolve_by_hand
    updated, entry = do(record, by=by, note=note, now=now)
    after = {**records, fingerprint: updated}
    after, new_groups, intents, wake = flush(
        after, groups, now=now, silences=silences, policy=policy, immediate=prompt_fingerprints([entry], policy)
    )
    changed, published = _diff(records, after)
    return Turn(
        state=state,
        records=after,
        groups=new_groups,
        notifications=tuple(intents),
        audit=(entry,),
        changed=changed,
        published=published,
        next_wakeup=wake,
    )
