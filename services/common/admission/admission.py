"""Pure admission decisions: clock skew, idempotency outcome, rate limits."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any


#: A calendar date has begun somewhere on Earth once it has begun at UTC+14.
EARLIEST_ZONE = timedelta(hours=14)


def too_far_in_future(occurred_at: datetime, now: datetime, skew: timedelta) -> bool:
    return occurred_at > now + skew


def future_dates(event: Any, now: datetime, skew: timedelta) -> list[tuple[str, str]]:
    """(field, reason) for each time or date of ``event`` that is still to come: ``occurred_at``
    beyond the clock-skew allowance, and a performance period that has not begun anywhere yet
    (a period cannot have been measured before it happened). A contract's end may lie ahead."""
    found = []
    if too_far_in_future(event.occurred_at, now, skew):
        found.append(("occurred_at", f"is more than {int(skew.total_seconds())}s in the future"))
    latest_day = (now + skew + EARLIEST_ZONE).date()
    for name in ("period_start", "period_end"):
        day: date | None = getattr(event.data, name, None)
        if day is not None and day > latest_day:
            found.append((f"data.{name}", f"is in the future (after {latest_day})"))
    return found


class Idempotency(str, Enum):
    NEW = "new"  # never seen: reserve and publish
    RETRY = "retry"  # seen with the same body, not yet acknowledged by Kafka: publish again
    IN_FLIGHT = "in_flight"  # seen with the same body, being published now: wait for the outcome
    DUPLICATE = "duplicate"  # seen with the same body and published: answer the original acceptance
    CONFLICT = "conflict"  # same event_id, different body: refuse


def idempotency(
    existing_hash: bytes | None, existing_published: bool, body_hash: bytes, in_flight: bool = False
) -> Idempotency:
    """``in_flight``: the stored event was reserved so recently that the request which reserved
    it may still be waiting for Kafka (by this process or another). Its outcome, not a second
    publication, answers a copy: a duplicate once it is published, a retry once it is given up."""
    if existing_hash is None:
        return Idempotency.NEW
    if existing_hash != body_hash:
        return Idempotency.CONFLICT
    if existing_published:
        return Idempotency.DUPLICATE
    return Idempotency.IN_FLIGHT if in_flight else Idempotency.RETRY
