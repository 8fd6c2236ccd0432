"""An in-memory stand-in for the reporting store (services/reporting/adapters/store.py), for fast
tests of what the worker records and of the reports computed from it (services/reporting/views.py
and the pure services/reporting/domain/).

It keeps the store's contract, not its SQL. Ingestion is the real one but for the tables: the
ledger keeps an event id once, only the events new to it are added up, by the same pure
``rollups.rollup`` the store writes, and the ledger, the rollups and the freshness land together
or not at all (one transaction in the store). A text PostgreSQL cannot hold (a NUL character)
raises asyncpg's DataError for the whole batch, as PostgreSQL does. The report queries are
aggregations in SQL; here they are the same sums over the fake's rows in Python (the integration
tests in tests/integration/test_reporting.py and test_report_rollups.py hold the SQL to them),
so the tests built on them check the worker's counting and the domain's shaping of the rows.
Only the methods the tested views and the worker call are here; a unit test holds each to the
store's signature (tests/unit/reporting/test_store_fakes.py).
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any
from uuid import UUID

import asyncpg

from contracts.events import Alert, MappedEvent, ProviderPerformanceEvent
from services.common.alert_rows import ALERT_COLUMNS, alert_values
from services.reporting.adapters.store import ORDER_BY
from services.reporting.domain.rollups import Counts, RollupBatch, Signature, cover, rollup
from services.reporting.domain.windows import Window


@dataclass
class ReportingTables:
    #: reporting_events, the ledger: event id -> the mapped event.
    events: dict[UUID, MappedEvent] = field(default_factory=dict)
    signatures: dict[int, Signature] = field(default_factory=dict)
    area: dict[tuple, Counts] = field(default_factory=dict)
    detail: dict[tuple, Counts] = field(default_factory=dict)
    community_theme: dict[tuple, Counts] = field(default_factory=dict)
    #: reporting_freshness: area -> (region, last_ingested_at, last_event_day).
    freshness: dict[str, tuple[str, datetime, date]] = field(default_factory=dict)
    #: provider_indicator_series: the store's conflict key -> (occurred_at, event id).
    series: dict[tuple, tuple[datetime, UUID]] = field(default_factory=dict)
    #: reporting_alerts: fingerprint -> the columns of ALERT_COLUMNS.
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def _add(table: dict[tuple, Counts], key: tuple, counts: Counts) -> None:
    table.setdefault(key, Counts()).add(counts)


class FakeReportingStore:
    def __init__(self) -> None:
        self.tables = ReportingTables()
        #: Transactions committed (a batch of replays commits without writing).
        self.commits = 0

    # -- ingestion -------------------------------------------------------------------------

    async def ingest(self, mapped: MappedEvent) -> bool:
        return await self.ingest_many([mapped]) == 1

    async def ingest_many(self, events: Sequence[MappedEvent]) -> int:
        return len(await self.ingest_new(events))

    async def ingest_new(self, events: Sequence[MappedEvent]) -> set[UUID]:
        unique: dict[UUID, MappedEvent] = {}
        for m in events:
            unique.setdefault(m.event_id, m)
        if not unique:
            return set()
        if any(_has_nul(m.model_dump(mode="json")) for m in unique.values()):
            raise asyncpg.exceptions.CharacterNotInRepertoireError('invalid byte sequence for encoding "UTF8": 0x00')
        t = copy.deepcopy(self.tables)  # the transaction
        fresh = [m for i, m in unique.items() if i not in t.events]
        for m in fresh:
            t.events[m.event_id] = m
        if fresh:
            self._write_rollups(t, rollup(fresh))
            for m in sorted(
                (m for m in fresh if isinstance(m.event, ProviderPerformanceEvent)), key=lambda m: m.event.occurred_at
            ):
                e = m.event
                assert isinstance(e, ProviderPerformanceEvent)
                d = e.data
                key = (
                    e.area,
                    d.provider_id,
                    d.indicator.value,
                    d.community.value if d.community else "",
                    d.period_start,
                    d.period_end,
                )
                if key not in t.series or e.occurred_at >= t.series[key][0]:
                    t.series[key] = (e.occurred_at, e.event_id)
        self.tables, self.commits = t, self.commits + 1
        return {m.event_id for m in fresh}

    @staticmethod
    def _write_rollups(t: ReportingTables, batch: RollupBatch) -> None:
        t.signatures.update(batch.signatures)
        for key, counts in batch.area.items():
            _add(t.area, key, counts)
        for key, counts in batch.detail.items():
            _add(t.detail, key, counts)
        for key, counts in batch.community_theme.items():
            _add(t.community_theme, key, counts)
        now = datetime.now(timezone.utc)
        for area, day in batch.last_day.items():
            last = t.freshness[area][2] if area in t.freshness else day
            t.freshness[area] = (batch.regions[area], now, max(last, day))

    async def upsert_alert(self, alert: Alert) -> bool:
        row = dict(zip(ALERT_COLUMNS, alert_values(alert), strict=True))
        stored = self.tables.alerts.get(alert.fingerprint)
        if stored is not None and not row["updated_at"] > stored["updated_at"]:
            return False
        self.tables.alerts[alert.fingerprint] = row
        return True

    # -- queries ---------------------------------------------------------------------------

    async def data_as_of(self, areas: list[str]) -> datetime | None:
        return max((f[1] for a, f in self.tables.freshness.items() if a in areas), default=None)

    async def area_totals(self, areas: list[str], cur: Window, prev: Window) -> list[dict]:
        out: dict[tuple[str, str], dict[str, int]] = {}
        for (area, day, sid), c in self.tables.area.items():
            if area in areas and prev.start <= day <= cur.end:
                row = out.setdefault((area, self.tables.signatures[sid].type), defaultdict(int))
                suffix = "" if day >= cur.start else "_prev"
                row["events" + suffix] += c.events
                row["people" + suffix] += c.people_affected
                row["unmet_need" + suffix] += c.unmet_need
        return [
            {
                "area": a,
                "type": t,
                **{
                    k: row[k]
                    for k in ("events", "events_prev", "people", "people_prev", "unmet_need", "unmet_need_prev")
                },
            }
            for (a, t), row in out.items()
        ]

    async def signature_counts(
        self, areas: list[str], cur: Window, prev: Window, *, community: str | None = None, theme: str | None = None
    ) -> list[dict]:
        out: dict[int, dict[str, int]] = {}
        rows: list[tuple[str, date, int, Counts]]
        if community is None and theme is None:
            rows = [(a, d, sid, c) for (a, d, sid), c in self.tables.area.items()]
        else:
            rows = [
                (a, d, sid, c)
                for (a, d, sid, com, th), c in self.tables.detail.items()
                if community in (None, com) and theme in (None, th)
            ]
        for area, day, sid, c in rows:
            if area in areas and prev.start <= day <= cur.end:
                row = out.setdefault(sid, defaultdict(int))
                row["events" if day >= cur.start else "events_prev"] += c.events
        return [
            {
                "signature_id": sid,
                "type": (s := self.tables.signatures[sid]).type,
                "stages": list(s.stages),
                "competencies": list(s.competencies),
                "cdw_roles": list(s.cdw_roles),
                "events": row["events"],
                "events_prev": row["events_prev"],
            }
            for sid, row in out.items()
        ]

    async def community_theme(self, areas: list[str], cur: Window, prev: Window) -> list[dict]:
        tiles = {**{t: False for t in cover(prev.start, prev.end)}, **{t: True for t in cover(cur.start, cur.end)}}
        out: dict[tuple[str, str], dict[str, int]] = {}
        for (grain, bucket, area, community, theme), c in self.tables.community_theme.items():
            current = tiles.get((grain, bucket))
            if area not in areas or current is None:
                continue
            row = out.setdefault((community, theme), defaultdict(int))
            suffix = "" if current else "_prev"
            row["findings" + suffix] += c.events
            row["people" + suffix] += c.people_affected
            if current:
                row["severity_weight"] += c.severity_weight
                row["high_severity"] += c.high_severity
        return [
            {
                "community": com,
                "theme": th,
                **{
                    k: row[k]
                    for k in ("findings", "findings_prev", "people", "people_prev", "severity_weight", "high_severity")
                },
            }
            for (com, th), row in out.items()
        ]

    async def alerts(
        self, areas: list[str], *, include_resolved: bool = False, sort: str = "age", limit: int = 500
    ) -> list[dict]:
        ORDER_BY["alerts"][sort]  # KeyError for anything not whitelisted
        keys = {
            "age": lambda r: (r["starts_at"], r["fingerprint"]),
            "severity": lambda r: (r["severity"] != "red", r["starts_at"], r["fingerprint"]),
            "area": lambda r: (r["area"], r["starts_at"], r["fingerprint"]),
            "rule": lambda r: (r["rule"], r["starts_at"], r["fingerprint"]),
        }
        rows = [
            {k: v for k, v in r.items() if k != "evidence"}
            for r in self.tables.alerts.values()
            if r["area"] in areas and (include_resolved or r["status"] != "resolved")
        ]
        if sort in keys:
            rows.sort(key=keys[sort])
        else:  # newest, updated: descending, then fingerprint
            column = "starts_at" if sort == "newest" else "updated_at"
            rows.sort(key=lambda r: r["fingerprint"])
            rows.sort(key=lambda r: r[column], reverse=True)
        return rows[:limit]

    async def open_alert_counts(self, areas: list[str]) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for r in self.tables.alerts.values():
            if r["area"] in areas and r["status"] != "resolved":
                out[r["area"]] += 1
        return dict(out)
