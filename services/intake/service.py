"""Intake's use case: admit a list of events and publish the admissible ones.

Order of checks for each event: storable values -> organisation -> clock -> privacy ->
idempotency -> publish. The checks that need no caller and no store run in domain.prepare, on the
loop, with no I/O.
A 2xx outcome is only ever produced after Kafka acknowledged the record.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
from prometheus_client import Counter

from contracts.events import FINDING_TYPE, PERFORMANCE_TYPE
from contracts.peer_review import PEER_REVIEW_TYPE
from contracts.funding import FUNDING_TYPE
from contracts.topics import INTAKE_TOPIC_FOR_TYPE, cloudevent_headers
from services.common.auth import Principal, Role
from services.common.organisations import Registration, Registry, may_report
from services.common.db import RETRYABLE
from services.common.metrics import inc_each

from .adapters.producer import BrokerUnavailable, Publisher
from .adapters.store import Ledger, LedgerRow
from services.common.admission.admission import Idempotency, idempotency
from services.common.admission.prepare import Event, Prepared, Refusal, prepare

log = logging.getLogger("intake")

EVENTS = Counter("csp_intake_events_total", "Events offered to intake, by outcome.", ["type", "outcome", "reason"])

#: How long a ledger update after an answer keeps trying while PostgreSQL is away.
MARK_PATIENCE_S = 60.0
#: A copy of an event being published meanwhile looks at the ledger again after this long,
#: doubling up to the second figure, until the first is published or has given up.
IN_FLIGHT_POLL_S = 0.005
IN_FLIGHT_POLL_MAX_S = 0.2


@dataclass
class Outcome:
    status: str  # accepted | duplicate | rejected | conflict | unavailable
    http_status: int
    event_id: str | None = None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    title: str | None = None
    detail: str | None = None
    errors: list[dict[str, str]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event_id": self.event_id, "status": self.status}
        if self.topic is not None:
            out.update(topic=self.topic, partition=self.partition, offset=self.offset)
        if self.title:
            out["title"] = self.title
        if self.detail:
            out["detail"] = self.detail
        if self.errors:
            out["errors"] = self.errors
        return out


#: The short name each event type is counted under.
SHORT_TYPE = {
    FINDING_TYPE: "finding",
    PERFORMANCE_TYPE: "performance",
    PEER_REVIEW_TYPE: "peer_review",
    FUNDING_TYPE: "funding",
}
# The series the alerts and dashboards read exist from the start at 0, so that rate() and
# increase() count the first event after a restart.
for short_type in SHORT_TYPE.values():
    EVENTS.labels(short_type, "accepted", "none")
    EVENTS.labels(short_type, "unavailable", "kafka")


def rejected(
    status: int,
    title: str,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    event_id: str | None = None,
    type_: str = "unknown",
    reason: str = "invalid",
) -> Outcome:
    EVENTS.labels(type_, "rejected", reason).inc()
    return Outcome("rejected", status, event_id, title=title, detail=detail, errors=errors or [])


@dataclass(frozen=True)
class Scope:
    """What a partner's organisation may report: its registration (None: it is not registered)."""

    registration: Registration | None


class IntakeService:
    def __init__(
        self, ledger: Ledger, publisher: Publisher, registry: Registry, clock_skew: timedelta, in_flight_s: float = 6.0
    ) -> None:
        """``in_flight_s``: how long after an event was reserved its publication may still be
        under way (the produce timeout and a margin); a copy arriving meanwhile waits for it.
        ``registry``: what each partner organisation may report (services.common.organisations)."""
        self.ledger = ledger
        self.registry = registry
        self.publisher = publisher
        publisher.on_late_ack = self._late_ack
        self.clock_skew = clock_skew
        self.in_flight_s = in_flight_s
        #: Ledger updates still running after the answer went out, and where Kafka put each of
        #: their events meanwhile (see :meth:`_mark_published`).
        self._marking: set[asyncio.Task] = set()
        self._unmarked: dict[str, tuple[str, int, int]] = {}

    def check(self, principal: Principal, event: Prepared, scope: Scope | None = None) -> Outcome | None:
        """The checks, in this order: storable values, organisation (the key's, then what the
        registry lets it report, looked up beforehand into ``scope``), clock, privacy (all but the
        organisation were run by domain.prepare). None when the event may go on."""
        if event.unstorable is not None:
            return self._refuse(event, event.unstorable)
        if not principal.may_post_as(event.source):
            return self._refuse(
                event,
                Refusal(
                    403,
                    "Forbidden",
                    f"this key may not post as organisation '{event.source}'",
                    [
                        {
                            "field": "source",
                            "pointer": "#/source",
                            "reason": "must be the organisation the API key belongs to",
                        }
                    ],
                    "organisation",
                ),
            )
        if scope is not None:
            refused = may_report(scope.registration, event.area, event.provider_id, event.parties)
            if refused is not None:
                return self._refuse(
                    event,
                    Refusal(
                        403,
                        "Forbidden",
                        "the organisation may not report this; see errors",
                        list(refused.errors),
                        "organisation",
                    ),
                )
        if event.refusal is not None:
            if event.refusal.reason == "privacy":
                # Field and kind only: the offending value is never echoed nor logged.
                log.info(
                    "privacy guard refused event",
                    extra={"event_id": event.event_id, "fields": ",".join(e["field"] for e in event.refusal.errors)},
                )
            return self._refuse(event, event.refusal)
        return None

    async def scope_of(self, principal: Principal) -> Scope | None:
        """What a partner's organisation may report (None: not restricted, an operator)."""
        if principal.role is not Role.PARTNER:
            return None
        return Scope(await self.registry.of(principal.organisation_id))

    @staticmethod
    def _refuse(event: Prepared, refusal: Refusal) -> Outcome:
        return rejected(
            refusal.status,
            refusal.title,
            refusal.detail,
            refusal.errors,
            event.event_id,
            SHORT_TYPE[event.type],
            refusal.reason,
        )

    async def admit(self, principal: Principal, events: list[Event | Prepared]) -> list[Outcome]:
        """Admit events, validated models or already prepared (domain.prepare), in order."""
        now = datetime.now(timezone.utc)
        prepared = [e if isinstance(e, Prepared) else prepare(e, now, self.clock_skew) for e in events]
        scope = await self.scope_of(principal)
        outcomes: list[Outcome | None] = [self.check(principal, e, scope) for e in prepared]
        todo = [(i, e) for i, e in enumerate(prepared) if outcomes[i] is None]
        if not todo:
            return outcomes  # type: ignore[return-value]
        # Within one batch, a repeated event_id counts once: later copies are duplicates/conflicts.
        first: dict[str, Prepared] = {}
        unique = []
        for i, e in todo:
            earlier = first.get(e.event_id)
            if earlier is None:
                first[e.event_id] = e
                unique.append((i, e))
            else:
                outcomes[i] = self._conflict(e) if earlier.digest != e.digest else Outcome("duplicate", 200, e.event_id)
        # Reserve first: in the common case (new events) that is the only ledger round trip before
        # the publish. Ids already in the ledger (inserted by an earlier request, or by a request
        # racing this one) are looked up and decided by their stored body and state.
        inserted = await self.ledger.reserve([(e.event_id, e.source, e.type, e.area, e.digest) for _, e in unique])
        seen_before = [(i, e) for i, e in unique if e.event_id not in inserted]
        to_publish = [(i, e) for i, e in unique if e.event_id in inserted]
        delay = IN_FLIGHT_POLL_S
        while seen_before:
            existing = await self.ledger.lookup([e.event_id for _, e in seen_before])
            waiting = []
            for i, e in seen_before:
                row = self._published_here(existing.get(e.event_id))
                decision = idempotency(
                    row.body_sha256 if row else None,
                    bool(row and row.published),
                    e.digest,
                    in_flight=row is not None and row.age_s < self.in_flight_s,
                )
                if decision is Idempotency.CONFLICT:
                    outcomes[i] = self._conflict(e)
                elif decision is Idempotency.DUPLICATE:
                    assert row is not None  # a duplicate needs a stored copy to match
                    EVENTS.labels(SHORT_TYPE[e.type], "duplicate", "none").inc()
                    outcomes[i] = Outcome("duplicate", 200, e.event_id, row.topic, row.partition, row.offset)
                elif decision is Idempotency.IN_FLIGHT:
                    waiting.append((i, e))
                else:  # RETRY (or NEW): stored, never acknowledged by Kafka; publish again, same id
                    to_publish.append((i, e))
            if waiting:
                # A copy sent at the same time, to this worker or another: its outcome answers
                # this one (look again until it is published, or old enough to have given up).
                await asyncio.sleep(delay)
                delay = min(IN_FLIGHT_POLL_MAX_S, delay * 2)
            seen_before = waiting
        to_publish.sort(key=lambda item: item[0])  # the batch's order, per area, onto the log
        await self._publish(to_publish, outcomes)
        return outcomes  # type: ignore[return-value]

    def _published_here(self, row: LedgerRow | None) -> LedgerRow | None:
        """``row`` as this process knows it: published, if this process published it and the
        ledger update is still on its way (:meth:`_mark_published`)."""
        if row is None or row.published:
            return row
        where = self._unmarked.get(row.event_id)
        if where is None:
            return row
        return replace(row, published=True, topic=where[0], partition=where[1], offset=where[2])

    def _late_ack(self, topic: str, headers: list[tuple[str, bytes]], partition: int, offset: int) -> None:
        """A record we answered 503 for reached the broker after all: mark it published."""
        event_id = next((v.decode() for k, v in headers if k == "ce_id"), None)
        if event_id is None:
            return
        self._mark_published([(event_id, topic, partition, offset)])

    def _mark_published(self, rows: list[tuple[str, str, int, int]]) -> None:
        """Tell the ledger where Kafka put each event, without holding the answer for it: the 2xx
        rests on Kafka's acknowledgement, not on this update. Until the ledger has it, this process
        remembers, so a replay arriving here meanwhile is a duplicate at once. Should the update
        never land (PostgreSQL away for longer than MARK_PATIENCE_S), the rows stay 'pending' and a
        replay publishes the event again under the same id, which every consumer deduplicates."""
        if not rows:
            return
        for event_id, topic, partition, offset in rows:
            self._unmarked[event_id] = (topic, partition, offset)
        task = asyncio.get_running_loop().create_task(self._mark(rows))
        self._marking.add(task)
        task.add_done_callback(self._marking.discard)

    async def _mark(self, rows: list[tuple[str, str, int, int]]) -> None:
        delay, waited = 0.2, 0.0
        try:
            while True:
                try:
                    await self.ledger.mark_published(rows)
                    return
                except (*RETRYABLE, asyncpg.PostgresError) as exc:
                    if waited >= MARK_PATIENCE_S:
                        log.warning(
                            "ledger not told where events were published; a replay publishes "
                            "them again (consumers deduplicate)",
                            extra={"events": len(rows), "error": repr(exc)},
                        )
                        return
                    await asyncio.sleep(delay)
                    waited += delay
                    delay = min(5.0, delay * 2)
        finally:
            for event_id, *_ in rows:
                self._unmarked.pop(event_id, None)

    async def close(self, timeout_s: float = 10.0) -> None:
        """Graceful shutdown: let the ledger updates still running finish (at most ``timeout_s``)."""
        if self._marking:
            await asyncio.wait(set(self._marking), timeout=timeout_s)

    def _conflict(self, e: Prepared) -> Outcome:
        EVENTS.labels(SHORT_TYPE[e.type], "rejected", "conflict").inc()
        return Outcome(
            "conflict",
            409,
            e.event_id,
            title="Conflict",
            detail="this event_id was already used with a different body",
            errors=[{"field": "event_id", "pointer": "#/event_id", "reason": "already used with a different body"}],
        )

    async def _publish(self, items: list[tuple[int, Prepared]], outcomes: list[Outcome | None]) -> None:
        if not items:
            return
        records = [
            (
                INTAKE_TOPIC_FOR_TYPE[e.type].name,
                e.key,
                e.value,
                cloudevent_headers(e.event_id, e.source, e.type, e.time),
            )
            for _, e in items
        ]
        try:
            results = await self.publisher.publish_many(records)
        except BrokerUnavailable as exc:
            results = [exc] * len(items)
        published, counted = [], []
        detailed = log.isEnabledFor(logging.INFO)
        for (i, e), (topic, *_), res in zip(items, records, results):
            eid = e.event_id
            if isinstance(res, Exception):
                counted.append((SHORT_TYPE[e.type], "unavailable", "kafka"))
                log.warning("kafka did not acknowledge", extra={"event_id": eid, "error": repr(res)})
                outcomes[i] = Outcome(
                    "unavailable",
                    503,
                    eid,
                    title="Service unavailable",
                    detail="the event store did not acknowledge; retry with the same event_id",
                )
            else:
                partition, offset = res
                published.append((eid, topic, partition, offset))
                counted.append((SHORT_TYPE[e.type], "accepted", "none"))
                if detailed:
                    log.info(
                        "event accepted",
                        extra={
                            "event_id": eid,
                            "area": e.area,
                            "topic": topic,
                            "partition": partition,
                            "offset": offset,
                        },
                    )
                outcomes[i] = Outcome("accepted", 202, eid, topic, partition, offset)
        inc_each(EVENTS.labels, counted)
        self._mark_published(published)
