"""The community's side of the recommendation loop: a partner reads the answers to its own
recommendations, and anyone reads an area's "you said, we did" summary.

* ``/v1/partners/me/recommendations``: partner keys only. The organisation comes from the key,
  never from the request, so a partner sees the recommendations it made and no other's; another
  organisation's recommendation by id is a 404, as if it did not exist, so ids cannot be probed.
* ``/v1/public/areas/{area}/you-said-we-did``: no key. What is shown is decided in
  :func:`services.alerts.domain.recommendations.public_view` (no organisations, no owners, no key
  ids, dates only). Each client address is held to the read limit a key has.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel

from contracts.places import AREAS
from services.common.auth import Principal, Role
from services.common.http import authenticate, too_many
from services.common.problems import API_PROBLEMS, Problem, problem_responses

from .adapters import peer_reviews, recommendations, store
from .domain.peer_reviews import public_review
from .domain.recommendations import follow_up_summary, partner_view, public_view
from .domain.thresholds import DEFAULT_THRESHOLDS

router = APIRouter(responses=problem_responses(API_PROBLEMS))
Status = Literal["awaiting_response", "accepted", "partly_accepted", "not_accepted", "completed"]
#: The window of the public page's follow-up figures: a year, a local default (the page is a
#: yearly account to the community; the commissioners' summary takes any window).
PUBLIC_WINDOW_DAYS = 365


def partner_only(who: Principal) -> None:
    """Checked in the route's body, after its parameters: a malformed one is a 422 for any key."""
    if who.role is not Role.PARTNER:
        raise Problem(
            403,
            "Forbidden",
            "these are a partner organisation's own recommendations; commissioners and operators read them by area",
        )


async def caller(request: Request) -> Principal:
    return await authenticate(request)


Caller = Annotated[Principal, Depends(caller)]


class _Answer(BaseModel):
    """What the commissioners answered: a response and, later, progress on its action."""

    outcome: Literal["accepted", "partly_accepted", "not_accepted"] | None
    reason: str | None
    action: str | None
    owner: str | None
    due_date: str | None
    progress: Literal["in_progress", "completed"] | None


class PartnerAnswer(_Answer):
    """One answer the commissioners gave, in the order given."""

    response_id: str
    at: str
    by: str
    note: str | None


class PartnerRecommendation(_Answer):
    """A recommendation the caller's organisation made and where its answer stands (as of its
    latest answer)."""

    id: str
    area: str
    community: str
    service: str | None
    theme: str
    recommendation: str
    made_at: str
    peer_review_id: str | None
    status: Status
    open: bool
    what_changed: str | None
    first_responded_at: str | None
    completed_at: str | None
    responses: list[PartnerAnswer]


class PartnerRecommendations(BaseModel):
    items: list[PartnerRecommendation]
    total: int
    limit: int
    offset: int
    next_offset: int | None


@router.get(
    "/v1/partners/me/recommendations",
    tags=["recommendations"],
    response_model=PartnerRecommendations,
    summary="The recommendations the caller's organisation made, newest first, each with "
    "the commissioners' answers (partner keys)",
)
async def my_recommendations(
    request: Request,
    who: Caller,
    area: Annotated[str | None, Query(pattern=r"^[A-Z]{2,5}$")] = None,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> dict[str, Any]:
    partner_only(who)
    found, total = await recommendations.of_organisation(
        request.app.state.pool, who.organisation_id, area, status, limit, offset
    )
    return {
        "items": [partner_view(r, answers) for r, answers in found],
        "total": total,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if offset + limit < total else None,
    }


@router.get(
    "/v1/partners/me/recommendations/{rec_id}",
    tags=["recommendations"],
    response_model=PartnerRecommendation,
    summary="One recommendation the caller's organisation made, with every answer; 404 for any other organisation's",
)
async def my_recommendation(request: Request, who: Caller, rec_id: Annotated[UUID, Path()]) -> dict[str, Any]:
    partner_only(who)
    found = await recommendations.one_of_organisation(request.app.state.pool, who.organisation_id, rec_id)
    if found is None:
        raise Problem(404, "Not found", f"no recommendation {rec_id} made by this organisation")
    return partner_view(*found)


def public_reader(request: Request) -> None:
    """No key: each client address is held to the read limit of a key (429 with Retry-After)."""
    client = request.client.host if request.client else "unknown"
    wait = request.app.state.read_limits.take(f"address:{client}", time.monotonic())
    if wait > 0:
        raise too_many("this address is over its read limit", wait)


class PublicRecommendation(BaseModel):
    community: str
    service: str | None
    theme: str
    you_said: str
    said_on: str
    from_peer_review: bool
    status: Status
    outcome: Literal["accepted", "partly_accepted", "not_accepted"] | None
    reason: str | None
    we_will: str | None
    due_date: str | None
    progress: Literal["in_progress", "completed"] | None
    we_did: str | None
    answered_on: str | None
    completed_on: str | None


class PublicAnswer(BaseModel):
    """The panel's answer to one of the five questions; ``asks`` is the question as the review
    form words it (001:1436-1448); the rating is the platform's 1 to 4 scale (a local default)."""

    question: str
    asks: str
    answer: str
    rating: int
    rating_words: str


class PublicPeerReview(BaseModel):
    """A peer review return: the panel by kind (counts, no names), five answers, where the rule
    set placed it, and its recommendations with their progress."""

    id: str
    reviewed_on: str
    site_name: str | None
    panel: dict[str, int]
    answers: list[PublicAnswer]
    stages: list[int]
    competencies: list[int]
    recommendations: list[PublicRecommendation]


class YouSaidWeDid(BaseModel):
    area: str
    area_name: str
    region: str
    window_days: int
    follow_up: dict[str, Any]
    items: list[PublicRecommendation]
    total: int
    limit: int
    offset: int
    next_offset: int | None
    peer_reviews: list[PublicPeerReview]


@router.get(
    "/v1/public/areas/{area}/you-said-we-did",
    tags=["public"],
    response_model=YouSaidWeDid,
    dependencies=[Depends(public_reader)],
    summary="No key: what communities recommended in the area and what the commissioners "
    "did, with the area's peer review returns. No personal data, no organisations",
)
async def you_said_we_did(
    request: Request,
    area: Annotated[str, Path(pattern=r"^[A-Z]{2,5}$")],
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> dict[str, Any]:
    if area not in AREAS:
        raise Problem(404, "Not found", f"no area '{area}'")
    pool, at = request.app.state.pool, request.app.state.settings.now()
    row = await store.overrides_of(pool, area)
    thresholds = store.stored_thresholds(area, row["thresholds"])[0] if row else DEFAULT_THRESHOLDS
    made = await recommendations.made_since(pool, area, at - timedelta(days=PUBLIC_WINDOW_DAYS))
    summary = follow_up_summary(made, at, PUBLIC_WINDOW_DAYS, thresholds.recommendations)
    items, total = await recommendations.public_listing(pool, area, limit, offset)
    reviews = await peer_reviews.of_area(pool, area)
    return {
        "area": area,
        "area_name": AREAS[area].name,
        "region": AREAS[area].region.value,
        "window_days": PUBLIC_WINDOW_DAYS,
        "follow_up": {k: v for k, v in summary.items() if k != "window_days"},
        "items": [public_view(r) for r in items],
        "total": total,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if offset + limit < total else None,
        "peer_reviews": [public_review(review, recs) for review, recs in reviews],
    }
