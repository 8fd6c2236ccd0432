"""A paced load of partner events through intake's batch endpoints, retried the way a partner would.

Each partner organisation posts its own events (``source`` is its organisation) in batches.
A batch answered 2xx settles each item by its own status (accepted or duplicate: acknowledged;
rejected or conflict: refused). Anything else (503 with ``Retry-After``, another 5xx, a 429, a
timeout, a refused connection) is retried later with the very same body, so the same event ids:
intake deduplicates them. Per-item statuses inside a non-2xx answer never count: the answer as
a whole did not acknowledge the batch.

A few events are refused on purpose (personal data in free text, posting as another
organisation), so the books can show that nothing refused is ever reported as accepted.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime, timedelta, timezone

import aiohttp

from contracts.events import FINDING_TYPE, PERFORMANCE_TYPE
from contracts.places import AREAS
from contracts.vocabulary import UNMET_NEED_THEMES, Community, FindingSource, Severity, Theme

#: Themes that do not feed the unmet-need rule: most of the load, so the alert state stays small.
OTHER_THEMES = [t for t in Theme if t not in UNMET_NEED_THEMES]
#: Performance indicators the load reports (percent, with a target), one provider per area.
INDICATORS = ("four_week_wait", "seven_day_follow_up")


@dataclass(frozen=True)
class Partner:
    organisation: str
    api_key: str


@dataclass(frozen=True)
class Planned:
    """One event of the load and what the sender expects intake to say."""

    event_id: str
    partner: Partner
    kind: str  # finding | performance
    body: dict
    valid: bool  # False: refused on purpose
    area: str
    day: date
    unmet_need: bool  # a finding the unmet-need rule keeps in the area's window
    community: str | None


@dataclass
class Outcomes:
    """What the sender learnt, per event id and per request."""

    acknowledged: dict[str, str] = field(default_factory=dict)  # event_id -> accepted | duplicate
    refused: dict[str, int] = field(default_factory=dict)  # event_id -> HTTP status of the item
    gave_up: set[str] = field(default_factory=set)
    statuses: Counter = field(default_factory=Counter)  # per request: 200, 503, 500, 'timeout'...
    requests: int = 0
    retries: int = 0
    started: float = 0.0
    finished: float = 0.0


def plan(
    partners: list[Partner],
    areas: list[str],
    days: list[date],
    total: int,
    *,
    seed: int,
    unmet_share: float = 0.02,
    performance_share: float = 0.2,
    refused_share: float = 0.005,
    communities: list[Community] | None = None,
    unmet_first: bool = False,
) -> list[Planned]:
    """``total`` events spread over partners, areas and days; deterministic for a seed.
    ``unmet_first``: the unmet-need findings lead the load (their alerts fire early)."""
    rng = random.Random(seed)
    communities = communities or list(Community)
    out: list[Planned] = []
    for n in range(total):
        partner = partners[n % len(partners)]
        area = areas[rng.randrange(len(areas))]
        day = days[rng.randrange(len(days))]
        at = datetime.combine(day, dtime(9, 0), timezone.utc) + timedelta(seconds=rng.randrange(8 * 3600))
        event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        envelope = {
            "event_id": event_id,
            "source": partner.organisation,
            "area": area,
            "region": AREAS[area].region.value,
            "occurred_at": at.isoformat(),
        }
        roll = rng.random()
        if roll < performance_share:
            body = {**envelope, "type": PERFORMANCE_TYPE, "data": _performance(rng, area, day)}
            out.append(Planned(event_id, partner, "performance", body, True, area, day, False, None))
            continue
        unmet = roll > 1 - unmet_share
        community = communities[rng.randrange(len(communities))].value
        theme = (rng.choice(sorted(UNMET_NEED_THEMES)) if unmet else rng.choice(OTHER_THEMES)).value
        data = {
            "community": community,
            "theme": theme,
            "severity": rng.choice([Severity.MODERATE, Severity.HIGH]).value,
            "people_affected": rng.randrange(5, 200),
            "finding_source": rng.choice(list(FindingSource)).value,
            "summary": "Members at the community forum describe waits for talking therapies "
            "and no interpreter at the first appointment.",
        }
        body = {**envelope, "type": FINDING_TYPE, "data": data}
        valid = True
        if not unmet and rng.random() < refused_share:
            valid = False
            if rng.random() < 0.5:  # personal data: refused by the privacy guard (422)
                data["summary"] = "Ring the coordinator on 07700 900123 for the names of the families."
            else:  # another organisation's name as source (403)
                body["source"] = next(p for p in partners if p is not partner).organisation
        out.append(Planned(event_id, partner, "finding", body, valid, area, day, unmet and valid, community))
    if unmet_first:
        out.sort(key=lambda e: not e.unmet_need)
    return out


def provider_id(area: str) -> str:
    """The one provider the load reports on in ``area``."""
    return f"{area.lower()}-talking-therapies"


def _performance(rng: random.Random, area: str, day: date) -> dict:
    indicator = INDICATORS[rng.randrange(len(INDICATORS))]
    # A monthly period among the six before the event's day: the area's series stays small.
    month = (day.replace(day=1) - timedelta(days=1 + 31 * rng.randrange(6))).replace(day=1)
    end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    denominator = rng.randrange(100, 400)
    numerator = int(denominator * rng.uniform(0.85, 0.99))
    return {
        "provider_id": provider_id(area),
        "provider_name": f"{area} talking therapies",
        "provider_sector": "voluntary",
        "indicator": indicator,
        "period_start": month.isoformat(),
        "period_end": end.isoformat(),
        "value": round(100 * numerator / denominator, 1),
        "target": 95.0,
        "numerator": numerator,
        "denominator": denominator,
    }


class Sender:
    """Posts the planned events in batches at a steady pace, several batches in flight."""

    def __init__(
        self,
        intake_url: str,
        events: list[Planned],
        *,
        rate: float,
        batch_size: int = 200,
        in_flight: int = 6,
        give_up_after: float = 150.0,
        max_retry_after: float = 5.0,
    ) -> None:
        self.url, self.rate, self.in_flight = intake_url.rstrip("/"), rate, in_flight
        self.give_up_after, self.max_retry_after = give_up_after, max_retry_after
        self.outcomes = Outcomes()
        self.batches: list[tuple[Partner, str, list[Planned]]] = []
        by_partner: dict[tuple[str, str], list[Planned]] = {}
        for e in events:
            by_partner.setdefault((e.partner.organisation, e.kind), []).append(e)
            group = by_partner[(e.partner.organisation, e.kind)]
            if len(group) == batch_size:
                self.batches.append((e.partner, e.kind, group))
                by_partner[(e.partner.organisation, e.kind)] = []
        for (_org, kind), group in by_partner.items():
            if group:
                self.batches.append((group[0].partner, kind, group))
        self.total = len(events)
        self.settled = 0
        self._progress = asyncio.Condition()

    async def reached(self, share: float) -> None:
        """Wait until this share of the planned events has an answer (acknowledged or refused)."""
        async with self._progress:
            await self._progress.wait_for(lambda: self.settled >= share * self.total)

    async def run(self) -> Outcomes:
        o = self.outcomes
        o.started = time.monotonic()
        limit = asyncio.Semaphore(self.in_flight)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as session:

            async def one(i: int, batch) -> None:
                # Pace: batch i leaves no earlier than its slot in a steady stream at ``rate``.
                await asyncio.sleep(max(0.0, o.started + i * len(batch[2]) / self.rate - time.monotonic()))
                async with limit:
                    await self._post(session, *batch)

            await asyncio.gather(*(one(i, b) for i, b in enumerate(self.batches)))
        o.finished = time.monotonic()
        return o

    async def _post(self, session: aiohttp.ClientSession, partner: Partner, kind: str, events: list[Planned]) -> None:
        o = self.outcomes
        path = "/v1/findings:batch" if kind == "finding" else "/v1/performance-events:batch"
        headers = {"authorization": f"Bearer {partner.api_key}", "content-type": "application/json"}
        payload = {"events": [e.body for e in events]}
        deadline = time.monotonic() + self.give_up_after
        while True:
            o.requests += 1
            wait = 0.5
            try:
                async with session.post(self.url + path, json=payload, headers=headers) as r:
                    o.statuses[r.status] += 1
                    if 200 <= r.status < 300:
                        await self._settle(events, (await r.json())["results"])
                        return
                    if r.status not in (429,) and r.status < 500:
                        raise AssertionError(f"batch refused as a whole: {r.status} {await r.text()}")
                    wait = _retry_after(r.headers.get("retry-after"), self.max_retry_after)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                o.statuses[type(exc).__name__] += 1
            if time.monotonic() + wait > deadline:
                o.gave_up.update(e.event_id for e in events)
                return
            o.retries += 1
            await asyncio.sleep(wait * (0.75 + 0.5 * random.random()))

    async def _settle(self, events: list[Planned], results: list[dict]) -> None:
        o = self.outcomes
        for e, res in zip(events, results, strict=True):
            assert res["event_id"] == e.event_id, res
            if res["status"] in ("accepted", "duplicate") and 200 <= res["http_status"] < 300:
                o.acknowledged[e.event_id] = res["status"]
            else:
                o.refused[e.event_id] = res["http_status"]
        async with self._progress:
            self.settled += len(events)
            self._progress.notify_all()


def _retry_after(value: str | None, cap: float) -> float:
    try:
        return min(cap, max(0.2, float(value))) if value else 1.0
    except ValueError:
        return 1.0
