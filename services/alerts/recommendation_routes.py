"""Recommendation routes: community recommendations of an area and commissioners' answers.

Area-scoped like the thresholds: a commissioner reads and answers the recommendations of the
areas its key grants (403 for another area); operators read every area but do not answer, since
an answer is a commissioner's commitment; partner keys get 403.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from contracts.events import RecommendationResponse
from contracts.places import AREAS
from services.common.auth import Role
from services.common.problems import API_PROBLEMS, Problem, problem_responses, validation_errors
from services.common.admission import privacy, storable

from .adapters import recommendations, store
from .domain.recommendations import RecommendationError, follow_up_summary
from .domain.thresholds import DEFAULT_THRESHOLDS
from .routes import AreaCode, Reader, granted, invalid, svc
from .service import ResponseIdTaken, UnknownRecommendation

router = APIRouter(responses=problem_responses(API_PROBLEMS), tags=["recommendations"])
Status = Literal["awaiting_response", "accepted", "partly_accepted", "not_accepted", "completed"]


@router.get(
    "/v1/areas/{area}/recommendations",
    summary="Community recommendations made in the area, newest first, with their answers' state",
)
async def list_recommendations(
    request: Request,
    who: Reader,
    area: AreaCode,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> dict:
    granted(who, area)
    items, total = await recommendations.listing(request.app.state.pool, area, status, limit, offset)
    return {
        "items": items,
        "total": total,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if offset + limit < total else None,
    }


@router.get(
    "/v1/areas/{area}/recommendations/summary",
    summary="How the area follows up recommendations made in a rolling window: response "
    "rate, median days to response, outcomes, not followed up, overdue actions",
)
async def recommendation_summary(
    request: Request, who: Reader, area: AreaCode, days: Annotated[int, Query(ge=1, le=730)] = 90
) -> dict:
    granted(who, area)
    at = request.app.state.settings.now()
    row = await store.overrides_of(request.app.state.pool, area)
    thresholds = store.stored_thresholds(area, row["thresholds"])[0] if row else DEFAULT_THRESHOLDS
    made = await recommendations.made_since(request.app.state.pool, area, at - timedelta(days=days))
    return {"area": area, "at": at, **follow_up_summary(made, at, days, thresholds.recommendations)}


async def _shown(request: Request, area: str, rec_id: UUID) -> dict[str, Any]:
    found = await recommendations.one(request.app.state.pool, area, rec_id)
    if found is None:
        raise Problem(404, "Not found", f"no recommendation {rec_id} in area '{area}'")
    return found


@router.get(
    "/v1/areas/{area}/recommendations/{rec_id}",
    summary="One recommendation with every answer given to it (the audit trail)",
)
async def show_recommendation(request: Request, who: Reader, area: AreaCode, rec_id: Annotated[UUID, Path()]) -> dict:
    granted(who, area)
    return await _shown(request, area, rec_id)


@router.post(
    "/v1/areas/{area}/recommendations/{rec_id}/responses",
    status_code=201,
    summary="Answer a recommendation: a response (accepted, partly accepted, not accepted "
    "with the reason; an action, owner and due date when accepted) or progress "
    "on its action (in progress, completed with what changed)",
)
async def answer_recommendation(
    request: Request,
    who: Reader,
    area: AreaCode,
    rec_id: Annotated[UUID, Path()],
    body: Annotated[dict[str, Any], Body()],
) -> Any:
    granted(who, area)
    if who.role is not Role.COMMISSIONER:
        raise Problem(403, "Forbidden", "recommendations are answered by the area's commissioners")
    fields = dict(body)
    if "response_id" not in fields:
        raise invalid(
            "response_id",
            "required field is missing (a UUID the caller chooses; "
            "sending the same answer again with it changes nothing)",
        )
    response_id = fields.pop("response_id")
    if "recommendation_id" in fields:
        raise invalid("recommendation_id", "the recommendation is the one in the path")
    # Answers are free text about services, like findings: the same guards keep out what
    # PostgreSQL cannot store and personal data.
    refused = storable.unstorable(fields)
    if refused:
        raise invalid(refused[0].field, refused[0].reason)
    leaks = privacy.scan(fields)
    if leaks:
        raise invalid(
            leaks[0].field,
            f"contains what looks like {leaks[0].kind}; answers must not carry personal data (the value is not echoed)",
        )
    settings = request.app.state.settings
    at = settings.now()
    try:
        response = RecommendationResponse.model_validate(
            {
                "event_id": response_id,
                "source": who.organisation_id,
                "occurred_at": at,
                "area": area,
                "region": AREAS[area].region.value,
                "data": {**fields, "recommendation_id": str(rec_id)},
            }
        )
    except ValidationError as exc:
        errors = validation_errors([{**e, "loc": _body_loc(tuple(e["loc"]))} for e in exc.errors()])
        first = errors[0]
        raise Problem(
            422, "Invalid request", f"{first['field']}: {first['reason']}", kind="validation", errors=errors
        ) from exc
    try:
        _, recorded = await svc(request).answer(response, key_id=who.key_id, now=at)
    except UnknownRecommendation as exc:
        raise Problem(404, "Not found", f"no recommendation {rec_id} in area '{area}'") from exc
    except ResponseIdTaken as exc:
        raise invalid("response_id", "already used for a different answer", status=409) from exc
    except RecommendationError as exc:
        raise Problem(409, "Conflict", str(exc)) from exc
    shown = await _shown(request, area, rec_id)
    return JSONResponse(jsonable_encoder(shown), status_code=201 if recorded else 200)


def _body_loc(loc: tuple) -> tuple:
    """Where a contract error sits in the request body: the answer's fields are the body's,
    the event id is the body's response_id."""
    if loc[:1] == ("data",):
        return loc[1:]
    if loc[:1] == ("event_id",):
        return ("response_id", *loc[1:])
    return loc
