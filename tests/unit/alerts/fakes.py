"""In-memory stand-ins for the alerts service's PostgreSQL adapters, for fast tests of the use
cases (services/alerts/service.py).

They keep the adapters' contracts (services/alerts/adapters/store.py, recommendations.py and
peer_reviews.py, as services/alerts/ports.py names them), not their SQL: the integration tests
cover the SQL against the real PostgreSQL. What the tables' keys and checks guarantee is kept:
an event id is applied once (``alert_events_seen``), an alert or group is one row per key
(upserts), a notification names a subscription that exists, a response id is recorded once.
What a transaction guarantees is kept too: writes made inside ``conn.transaction()`` land on a
working copy of the tables that replaces them only when the block ends without an exception, and
``pg_notify`` is delivered only on commit; a write outside a transaction lands at once, as
asyncpg's autocommit does. Row locks are not modelled (the tests run one use case at a time).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from contracts.events import Alert, RecommendationResponse
from contracts.peer_review import MappedPeerReview
from services.alerts.adapters.store import AreaInputs, stored_thresholds
from services.alerts.domain.delivery import Subscription
from services.alerts.domain.lifecycle import AlertRecord, AuditEntry, GroupRecord, Silence
from services.alerts.domain.recommendations import Recommendation
from services.alerts.domain.state import AreaState, new_state
from services.alerts.domain.thresholds import DEFAULT_THRESHOLDS

#: The alerts table's check on a fingerprint (services/alerts/migrations/003_alerts.sql).
FINGERPRINT = re.compile(r"^[0-9a-f]{16,64}$")


class StoreFailure(asyncpg.PostgresConnectionError):
    """What a fake raises where a test asks it to fail: the connection lost mid-transaction."""


@dataclass
class Tables:
    """The rows the adapters read and write, table by table."""

    #: alert_area_state: area -> state as JSON, version, next_check_at, updated_at.
    areas: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: alert_events_seen: event id -> area.
    seen: dict[UUID, str] = field(default_factory=dict)
    #: alerts: fingerprint -> (area, record as JSON).
    alerts: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: alert_groups: group key -> (area, record as JSON).
    groups: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: alert_thresholds: area -> overrides as JSON.
    thresholds: dict[str, str] = field(default_factory=dict)
    silences: list[Silence] = field(default_factory=list)
    #: alert_subscriptions: the active ones.
    subscriptions: list[Subscription] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    #: alert_notifications, the delivery outbox.
    notifications: list[dict[str, Any]] = field(default_factory=list)
    #: alert_publications, the alerts.v1 outbox.
    publications: list[dict[str, Any]] = field(default_factory=list)
    #: recommendations: id -> (area, record as JSON).
    recommendations: dict[UUID, tuple[str, str]] = field(default_factory=dict)
    #: recommendation_responses: id -> (event as JSON, key id).
    responses: dict[UUID, tuple[str, str]] = field(default_factory=dict)
    #: recommendation_publications, the recommendations.responses.v1 outbox.
    response_publications: list[dict[str, Any]] = field(default_factory=list)
    #: peer_reviews: id -> mapped return as JSON.
    peer_reviews: dict[UUID, str] = field(default_factory=dict)
    #: The organisation registry's alliance shares (services.common.organisations.alliance_shares).
    alliances: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class FakeDatabase:
    """The committed tables, what ``pg_notify`` delivered, and where a test wants a failure."""

    tables: Tables = field(default_factory=Tables)
    notified: list[tuple[str, str]] = field(default_factory=list)
    #: Name of an adapter function that raises :class:`StoreFailure` when called.
    fail_at: str | None = None
    transactions: int = 0


class FakeConnection:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self._working: Tables | None = None
        self._pending_notifies: list[tuple[str, str]] = []

    @property
    def tables(self) -> Tables:
        """The transaction's working copy inside ``transaction()``, else the committed tables."""
        return self._working if self._working is not None else self.db.tables

    def notify(self, channel: str, payload: str) -> None:
        if self._working is None:
            self.db.notified.append((channel, payload))
        else:
            self._pending_notifies.append((channel, payload))

    def step(self, name: str) -> Tables:
        """Called first by every fake adapter function: fails where the test asked."""
        if self.db.fail_at == name:
            raise StoreFailure(f"connection lost in {name}")
        return self.tables

    @asynccontextmanager
    async def transaction(self):
        assert self._working is None, "the use cases do not nest transactions"
        self._working, self._pending_notifies = copy.deepcopy(self.db.tables), []
        try:
            yield self
        except BaseException:
            self._working, self._pending_notifies = None, []
            raise
        self.db.tables, self._working = self._working, None
        self.db.notified.extend(self._pending_notifies)
        self.db.transactions += 1


class FakePool:
    """What the service takes as its pool: connections onto one :class:`FakeDatabase`."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    @asynccontextmanager
    async def acquire(self):
        yield FakeConnection(self.db)

    def step(self, name: str) -> Tables:
        return FakeConnection(self.db).step(name)


Conn = FakeConnection | FakePool


class FakeAlertStore:
    """services/alerts/adapters/store.py over :class:`Tables`."""

    async def lock_areas(self, conn: Conn, areas: Sequence[str]) -> dict[str, AreaState]:
        t = conn.step("lock_areas")
        names = sorted(set(areas))
        for a in names:
            t.areas.setdefault(
                a, {"state": new_state(a).to_json(), "version": 0, "next_check_at": None, "updated_at": None}
            )
        return {a: AreaState.from_json(t.areas[a]["state"]) for a in names}

    async def lock_area(self, conn: Conn, area: str) -> AreaState:
        return (await self.lock_areas(conn, [area]))[area]

    async def save_area(
        self, conn: Conn, state: AreaState, changed: bool, next_check_at: datetime, now: datetime
    ) -> None:
        t = conn.step("save_area")
        row = t.areas.get(state.area)
        if row is None:
            return  # UPDATE of no row
        if changed:
            row.update(state=state.to_json(), version=row["version"] + 1, updated_at=now)
        row["next_check_at"] = next_check_at

    async def first_sights(self, conn: Conn, events: Sequence[tuple[UUID, str]]) -> set[UUID]:
        t = conn.step("first_sights")
        unique = dict(events)
        fresh = {i for i in unique if i not in t.seen}
        t.seen.update({i: unique[i] for i in fresh})
        return fresh

    async def inputs_of(self, conn: Conn, areas: Sequence[str], now: datetime) -> dict[str, AreaInputs]:
        t = conn.step("inputs_of")
        names = sorted(set(areas))
        records: dict[str, dict[str, AlertRecord]] = {a: {} for a in names}
        for area, text in t.alerts.values():
            if area in records:
                rec = AlertRecord.model_validate_json(text)
                records[area][rec.fingerprint] = rec
        groups: dict[str, dict[str, GroupRecord]] = {a: {} for a in names}
        for area, text in t.groups.values():
            if area in groups:
                g = GroupRecord.model_validate_json(text)
                groups[area][g.key] = g
        silences = {a: [s for s in t.silences if s.area in (None, a) and s.starts_at <= now < s.ends_at] for a in names}
        open_recs: dict[str, list[Recommendation]] = {a: [] for a in names}
        for area, text in t.recommendations.values():
            rec_ = Recommendation.model_validate_json(text)
            if area in open_recs and rec_.open:
                open_recs[area].append(rec_)
        return {
            a: AreaInputs(
                records[a],
                groups[a],
                stored_thresholds(a, t.thresholds[a])[0] if a in t.thresholds else DEFAULT_THRESHOLDS,
                silences[a],
                sorted(open_recs[a], key=lambda r: (r.made_at, str(r.id))),
                copy.deepcopy(t.alliances),
            )
            for a in names
        }

    async def area_of(self, conn: Conn, fingerprint: str) -> str | None:
        row = conn.step("area_of").alerts.get(fingerprint)
        return row[0] if row else None

    async def save_records(self, conn: Conn, records: Iterable[AlertRecord]) -> None:
        t = conn.step("save_records")
        for r in records:
            assert FINGERPRINT.match(r.fingerprint), r.fingerprint
            t.alerts[r.fingerprint] = (r.area, r.model_dump_json())

    async def save_groups(self, conn: Conn, area: str, groups: dict[str, GroupRecord]) -> None:
        t = conn.step("save_groups")
        for key in [k for k, (a, _) in t.groups.items() if a == area and k not in groups]:
            del t.groups[key]
        for g in groups.values():
            t.groups[g.key] = (t.groups[g.key][0] if g.key in t.groups else area, g.model_dump_json())

    async def append_audit(self, conn: Conn, entries: Sequence[AuditEntry], key_id: str | None = None) -> None:
        t = conn.step("append_audit")
        t.audit.extend(
            {
                "fingerprint": a.fingerprint,
                "at": a.at,
                "action": a.action,
                "from_status": a.from_status.value if a.from_status else None,
                "to_status": a.to_status.value,
                "severity": a.severity.value,
                "actor": a.by,
                "key_id": key_id if a.by else None,
                "note": a.note,
            }
            for a in entries
        )

    async def enqueue_publications(self, conn: Conn, alerts: Sequence[Alert]) -> None:
        t = conn.step("enqueue_publications")
        for a in alerts:
            t.publications.append(
                {
                    "id": len(t.publications) + 1,
                    "area": a.area,
                    "fingerprint": a.fingerprint,
                    "payload": json.loads(a.model_dump_json()),
                    "published_at": None,
                }
            )

    async def announce(self, conn: Conn, alerts: Sequence[Alert], notifications: int) -> None:
        conn.step("announce")
        assert isinstance(conn, FakeConnection)
        for a in alerts:
            conn.notify("csp_alert_changes", json.dumps({"fingerprint": a.fingerprint, "status": a.status.value}))
        if notifications:
            conn.notify("csp_alert_outbox", "")

    async def subscriptions_for(self, conn: Conn, area: str) -> list[Subscription]:
        return [s for s in conn.step("subscriptions_for").subscriptions if area in s.areas]

    async def enqueue_notifications(self, conn: Conn, rows: Sequence[tuple[Any, ...]]) -> None:
        t = conn.step("enqueue_notifications")
        subscriptions = {s.id for s in t.subscriptions}
        taken = {n["id"] for n in t.notifications}
        for nid, sub_id, channel, area, group_key, reason, status, fingerprints, payload in rows:
            assert sub_id in subscriptions, "alert_notifications.subscription_id REFERENCES alert_subscriptions"
            assert status in ("firing", "resolved") and nid not in taken
            taken.add(nid)
            t.notifications.append(
                {
                    "id": nid,
                    "subscription_id": sub_id,
                    "channel": channel,
                    "area": area,
                    "group_key": group_key,
                    "reason": reason,
                    "status": status,
                    "fingerprints": list(fingerprints),
                    "payload": json.loads(payload),
                    "state": "pending",
                    "attempts": 0,
                }
            )


class FakeRecommendationStore:
    """services/alerts/adapters/recommendations.py over :class:`Tables`."""

    async def open_new(self, conn: Conn, recs: Sequence[Recommendation], now: datetime) -> None:
        t = conn.step("open_new")
        for r in recs:
            t.recommendations.setdefault(r.id, (r.area, r.model_dump_json()))

    async def save(self, conn: Conn, rec: Recommendation, now: datetime) -> None:
        t = conn.step("save")
        if rec.id in t.recommendations:
            t.recommendations[rec.id] = (t.recommendations[rec.id][0], rec.model_dump_json())

    async def locked(self, conn: Conn, area: str, rec_id: UUID) -> Recommendation | None:
        row = conn.step("locked").recommendations.get(rec_id)
        return Recommendation.model_validate_json(row[1]) if row and row[0] == area else None

    async def answer_of(self, conn: Conn, response_id: UUID) -> RecommendationResponse | None:
        row = conn.step("answer_of").responses.get(response_id)
        return RecommendationResponse.model_validate_json(row[0]) if row else None

    async def append_answer(self, conn: Conn, response: RecommendationResponse, key_id: str) -> None:
        t = conn.step("append_answer")
        assert response.event_id not in t.responses, "recommendation_responses.id is the primary key"
        payload = response.model_dump_json()
        t.responses[response.event_id] = (payload, key_id)
        t.response_publications.append(
            {
                "area": response.area,
                "response_id": response.event_id,
                "payload": json.loads(payload),
                "published_at": None,
            }
        )


class FakePeerReviewStore:
    """services/alerts/adapters/peer_reviews.py over :class:`Tables`."""

    async def record_new(self, conn: Conn, reviews: Sequence[MappedPeerReview], now: datetime) -> set[UUID]:
        t = conn.step("record_new")
        fresh: set[UUID] = set()
        for m in reviews:
            if m.event_id not in t.peer_reviews:
                t.peer_reviews[m.event_id] = m.model_dump_json()
                fresh.add(m.event_id)
        return fresh


def stores() -> dict[str, Any]:
    """The keyword arguments that give AlertsService the in-memory stores."""
    return {
        "alert_store": FakeAlertStore(),
        "recommendation_store": FakeRecommendationStore(),
        "peer_review_store": FakePeerReviewStore(),
    }
