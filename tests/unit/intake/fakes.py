"""In-memory stand-ins for intake's adapters, for fast tests of the use case (IntakeService).

They keep the adapters' contracts (services/intake/adapters/store.py, producer.py and
services/common/organisations.py), not their SQL or Kafka: the integration tests cover those
against the real PostgreSQL and broker."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from services.common.organisations import Registration
from services.intake.adapters.producer import BrokerUnavailable
from services.intake.adapters.store import LedgerRow


@dataclass
class FakeLedger:
    """The idempotency ledger: one row per event id, pending until marked published."""

    rows: dict[str, LedgerRow] = field(default_factory=dict)

    async def reserve(self, rows: list[tuple[str, str, str, str, bytes]]) -> set[str]:
        inserted = set()
        for event_id, org, _type, _area, digest in rows:
            if event_id not in self.rows:
                self.rows[event_id] = LedgerRow(event_id, org, digest, False, None, None, None, 0.0)
                inserted.add(event_id)
        return inserted

    async def lookup(self, event_ids: list[str]) -> dict[str, LedgerRow]:
        return {i: self.rows[i] for i in event_ids if i in self.rows}

    async def mark_published(self, rows: list[tuple[str, str, int, int]]) -> None:
        for event_id, topic, partition, offset in rows:
            row = self.rows[event_id]
            self.rows[event_id] = LedgerRow(
                event_id, row.organisation_id, row.body_sha256, True, topic, partition, offset, row.age_s
            )

    def age(self, seconds: float) -> None:
        """Every row as if reserved ``seconds`` ago (a publication that has long given up)."""
        self.rows = {
            i: LedgerRow(
                r.event_id, r.organisation_id, r.body_sha256, r.published, r.topic, r.partition, r.offset, seconds
            )
            for i, r in self.rows.items()
        }


@dataclass
class FakePublisher:
    """The event log: records appended per topic; ``failing`` makes the broker refuse them all."""

    log: dict[str, list[tuple[bytes, bytes, list[tuple[str, bytes]]]]] = field(default_factory=dict)
    failing: bool = False
    on_late_ack: Callable | None = None

    async def publish_many(self, records):
        if self.failing:
            raise BrokerUnavailable("the broker is away")
        out = []
        for topic, key, value, headers in records:
            entries = self.log.setdefault(topic, [])
            entries.append((key, value, headers))
            out.append((0, len(entries) - 1))
        return out

    def ids(self) -> list[str]:
        """The event ids on the log, in order."""
        return [dict(h)["ce_id"].decode() for entries in self.log.values() for _, _, h in entries]


@dataclass
class FakeRegistry:
    registrations: dict[str, Registration] = field(default_factory=dict)

    async def of(self, organisation_id: str) -> Registration | None:
        return self.registrations.get(organisation_id)

    def register(self, organisation_id: str, areas: set[str], provider_ids: set[str] = frozenset()) -> None:
        self.registrations[organisation_id] = Registration(
            organisation_id,
            organisation_id,
            "vcse",
            frozenset(areas),
            frozenset(provider_ids),
            frozenset(),
            frozenset({organisation_id, *provider_ids}),
        )
