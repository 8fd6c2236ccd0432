"""What one mapped event adds to the reporting rollups, and a batch of them added up.

Pure: the store writes what these functions return, so the counting rules are tested without
PostgreSQL. A mapped event's type, stages, competencies and CDW roles form its *signature*;
the rollups count events by day x area x signature (x community x theme), and the signature's
stages and competencies expand into the heat map at query time.

Findings are also counted by area x community x theme per calendar bucket of three grains (day,
ISO week, month; migration 012): a window's figures are the sum over the few buckets that tile it
(:func:`cover`), so the unmet-needs report reads at most a few dozen buckets of a bounded number
of rows each, however many events the platform holds.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from contracts.events import CommunityEngagementFinding, MappedEvent
from contracts.funding import FundingFlowEvent
from contracts.vocabulary import SEVERITY_WEIGHTS, UNMET_NEED_THEMES, Severity

HIGH_SEVERITIES = frozenset({Severity.HIGH, Severity.CRITICAL})


@dataclass(frozen=True)
class Signature:
    type: str
    stages: tuple[int, ...]
    competencies: tuple[int, ...]
    cdw_roles: tuple[str, ...]

    @property
    def id(self) -> int:
        """A stable 64-bit id; migration 004 computes the same one in SQL for its backfill."""
        return _signature_id(self)


@functools.lru_cache(maxsize=4096)  # a few hundred signatures exist; each batch repeats them
def _signature_id(sig: Signature) -> int:
    text = "|".join(
        (sig.type, ",".join(map(str, sig.stages)), ",".join(map(str, sig.competencies)), ",".join(sig.cdw_roles))
    )
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


def event_type(mapped: MappedEvent) -> str:
    if isinstance(mapped.event, FundingFlowEvent):
        return "funding"
    return "finding" if isinstance(mapped.event, CommunityEngagementFinding) else "performance"


def signature(type_: str, stages: Iterable[int], competencies: Iterable[int], cdw_roles: Iterable[str]) -> Signature:
    """The signature of an event of that type, stages, competencies and CDW roles (in any order,
    repeats allowed): as stored, each sorted and without repeats."""
    return Signature(
        type_,
        tuple(sorted({int(s) for s in stages})),
        tuple(sorted({int(c) for c in competencies})),
        tuple(sorted(set(cdw_roles))),
    )


def signature_of(mapped: MappedEvent) -> Signature:
    return signature(event_type(mapped), mapped.stages, mapped.competencies, [r.value for r in mapped.cdw_roles])


@dataclass
class Counts:
    events: int = 0
    people_affected: int = 0
    severity_weight: int = 0
    high_severity: int = 0
    unmet_need: int = 0

    def add(self, other: "Counts") -> None:
        self.events += other.events
        self.people_affected += other.people_affected
        self.severity_weight += other.severity_weight
        self.high_severity += other.high_severity
        self.unmet_need += other.unmet_need


@dataclass(frozen=True)
class Contribution:
    """One event's share of the rollups."""

    area: str
    region: str
    day: date
    signature: Signature
    community: str
    theme: str
    counts: Counts


def contribution(mapped: MappedEvent) -> Contribution:
    e = mapped.event
    if isinstance(e, CommunityEngagementFinding):
        d = e.data
        counts = Counts(
            1,
            d.people_affected or 0,
            SEVERITY_WEIGHTS[d.severity],
            1 if d.severity in HIGH_SEVERITIES else 0,
            1 if d.theme in UNMET_NEED_THEMES else 0,
        )
        community, theme = d.community.value, d.theme.value
    elif isinstance(e, FundingFlowEvent):
        counts, community, theme = Counts(1), "", ""
    else:
        counts = Counts(1)
        community, theme = (e.data.community.value if e.data.community else ""), ""
    return Contribution(e.area, e.region.value, e.occurred_at.date(), signature_of(mapped), community, theme, counts)


AreaKey = tuple[str, date, int]  # area, day, signature id
DetailKey = tuple[str, date, int, str, str]  # ... community, theme
BucketKey = tuple[str, date, str, str, str]  # grain, bucket start, area, community, theme

#: The grains of the community x theme rollup, finest first.
GRAINS = ("day", "week", "month")


def bucket_start(grain: str, day: date) -> date:
    """The first day of the ``grain`` bucket holding ``day`` (weeks start on Monday, as ISO's)."""
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown grain {grain!r}")


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _weeks_and_days(start: date, end: date) -> list[tuple[str, date]]:
    out: list[tuple[str, date]] = []
    day = start
    while day <= end:
        if day.weekday() == 0 and day + timedelta(days=6) <= end:
            out.append(("week", day))
            day += timedelta(days=7)
        else:
            out.append(("day", day))
            day += timedelta(days=1)
    return out


def cover(start: date, end: date) -> list[tuple[str, date]]:
    """The buckets (grain, first day) that tile days ``start`` to ``end`` exactly: whole months,
    then whole weeks inside the part-months at either end, then single days. Every day of the
    range lies in exactly one bucket and no bucket reaches outside it, so summing the buckets'
    rows gives the range's figures. A 90-day window needs about a dozen buckets."""
    if end < start:
        return []
    first_month = start if start.day == 1 else _next_month(start)
    months: list[tuple[str, date]] = []
    month = first_month
    while _next_month(month) - timedelta(days=1) <= end:
        months.append(("month", month))
        month = _next_month(month)
    if not months:
        return _weeks_and_days(start, end)
    return _weeks_and_days(start, first_month - timedelta(days=1)) + months + _weeks_and_days(month, end)


@dataclass
class RollupBatch:
    """A batch of events added up per rollup row: one upsert per row, keys sorted (no deadlocks)."""

    signatures: dict[int, Signature] = field(default_factory=dict)
    area: dict[AreaKey, Counts] = field(default_factory=dict)
    detail: dict[DetailKey, Counts] = field(default_factory=dict)
    regions: dict[str, str] = field(default_factory=dict)
    last_day: dict[str, date] = field(default_factory=dict)
    #: Findings only, one row per grain (:data:`GRAINS`) for each event.
    community_theme: dict[BucketKey, Counts] = field(default_factory=dict)

    def add(self, c: Contribution) -> None:
        sid = c.signature.id
        self.signatures[sid] = c.signature
        self.regions[c.area] = c.region
        self.last_day[c.area] = max(c.day, self.last_day.get(c.area, c.day))
        self.area.setdefault((c.area, c.day, sid), Counts()).add(c.counts)
        self.detail.setdefault((c.area, c.day, sid, c.community, c.theme), Counts()).add(c.counts)
        if c.signature.type == "finding":
            for grain in GRAINS:
                key = (grain, bucket_start(grain, c.day), c.area, c.community, c.theme)
                self.community_theme.setdefault(key, Counts()).add(c.counts)

    def __len__(self) -> int:
        return sum(v.events for v in self.area.values())


def rollup(events: Iterable[MappedEvent]) -> RollupBatch:
    """The batch's rollup rows. Funding flows are kept in reporting_events only, where the funding
    chain reads them (services/reporting/funding_chain.py); they are not evidence counted here."""
    batch = RollupBatch()
    for m in events:
        if not isinstance(m.event, FundingFlowEvent):
            batch.add(contribution(m))
    return batch
