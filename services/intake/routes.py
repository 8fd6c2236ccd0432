"""Intake HTTP routes: parse, authorise, hand to IntakeService, answer. No rules here."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Body, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from contracts import examples
from contracts.events import CommunityEngagementFinding, ProviderPerformanceEvent
from contracts.peer_review import EXAMPLE as PEER_REVIEW_EXAMPLE, PeerReviewReturn
from contracts.funding import FundingFlowEvent
from services.common.http import authenticate, too_many
from services.common.problems import PROBLEM_JSON, Problem, problem_responses, problem_schema, validation_errors

from services.common.auth import Principal, Role

from . import cloudevents
from .service import Outcome, rejected

PROBLEM_RESPONSES = problem_responses(
    {
        400: "Malformed JSON",
        401: "Missing or unknown API key",
        403: "The key may not post as that organisation",
        409: "The event_id was used with a different body",
        413: "Body or batch too large",
        415: "Not JSON",
        422: "Invalid event or personal data",
        429: "Rate limit; see Retry-After",
        503: "Event store unavailable; retry with the same event_id",
    }
)


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
    200: {"model": EventAnswer, "description": "Duplicate: the same body was accepted before; where it is"},
}
BATCH_RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    200: {"model": BatchAnswer, "description": "Each event answered on its own"},
    503: {
        "description": "Some admissible events were not acknowledged; retry the whole batch. "
        "Problem details with the per-event results and counts.",
        "content": {PROBLEM_JSON: {"schema": problem_schema()}},
    },
}
#: Documents the Bearer scheme in OpenAPI; ``authenticate`` does the checking.
_BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An API key issued with `python -m services.common.keys create`.",
)


async def poster(
    request: Request,
    _documented: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> Principal:
    """The key's principal, once it is known (401), within its rate limit (429) and of a role
    that may post events (403). ``_documented`` shows the Bearer scheme in OpenAPI;
    :func:`authenticate` does the checking."""
    found = await authenticate(request)
    wait = request.app.state.post_limits.take(found.key_id, time.monotonic())
    if wait > 0:
        raise too_many("this key is over its rate limit", wait)
    if found.role not in (Role.PARTNER, Role.OPERATOR):
        raise Problem(403, "Forbidden", f"a {found.role.value} key cannot post events")
    return found


Poster = Annotated[Principal, Depends(poster)]


class EventRequest(Request):
    """A request whose body is a CloudEvent (structured or binary content mode) reads as the
    platform's envelope, so FastAPI validates it with the event model like any other body."""

    async def body(self) -> bytes:
        if "event_body" not in self.scope:
            raw = await super().body()
            mode = self.state.event_mode = cloudevents.mode_of(self)
            self.scope["event_body"] = raw if mode == cloudevents.ENVELOPE else cloudevents.envelope(self, raw, mode)
        return self.scope["event_body"]


class EventRoute(APIRoute):
    """FastAPI's documented way to customise how a route reads its request ("Custom Request and
    APIRoute class"): the handler gets an :class:`EventRequest`, and a validation error names the
    CloudEvent attribute or ``ce-`` header the partner wrote rather than the envelope's field.
    Everything else (dependencies, body validation, OpenAPI) is FastAPI's own."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def route(request: Request):
            request = EventRequest(request.scope, request.receive)
            try:
                return await handler(request)
            except RequestValidationError as exc:
                mode = getattr(request.state, "event_mode", cloudevents.ENVELOPE)
                raise RequestValidationError(cloudevents.located(list(exc.errors()), mode)) from None

        return route


events = APIRouter(route_class=EventRoute)  # one event a post, in the envelope or as a CloudEvent
batches = APIRouter()  # a batch, in the envelope only


def respond(request: Request, outcome: Outcome) -> JSONResponse:
    if outcome.http_status < 400:
        return JSONResponse(outcome.body(), status_code=outcome.http_status)
    headers = None
    if outcome.http_status == 503:
        headers = {"Retry-After": str(request.app.state.settings.retry_after_seconds)}
    errors = cloudevents.renamed(outcome.errors, getattr(request.state, "event_mode", cloudevents.ENVELOPE))
    return Problem(
        outcome.http_status,
        outcome.title or "Rejected",
        outcome.detail,
        kind="validation" if outcome.http_status == 422 else None,
        errors=errors or None,
        headers=headers,
    ).response(request.url.path)


@events.post(
    "/v1/findings",
    status_code=202,
    tags=["events"],
    responses=SINGLE_RESPONSES,
    summary="Post one community engagement finding",
)
async def post_finding(
    request: Request,
    event: Annotated[
        CommunityEngagementFinding,
        Body(
            openapi_examples={
                "unmet_need": {"summary": "Unmet need raised at a community forum", "value": examples.FINDING}
            }
        ),
    ],
    who: Poster,
) -> JSONResponse:
    """202 when Kafka acknowledged the event; 200 with status 'duplicate' for a replay."""
    return respond(request, (await request.app.state.intake.admit(who, [event]))[0])


@events.post(
    "/v1/performance-events",
    status_code=202,
    tags=["events"],
    responses=SINGLE_RESPONSES,
    summary="Post one provider performance event",
)
async def post_performance(
    request: Request,
    event: Annotated[
        ProviderPerformanceEvent,
        Body(
            openapi_examples={
                "four_week_wait": {"summary": "Four-week wait below target", "value": examples.PERFORMANCE}
            }
        ),
    ],
    who: Poster,
) -> JSONResponse:
    return respond(request, (await request.app.state.intake.admit(who, [event]))[0])


@events.post(
    "/v1/funding-events",
    status_code=202,
    tags=["events"],
    responses=SINGLE_RESPONSES,
    summary="Post one funding flow (commitment, payment, spend report or grant award)",
)
async def post_funding(
    request: Request,
    event: Annotated[
        FundingFlowEvent,
        Body(
            openapi_examples={
                "onward_payment": {"summary": "A trust pays the alliance's lead body", "value": examples.FUNDING}
            }
        ),
    ],
    who: Poster,
) -> JSONResponse:
    """Only a party to the flow (its payer or payee) may post it: 403 otherwise, naming the party
    fields."""
    return respond(request, (await request.app.state.intake.admit(who, [event]))[0])


@events.post(
    "/v1/peer-reviews",
    status_code=202,
    tags=["events"],
    responses=SINGLE_RESPONSES,
    summary="Post one peer review return of a Focused Implementation Site",
)
async def post_peer_review(
    request: Request,
    event: Annotated[
        PeerReviewReturn,
        Body(
            openapi_examples={
                "site_review": {
                    "summary": "A site's peer review: panel, five answers, recommendations",
                    "value": PEER_REVIEW_EXAMPLE,
                }
            }
        ),
    ],
    who: Poster,
) -> JSONResponse:
    """A partner organisation that serves the area posts the return, as it posts findings: the
    reviewed site's commissioners answer its recommendations, so they do not post them."""
    return respond(request, (await request.app.state.intake.admit(who, [event]))[0])


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[dict[str, Any]] = Field(
        description="Events of the endpoint's type, as in the single-event form; at most the "
        "documented limit (500 by default). Each is answered on its own."
    )


def read_each(adapter: TypeAdapter, events: list[dict[str, Any]]) -> list[Any]:
    """Each event of a batch as its model, or the ValidationError that refused it."""
    parsed: list[Any] = []
    for item in events:
        try:
            parsed.append(adapter.validate_python(item))
        except ValidationError as exc:
            parsed.append(exc)
    return parsed


FINDING = TypeAdapter(CommunityEngagementFinding)
PERFORMANCE = TypeAdapter(ProviderPerformanceEvent)
FUNDING = TypeAdapter(FundingFlowEvent)


def envelope_only(request: Request) -> None:
    """Batches come in the platform's envelope; CloudEvents are posted one at a time."""
    if cloudevents.mode_of(request) != cloudevents.ENVELOPE:
        raise cloudevents.refuse_batch()


async def _batch(request: Request, batch: BatchIn, adapter: TypeAdapter, who: Principal) -> JSONResponse:
    limit = request.app.state.settings.max_batch_events
    if len(batch.events) > limit:
        raise Problem(
            413,
            "Batch too large",
            f"{len(batch.events)} events; the limit is {limit}",
            errors=[{"field": "events", "pointer": "#/events", "reason": f"at most {limit} events per batch"}],
        )
    items = read_each(adapter, batch.events)
    parsed: list[tuple[int, Any]] = []
    outcomes: list[Outcome | None] = [None] * len(items)
    for i, item in enumerate(items):
        if isinstance(item, ValidationError):
            raw = batch.events[i]
            eid = raw.get("event_id") if isinstance(raw.get("event_id"), str) else None
            outcomes[i] = rejected(
                422, "Invalid event", "the event does not match the contract", validation_errors(item.errors()), eid
            )
        else:
            parsed.append((i, item))
    results = await request.app.state.intake.admit(who, [e for _, e in parsed])
    for (i, _), res in zip(parsed, results, strict=True):
        outcomes[i] = res
    answered = cast("list[Outcome]", outcomes)  # each item refused above or answered by admit
    counts: dict[str, int] = {}
    for o in answered:
        counts[o.status] = counts.get(o.status, 0) + 1
    body: dict[str, object] = {
        "results": [o.body() | {"index": i, "http_status": o.http_status} for i, o in enumerate(answered)],
        "counts": counts,
    }
    if counts.get("unavailable"):
        # Not everything admissible is stored: no 2xx. Retrying the whole batch is safe.
        body.update(
            type="https://commissioning-signals.invalid/problems/service-unavailable",
            title="Service unavailable",
            status=503,
            detail="some events were not acknowledged by the event store; retry the batch",
        )
        return JSONResponse(
            body,
            status_code=503,
            media_type=PROBLEM_JSON,
            headers={"Retry-After": str(request.app.state.settings.retry_after_seconds)},
        )
    return JSONResponse(body, status_code=200)


@batches.post(
    "/v1/findings:batch",
    tags=["events"],
    responses=BATCH_RESPONSES,
    summary="Post up to 500 community engagement findings, answered per item",
    dependencies=[Depends(envelope_only)],
)
async def post_findings_batch(request: Request, batch: BatchIn, who: Poster) -> JSONResponse:
    return await _batch(request, batch, FINDING, who)


@batches.post(
    "/v1/performance-events:batch",
    tags=["events"],
    responses=BATCH_RESPONSES,
    summary="Post up to 500 provider performance events, answered per item",
    dependencies=[Depends(envelope_only)],
)
async def post_performance_batch(request: Request, batch: BatchIn, who: Poster) -> JSONResponse:
    return await _batch(request, batch, PERFORMANCE, who)


@batches.post(
    "/v1/funding-events:batch",
    tags=["events"],
    responses=BATCH_RESPONSES,
    summary="Post up to 500 funding flows, answered per item",
    dependencies=[Depends(envelope_only)],
)
async def post_funding_batch(request: Request, batch: BatchIn, who: Poster) -> JSONResponse:
    return await _batch(request, batch, FUNDING, who)


router = APIRouter()
router.include_router(events)
router.include_router(batches)
