"""Intake HTTP routes: parse, authorise, hand to IntakeService, answer. No rules here."""
from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from contracts.events import CommunityEngagementFinding, ProviderPerformanceEvent
from services.common.http import authenticate
from services.common.problems import PROBLEM_JSON, Problem, validation_errors

from . import examples
from services.common.auth import Principal, Role

from .domain.admission import TokenBucket
from .service import Outcome, rejected

router = APIRouter()

_FIELD_ERROR = {"type": "object", "required": ["field", "reason"],
                "properties": {"field": {"type": "string"}, "pointer": {"type": "string"},
                               "reason": {"type": "string"}}}


def _problem_schema(errors_required: bool = False) -> dict[str, Any]:
    """RFC 9457 problem details as this API writes them; ``errors`` names each field and reason."""
    required = ["type", "title", "status"] + (["errors"] if errors_required else [])
    return {"type": "object", "required": required,
            "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                           "status": {"type": "integer", "minimum": 400, "maximum": 599},
                           "detail": {"type": "string"}, "instance": {"type": "string"},
                           "errors": {"type": "array", "items": _FIELD_ERROR,
                                      "minItems": 1 if errors_required else 0}}}


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {PROBLEM_JSON: {"schema": _problem_schema(code == 422)}}}
    for code, text in ((400, "Malformed JSON"), (401, "Missing or unknown API key"),
                       (403, "The key may not post as that organisation"),
                       (409, "The event_id was used with a different body"),
                       (413, "Body or batch too large"), (415, "Not JSON"),
                       (422, "Invalid event or personal data"), (429, "Rate limit; see Retry-After"),
                       (503, "Event store unavailable; retry with the same event_id"))
}


class EventAnswer(BaseModel):
    """Where the event is in the event store."""
    event_id: str
    status: Literal["accepted", "duplicate"]
    topic: str
    partition: int
    offset: int


class BatchItemAnswer(BaseModel):
    event_id: str | None
    status: Literal["accepted", "duplicate", "rejected", "conflict", "unavailable"]
    index: int
    http_status: int
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    title: str | None = None
    detail: str | None = None
    errors: list[dict[str, str]] | None = None


class BatchAnswer(BaseModel):
    results: list[BatchItemAnswer]
    counts: dict[str, int]


SINGLE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    202: {"model": EventAnswer, "description": "Accepted: the event store acknowledged the event"},
    200: {"model": EventAnswer, "description": "Duplicate: the same body was accepted before; "
                                               "where it is"},
}
BATCH_RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    200: {"model": BatchAnswer, "description": "Each event answered on its own"},
    503: {"description": "Some admissible events were not acknowledged; retry the whole batch. "
                         "Problem details with the per-event results and counts.",
          "content": {PROBLEM_JSON: {"schema": _problem_schema()}}},
}
#: Documents the Bearer scheme in OpenAPI; ``authenticate`` does the checking.
_BEARER = HTTPBearer(auto_error=False, scheme_name="apiKey",
                     description="An API key issued with `python -m services.intake.keys create`.")


async def principal(
    request: Request,
    _documented: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> Principal:
    found = await authenticate(request)
    buckets: dict[str, TokenBucket] = request.app.state.buckets
    settings = request.app.state.settings
    bucket = buckets.setdefault(found.key_id, TokenBucket(settings.rate_limit_per_second,
                                                          settings.rate_limit_burst))
    wait = bucket.take(time.monotonic())
    if wait > 0:
        raise Problem(429, "Too many requests", "this key is over its rate limit",
                      headers={"Retry-After": str(max(1, int(wait + 0.999)))})
    return found


async def poster(p: Annotated[Principal, Depends(principal)]) -> Principal:
    if p.role not in (Role.PARTNER, Role.OPERATOR):
        raise Problem(403, "Forbidden", f"a {p.role.value} key cannot post events")
    return p


def respond(request: Request, outcome: Outcome) -> JSONResponse:
    if outcome.http_status < 400:
        return JSONResponse(outcome.body(), status_code=outcome.http_status)
    headers = None
    if outcome.http_status == 503:
        headers = {"Retry-After": str(request.app.state.settings.retry_after_seconds)}
    return Problem(outcome.http_status, outcome.title or "Rejected", outcome.detail,
                   kind="validation" if outcome.http_status == 422 else None,
                   errors=outcome.errors or None, headers=headers).response(request.url.path)


@router.post("/v1/findings", status_code=202, tags=["events"], responses=SINGLE_RESPONSES,
             summary="Post one community engagement finding")
async def post_finding(
    request: Request,
    event: Annotated[CommunityEngagementFinding, Body(openapi_examples={
        "unmet_need": {"summary": "Unmet need raised at a community forum", "value": examples.FINDING}})],
    who: Annotated[Principal, Depends(poster)],
) -> JSONResponse:
    """202 when Kafka acknowledged the event; 200 with status 'duplicate' for a replay."""
    return respond(request, (await request.app.state.intake.admit(who, [event]))[0])


@router.post("/v1/performance-events", status_code=202, tags=["events"], responses=SINGLE_RESPONSES,
             summary="Post one provider performance event")
async def post_performance(
    request: Request,
    event: Annotated[ProviderPerformanceEvent, Body(openapi_examples={
        "four_week_wait": {"summary": "Four-week wait below target", "value": examples.PERFORMANCE}})],
    who: Annotated[Principal, Depends(poster)],
) -> JSONResponse:
    return respond(request, (await request.app.state.intake.admit(who, [event]))[0])


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[dict[str, Any]] = Field(
        description="Events of the endpoint's type, as in the single-event form; at most the "
                    "documented limit (500 by default). Each is answered on its own.")


async def _batch(request: Request, batch: BatchIn, who: Principal, adapter: TypeAdapter) -> JSONResponse:
    limit = request.app.state.settings.max_batch_events
    if len(batch.events) > limit:
        raise Problem(413, "Batch too large", f"{len(batch.events)} events; the limit is {limit}",
                      errors=[{"field": "events", "pointer": "#/events",
                               "reason": f"at most {limit} events per batch"}])
    parsed, outcomes = [], [None] * len(batch.events)
    for i, item in enumerate(batch.events):
        try:
            event = adapter.validate_python(item)
        except ValidationError as exc:
            eid = item.get("event_id") if isinstance(item.get("event_id"), str) else None
            outcomes[i] = rejected(422, "Invalid event", "the event does not match the contract",
                                   validation_errors(exc.errors()), eid)
            continue
        parsed.append((i, event))
    results = await request.app.state.intake.admit(who, [e for _, e in parsed])
    for (i, _), res in zip(parsed, results):
        outcomes[i] = res
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    body = {"results": [o.body() | {"index": i, "http_status": o.http_status} for i, o in enumerate(outcomes)],
            "counts": counts}
    if counts.get("unavailable"):
        # Not everything admissible is stored: no 2xx. Retrying the whole batch is safe.
        body.update(type="https://commissioning-signals.invalid/problems/service-unavailable",
                    title="Service unavailable", status=503,
                    detail="some events were not acknowledged by the event store; retry the batch")
        return JSONResponse(body, status_code=503, media_type=PROBLEM_JSON,
                            headers={"Retry-After": str(request.app.state.settings.retry_after_seconds)})
    return JSONResponse(body, status_code=200)


_FINDING = TypeAdapter(CommunityEngagementFinding)
_PERFORMANCE = TypeAdapter(ProviderPerformanceEvent)


@router.post("/v1/findings:batch", tags=["events"], responses=BATCH_RESPONSES,
             summary="Post up to 500 community engagement findings, answered per item")
async def post_findings_batch(request: Request, batch: BatchIn,
                              who: Annotated[Principal, Depends(poster)]) -> JSONResponse:
    return await _batch(request, batch, who, _FINDING)


@router.post("/v1/performance-events:batch", tags=["events"], responses=BATCH_RESPONSES,
             summary="Post up to 500 provider performance events, answered per item")
async def post_performance_batch(request: Request, batch: BatchIn,
                                 who: Annotated[Principal, Depends(poster)]) -> JSONResponse:
    return await _batch(request, batch, who, _PERFORMANCE)
