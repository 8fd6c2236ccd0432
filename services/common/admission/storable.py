"""Values every store downstream can keep, checked before an event is admitted.

The contract's types allow values that the event log or PostgreSQL cannot keep: the NUL
character (U+0000) in text; a time whose offset carries it past the year 9999 once converted to
UTC. Whole numbers wider than the reporting columns (``people_affected`` is a 32-bit integer
there, other counts 64-bit) are checked too, for any field without a bound of its own (the
contract keeps its counts below contracts.vocabulary.MAX_COUNT). (NaN and the infinities, which
JSON cannot carry, the contract refuses itself.) Any of them would be acknowledged and then stop
or bypass a worker downstream, so intake refuses the event with a 422 naming the field. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar

from .fields import Fields, leaves

V = TypeVar("V")

NUL = "\x00"
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
#: Whole-number fields stored in 32-bit columns; every other one must fit 64 bits.
INT32_FIELDS = frozenset({"data.people_affected"})


@dataclass(frozen=True)
class Unstorable:
    field: str
    reason: str

    def error(self) -> dict[str, str]:
        pointer = self.field.replace(".", "/").replace("[", "/").replace("]", "")
        return {"field": self.field, "pointer": "#/" + pointer, "reason": self.reason}


def _outside_utc_range(moment: datetime) -> bool:
    if moment.tzinfo is None:
        return False
    try:
        moment.astimezone(timezone.utc)
    except OverflowError:
        return True
    return False


def _reason(path: str, value: Any) -> str | None:
    if isinstance(value, str):
        return "contains the NUL character (U+0000), which no text may carry" if NUL in value else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        limit = INT32_MAX if path in INT32_FIELDS else INT64_MAX
        return f"is larger than {limit:,}" if abs(value) > limit else None
    if isinstance(value, datetime):
        return "is outside the years 1 to 9999 once converted to UTC" if _outside_utc_range(value) else None
    return None


def storable(value: V) -> V:
    """``value`` unchanged when every store can keep it, else a ValueError saying why: the same
    checks as :func:`unstorable`, for a request field (a pydantic ``AfterValidator``)."""
    reason = _reason("", value)
    if reason:
        raise ValueError(reason)
    return value


def unstorable(payload: dict[str, Any]) -> list[Unstorable]:
    """Every field of ``payload`` (a validated event as Python values) a store could not keep."""
    return unstorable_fields(leaves(payload))


def unstorable_fields(fields: Fields) -> list[Unstorable]:
    """As :func:`unstorable`, over an event's fields already walked (see fields.leaves)."""
    found = []
    for path, value in fields:
        reason = _reason(path, value)
        if reason:
            found.append(Unstorable(path, reason))
    return found
