"""The alerts service's use cases, each one PostgreSQL transaction around one pure turn.

* :meth:`AlertsService.ingest` - a batch of mapped events: lock their areas, skip replayed
  event ids, fold each area's events in, evaluate, run the lifecycle, write alerts, groups,
  audit, the notification outbox and the alerts.v1 outbox. State and outboxes commit together,
  so a worker killed at any point re-applies the batch idempotently and neither loses nor
  repeats an alert or a notification.
* :meth:`AlertsService.tick` - the same without an event (windows slide, groups come due).
* :meth:`AlertsService.act` - a person acknowledges or resolves an alert.
* :meth:`AlertsService.answer` - a commissioner answers a community recommendation: the answer,
  its audit row, its outbox row for recommendations.responses.v1 and the area's turn (which
  resolves the follow-up alert the answer ends) commit together.

A finding that carries a recommendation opens a recommendation record inside :meth:`ingest`,
keyed by the finding's event id, so a replayed finding opens nothing.
:meth:`AlertsService.ingest_peer_reviews` stores peer review returns and opens their
recommendations (ids derived from the return's), in one transaction, so a replay opens nothing.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID, uuid4

import asyncpg

from contracts.events import MappedEvent, RecommendationResponse
from contracts.peer_review import MappedPeerReview

from .adapters import peer_reviews, recommendations, store
from .domain import engine
from .domain.delivery import alertmanager_payload, route
from .domain.engine import Turn
from .domain.lifecycle import AlertRecord, NotificationPolicy
from .domain.peer_reviews import recommendations_of
from .domain.recommendations import Recommendation, answer
from .domain.state import AreaState
from .ports import AlertStore, PeerReviewStore, RecommendationStore

log = logging.getLogger("alerts")


class UnknownAlert(LookupError):
    pass


class UnknownRecommendation(LookupError):
    pass


class ResponseIdTaken(ValueError):
    """A response id already recorded with a different answer."""


@dataclass(frozen=True)
class Ingested:
    """What a batch did: the event ids applied for the first time, and each area's turn."""

    fresh: set[UUID]
    turns: tuple[Turn, ...]

    @property
    def published(self) -> int:
        return sum(len(t.published) for t in self.turns)


class AlertsService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        policy: NotificationPolicy,
        external_url: str,
        reevaluate: timedelta,
        *,
        alert_store: AlertStore = store,
        recommendation_store: RecommendationStore = recommendations,
        peer_review_store: PeerReviewStore = peer_reviews,
    ) -> None:
        """The stores default to the PostgreSQL adapters; the unit tests pass in-memory ones."""
        self.pool, self.policy = pool, policy
        self.external_url, self.reevaluate = external_url, reevaluate
        self.store, self.recommendations = alert_store, recommendation_store
        self.peer_reviews = peer_review_store

    async def ingest(self, batch: Sequence[MappedEvent], now: datetime) -> Ingested:
        """Apply a batch of events in one transaction: each area's events in one turn.

        Areas are locked in name order, so two workers sharing areas for a moment (a
        rebalance) wait for each other instead of deadlocking. An event id applied before, or
        a second copy inside the batch, is a duplicate and changes nothing."""
        by_area: dict[str, list[MappedEvent]] = defaultdict(list)
        for mapped in batch:
            by_area[mapped.event.area].append(mapped)
        async with self.pool.acquire() as conn, conn.transaction():
            states = await self.store.lock_areas(conn, list(by_area))
            fresh = await self.store.first_sights(conn, [(m.event_id, m.event.area) for m in batch])
            todo = {area: events for area in states if (events := [m for m in by_area[area] if m.event_id in fresh])}
            await self.recommendations.open_new(
                conn,
                [r for events in todo.values() for m in events if (r := Recommendation.of(m, now)) is not None],
                now,
            )
            inputs = await self.store.inputs_of(conn, list(todo), now) if todo else {}
            turns = [await self._turn(conn, states[area], now, events, inputs[area]) for area, events in todo.items()]
        return Ingested(fresh, tuple(turns))

    async def ingest_peer_reviews(self, batch: Sequence[MappedPeerReview], now: datetime) -> set[UUID]:
        """Store the returns not seen before and open their recommendations; the new ids. The
        follow-up rules see the recommendations at the area's next turn."""
        async with self.pool.acquire() as conn, conn.transaction():
            fresh = await self.peer_reviews.record_new(conn, batch, now)
            await self.recommendations.open_new(
                conn, [r for m in batch if m.event_id in fresh for r in recommendations_of(m, now)], now
            )
        return fresh

    async def tick(self, area: str, now: datetime) -> Turn:
        async with self.pool.acquire() as conn, conn.transaction():
            state = await self.store.lock_area(conn, area)
            return await self._turn(conn, state, now, (), (await self.store.inputs_of(conn, [area], now))[area])

    async def act(
        self,
        fingerprint: str,
        action: Literal["acknowledge", "resolve"],
        *,
        by: str,
        key_id: str,
        note: str | None,
        now: datetime,
    ) -> AlertRecord:
        """Raises UnknownAlert, or lifecycle.LifecycleError when the state does not allow it."""
        area = await self.store.area_of(self.pool, fingerprint)
        if area is None:
            raise UnknownAlert(fingerprint)
        async with self.pool.acquire() as conn, conn.transaction():
            state = await self.store.lock_area(conn, area)
            inputs = (await self.store.inputs_of(conn, [area], now))[area]
            turn = engine.act(
                state,
                inputs.records,
                inputs.groups,
                fingerprint=fingerprint,
                action=action,
                by=by,
                note=note,
                now=now,
                silences=inputs.silences,
                policy=self.policy,
            )
            await self._persist(conn, state, inputs, turn, now, key_id)
        log.info("alert %s", action + "d", extra={"fingerprint": fingerprint, "area": area, "by": by})
        return turn.records[fingerprint]

    async def answer(
        self, response: RecommendationResponse, *, key_id: str, now: datetime
    ) -> tuple[Recommendation, bool]:
        """Record one answer; returns the recommendation and whether the answer was new.

        The same response id again changes nothing (the recommendation as it stands comes
        back); raises UnknownRecommendation, ResponseIdTaken (that id carried another answer)
        or RecommendationError (the answer does not fit the recommendation's state)."""
        area, rec_id = response.area, response.data.recommendation_id
        async with self.pool.acquire() as conn, conn.transaction():
            state = await self.store.lock_area(conn, area)
            rec = await self.recommendations.locked(conn, area, rec_id)
            if rec is None:
                raise UnknownRecommendation(rec_id)
            earlier = await self.recommendations.answer_of(conn, response.event_id)
            if earlier is not None:
                if earlier.data != response.data or earlier.area != area:
                    raise ResponseIdTaken(response.event_id)
                return rec, False
            updated = answer(rec, response)
            await self.recommendations.save(conn, updated, now)
            await self.recommendations.append_answer(conn, response, key_id)
            await self._turn(conn, state, now, (), (await self.store.inputs_of(conn, [area], now))[area])
        log.info(
            "recommendation answered",
            extra={
                "recommendation_id": str(rec_id),
                "area": area,
                "by": response.source,
                "status": updated.status,
                "event_id": str(response.event_id),
            },
        )
        return updated, True

    async def _turn(
        self,
        conn: asyncpg.Connection,
        state: AreaState,
        now: datetime,
        events: Sequence[MappedEvent],
        inputs: store.AreaInputs,
    ) -> Turn:
        turn = engine.advance(
            state,
            inputs.records,
            inputs.groups,
            now=now,
            events=events,
            thresholds=inputs.thresholds,
            silences=inputs.silences,
            policy=self.policy,
            recommendations=inputs.recommendations,
            alliances=inputs.alliances,
        )
        await self._persist(conn, state, inputs, turn, now, None)
        return turn

    async def _persist(
        self,
        conn: asyncpg.Connection,
        before: AreaState,
        inputs: store.AreaInputs,
        turn: Turn,
        now: datetime,
        key_id: str | None,
    ) -> None:
        area = turn.state.area
        next_check = now + self.reevaluate
        if turn.next_wakeup is not None:
            next_check = min(next_check, turn.next_wakeup)
        await self.store.save_area(conn, turn.state, turn.state is not before, next_check, now)
        await self.store.save_records(conn, [turn.records[fp] for fp in turn.changed])
        if turn.groups != inputs.groups:
            await self.store.save_groups(conn, area, turn.groups)
        await self.store.append_audit(conn, turn.audit, key_id)
        rows = self._notifications(turn, await self.store.subscriptions_for(conn, area)) if turn.notifications else []
        await self.store.enqueue_notifications(conn, rows)
        alerts = turn.alerts()
        await self.store.enqueue_publications(conn, alerts)
        await self.store.announce(conn, alerts, len(rows))
        for entry in turn.audit:
            log.info(
                "alert %s",
                entry.action,
                extra={
                    "fingerprint": entry.fingerprint,
                    "area": area,
                    "status": entry.to_status.value,
                    "severity": entry.severity.value,
                },
            )

    def _notifications(self, turn: Turn, subscriptions) -> list[tuple[Any, ...]]:
        rows = []
        for intent in turn.notifications:
            for sub, alerts in route(intent, subscriptions):
                nid = uuid4()
                payload = alertmanager_payload(
                    intent,
                    alerts,
                    receiver=str(sub.id),
                    notification_id=str(nid),
                    external_url=self.external_url,
                    records=turn.records,
                )
                rows.append(
                    (
                        nid,
                        sub.id,
                        sub.channel,
                        turn.state.area,
                        intent.group_key,
                        intent.reason,
                        payload["status"],
                        [a.fingerprint for a in alerts],
                        json.dumps(payload, separators=(",", ":")),
                    )
                )
        return rows
