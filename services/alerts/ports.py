"""The storage the alerts use cases (:class:`~.service.AlertsService`) call, as protocols.

The PostgreSQL adapters (modules of functions taking the caller's connection) are the
implementations; the unit tests pass in-memory ones (tests/unit/alerts/fakes.py), which a unit
test holds to the same names and signatures as the modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import asyncpg

from contracts.events import Alert, RecommendationResponse
from contracts.peer_review import MappedPeerReview

from .adapters.store import AreaInputs
from .domain.delivery import Subscription
from .domain.lifecycle import AlertRecord, AuditEntry, GroupRecord
from .domain.recommendations import Recommendation
from .domain.state import AreaState


class AlertStore(Protocol):
    """services/alerts/adapters/store.py, as far as the use cases call it."""

    async def lock_areas(self, conn: asyncpg.Connection, areas: Sequence[str]) -> dict[str, AreaState]: ...
    async def lock_area(self, conn: asyncpg.Connection, area: str) -> AreaState: ...
    async def first_sights(self, conn: asyncpg.Connection, events: Sequence[tuple[UUID, str]]) -> set[UUID]: ...
    async def inputs_of(
        self, conn: asyncpg.Connection, areas: Sequence[str], now: datetime
    ) -> dict[str, AreaInputs]: ...
    async def area_of(self, conn: asyncpg.Connection | asyncpg.Pool, fingerprint: str) -> str | None: ...
    async def save_area(
        self, conn: asyncpg.Connection, state: AreaState, changed: bool, next_check_at: datetime, now: datetime
    ) -> None: ...
    async def save_records(self, conn: asyncpg.Connection, records: Iterable[AlertRecord]) -> None: ...
    async def save_groups(self, conn: asyncpg.Connection, area: str, groups: dict[str, GroupRecord]) -> None: ...
    async def append_audit(
        self, conn: asyncpg.Connection, entries: Sequence[AuditEntry], key_id: str | None = None
    ) -> None: ...
    async def subscriptions_for(self, conn: asyncpg.Connection, area: str) -> list[Subscription]: ...
    async def enqueue_notifications(self, conn: asyncpg.Connection, rows: Sequence[tuple[Any, ...]]) -> None: ...
    async def enqueue_publications(self, conn: asyncpg.Connection, alerts: Sequence[Alert]) -> None: ...
    async def announce(self, conn: asyncpg.Connection, alerts: Sequence[Alert], notifications: int) -> None: ...


class RecommendationStore(Protocol):
    """services/alerts/adapters/recommendations.py, as far as the use cases call it."""

    async def open_new(self, conn: asyncpg.Connection, recs: Sequence[Recommendation], now: datetime) -> None: ...
    async def locked(self, conn: asyncpg.Connection, area: str, rec_id: UUID) -> Recommendation | None: ...
    async def answer_of(
        self, conn: asyncpg.Connection | asyncpg.Pool, response_id: UUID
    ) -> RecommendationResponse | None: ...
    async def save(self, conn: asyncpg.Connection, rec: Recommendation, now: datetime) -> None: ...
    async def append_answer(self, conn: asyncpg.Connection, response: RecommendationResponse, key_id: str) -> None: ...


class PeerReviewStore(Protocol):
    """services/alerts/adapters/peer_reviews.py, as far as the use cases call it."""

    async def record_new(
        self, conn: asyncpg.Connection, reviews: Sequence[MappedPeerReview], now: datetime
    ) -> set[UUID]: ...
