"""An event made ready for admission, without I/O. Pure.

:func:`prepare` runs the checks that need neither the caller nor a store (storable values, the
clock, the privacy guard) and takes what the ledger and the event log need: the event's canonical
JSON, its digest and its attributes. What it returns is plain data: the event's id as text (hashed and compared
without uuid.UUID's Python-level methods), no model.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple


from contracts.events import CommunityEngagementFinding, ProviderPerformanceEvent
from contracts.peer_review import PeerReviewReturn
from contracts.funding import FundingFlowEvent

from . import privacy
from .admission import future_dates
from .fields import checked
from .storable import unstorable_fields

Event = CommunityEngagementFinding | ProviderPerformanceEvent | PeerReviewReturn | FundingFlowEvent


@dataclass(frozen=True)
class Refusal:
    """Why an event is refused: HTTP status, problem title and detail, the fields in error with
    their reasons, and the reason it is counted under (csp_intake_events_total)."""

    status: int
    title: str
    detail: str
    errors: list[dict[str, str]]
    reason: str


class Prepared(NamedTuple):
    """An event as admission needs it. ``value`` and ``digest`` are empty when it is refused."""

    event_id: str  # the UUID's canonical text, as ``str(UUID)`` writes it
    source: str
    type: str
    area: str
    key: bytes  # partition key
    time: str  # occurred_at in ISO 8601
    value: bytes  # canonical JSON: what goes on the log and what the digest is of
    digest: bytes  # SHA-256 of value
    unstorable: Refusal | None  # answered before the organisation is checked
    refusal: Refusal | None  # the clock or the privacy guard: answered after it
    provider_id: str | None = None  # a performance event's provider, for the organisation registry
    parties: tuple[str, ...] | None = None  # a funding flow's payer and payee, for the same


def canonical(event: Event) -> bytes:
    """The validated model's JSON: what goes on the log, and what the body hash is taken of, so
    spacing and key order in the request do not matter."""
    return event.model_dump_json().encode()


def prepare(event: Event, now: datetime, clock_skew: timedelta) -> Prepared:
    """Checks in the order they are answered: storable values (domain.storable), then (the
    organisation, checked by the caller) the clock, then the privacy guard."""
    fields = checked(event)
    unstorable = refusal = None
    found = unstorable_fields(fields)
    if found:
        unstorable = Refusal(
            422, "Invalid event", "a value cannot be stored; see errors", [f.error() for f in found], "unstorable"
        )
    elif future := future_dates(event, now, clock_skew):
        refusal = Refusal(
            422,
            "Invalid event",
            "the event is dated in the future",
            [{"field": f, "pointer": "#/" + f.replace(".", "/"), "reason": r} for f, r in future],
            "future_date",
        )
    else:
        hits = privacy.scan_fields(fields)
        if hits:
            # Field and kind only: the offending value is never echoed.
            refusal = Refusal(
                422,
                "Personal data refused",
                "the event carries personal data",
                [{"field": h.field, "pointer": "#/" + h.field.replace(".", "/"), "reason": h.reason} for h in hits],
                "privacy",
            )
    value = digest = b""
    if unstorable is None and refusal is None:
        value = canonical(event)
        digest = hashlib.sha256(value).digest()
    return Prepared(
        str(event.event_id),
        event.source,
        event.type,
        event.area,
        event.partition_key,
        event.occurred_at.isoformat(),
        value,
        digest,
        unstorable,
        refusal,
        getattr(event.data, "provider_id", None),
        event.data.parties if isinstance(event, FundingFlowEvent) else None,
    )
