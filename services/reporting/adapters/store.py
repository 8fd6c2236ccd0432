"""PostgreSQL adapter for reporting: idempotent ingestion of mapped events and rollup queries."""
from __future__ import annotations

from datetime import date

import asyncpg

from contracts.events import CommunityEngagementFinding, MappedEvent

from ..domain.windows import Window

_INSERT_EVENT = """
INSERT INTO reporting_events (event_id, type, source, region, area, occurred_at, day, community, theme,
    severity, people_affected, finding_source, summary, provider_id, provider_sector, indicator, value,
    target, stages, competencies, cdw_roles, plans, rule_ids, rules_version, mapped_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
    $21, $22, $23, $24, $25)
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""

_UPSERT_ROLLUP = """
INSERT INTO rollup_stage_competency_daily (day, region, area, stage, competency, events)
SELECT $1, $2, $3, s, c, 1 FROM unnest($4::smallint[]) AS s, unnest($5::smallint[]) AS c
ON CONFLICT (area, day, stage, competency)
DO UPDATE SET events = rollup_stage_competency_daily.events + 1
"""


def _row(m: MappedEvent) -> tuple:
    e = m.event
    day = e.occurred_at.date()
    common = (e.event_id, "finding" if isinstance(e, CommunityEngagementFinding) else "performance",
              e.source, e.region.value, e.area, e.occurred_at, day)
    if isinstance(e, CommunityEngagementFinding):
        d = e.data
        specific = (d.community.value, d.theme.value, d.severity.value, d.people_affected,
                    d.finding_source.value, d.summary, None, None, None, None, None)
    else:
        d = e.data
        specific = (d.community.value if d.community else None, None, None, None, None, None,
                    d.provider_id, d.provider_sector.value, d.indicator.value, d.value, d.target)
    return common + specific + ([int(s) for s in m.stages], [int(c) for c in m.competencies],
                                [r.value for r in m.cdw_roles], [p.value for p in m.plans],
                                m.rule_ids, m.rules_version, m.mapped_at)


class ReportingStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def ingest(self, mapped: MappedEvent) -> bool:
        """Insert the event and add it to the rollups, once. False when it was already there."""
        row = _row(mapped)
        async with self.pool.acquire() as conn, conn.transaction():
            inserted = await conn.fetchval(_INSERT_EVENT, *row)
            if inserted is None:
                return False  # a replay or redelivery: counted already
            await conn.execute(_UPSERT_ROLLUP, row[6], row[3], row[4], row[18], row[19])
        return True

    async def counts(self, areas: list[str], window: Window) -> dict:
        row = await self.pool.fetchrow(
            "SELECT count(*) AS events, count(*) FILTER (WHERE type = 'finding') AS findings, "
            "count(*) FILTER (WHERE type = 'performance') AS performance, "
            "coalesce(sum(people_affected), 0) AS people_affected, max(ingested_at) AS as_of "
            "FROM reporting_events WHERE area = ANY($1::text[]) AND day BETWEEN $2 AND $3",
            areas, window.start, window.end)
        return dict(row)

    async def stage_competency(self, areas: list[str], window: Window) -> list[dict]:
        rows = await self.pool.fetch(
            "SELECT stage, competency, sum(events)::int AS events FROM rollup_stage_competency_daily "
            "WHERE area = ANY($1::text[]) AND day BETWEEN $2 AND $3 GROUP BY stage, competency "
            "ORDER BY stage, competency", areas, window.start, window.end)
        return [dict(r) for r in rows]

    async def by_stage(self, areas: list[str], window: Window) -> dict[int, int]:
        rows = await self.pool.fetch(
            "SELECT s AS stage, count(*)::int AS events FROM reporting_events, unnest(stages) AS s "
            "WHERE area = ANY($1::text[]) AND day BETWEEN $2 AND $3 GROUP BY s", areas, window.start, window.end)
        return {r["stage"]: r["events"] for r in rows}

    async def by_competency(self, areas: list[str], window: Window) -> dict[int, int]:
        rows = await self.pool.fetch(
            "SELECT c AS competency, count(*)::int AS events FROM reporting_events, unnest(competencies) AS c "
            "WHERE area = ANY($1::text[]) AND day BETWEEN $2 AND $3 GROUP BY c", areas, window.start, window.end)
        return {r["competency"]: r["events"] for r in rows}

    async def latest_day(self) -> date | None:
        return await self.pool.fetchval("SELECT max(day) FROM reporting_events")
