"""The mapping, inspectable: the taxonomy with the rules in force, and a dry run of the mapping
on one event. Any valid API key reads both; nothing is stored or published.

The rule file is the mapping worker's (``CSP_MAPPING_RULES``), read the way the worker reads it:
checked for changes on each request, a refused file leaving the last good rules in force.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse

from contracts.events import PartnerEvent
from services.common.auth import Principal
from services.common.http import authenticate
from services.common.problems import API_PROBLEMS, BODY_PROBLEMS, Problem, problem_responses
from services.common.admission.prepare import prepare
from contracts.examples import FINDING, PERFORMANCE
from services.mapping.config import MappingSettings
from services.mapping.domain.describe import explanation_document, mapping_document
from services.mapping.domain.ruleset import RuleSet, RuleSetError
from services.mapping.reloader import RuleHolder

router = APIRouter(tags=["taxonomy"], responses=problem_responses({k: v for k, v in API_PROBLEMS.items() if k != 403}))


async def any_key(request: Request) -> Principal:
    """Any valid API key: partners, commissioners and operators alike read the mapping."""
    return await authenticate(request)


Caller = Annotated[Principal, Depends(any_key)]


def rules_in_force(request: Request) -> RuleSet:
    holder = getattr(request.app.state, "mapping_rules", None)
    if holder is None:
        try:
            holder = RuleHolder(MappingSettings().mapping_rules, report=False)
        except (RuleSetError, OSError) as exc:
            raise Problem(
                503,
                "Service unavailable",
                f"the mapping rules cannot be read: {exc}",
                kind="rules-unavailable",
                headers={"Retry-After": "5"},
            ) from exc
        request.app.state.mapping_rules = holder
    holder.check()
    return holder.current


def clock_skew(request: Request) -> timedelta:
    """How far ahead intake lets an occurred_at be (CSP_CLOCK_SKEW_SECONDS, a common setting)."""
    return timedelta(seconds=request.app.state.settings.clock_skew_seconds)


@router.get(
    "/v1/taxonomy",
    summary="Stages, competencies, CDW roles, plans, destinations, themes and "
    "indicators, each with the seed lines it rests on and the rule in force",
)
async def taxonomy(request: Request, who: Caller) -> JSONResponse:
    return JSONResponse(mapping_document(rules_in_force(request)), headers={"Cache-Control": "no-store"})


@router.post(
    "/v1/mapping/explain",
    responses=problem_responses(BODY_PROBLEMS),
    summary="Where the mapping would place an event, and every rule that fired with its "
    "quotes; nothing is stored or published",
)
async def explain(
    request: Request,
    who: Caller,
    event: Annotated[
        PartnerEvent,
        Body(
            openapi_examples={
                "finding": {"summary": "A community engagement finding", "value": FINDING},
                "performance": {"summary": "A provider performance event", "value": PERFORMANCE},
            }
        ),
    ],
) -> JSONResponse:
    now = datetime.now(timezone.utc)
    prepared = prepare(event, now, clock_skew(request))
    refused = prepared.unstorable or prepared.refusal
    if refused is not None:
        # The same answer intake would give, so a partner can try an event here first.
        raise Problem(refused.status, refused.title, refused.detail, kind="validation", errors=refused.errors)
    return JSONResponse(
        explanation_document(event, rules_in_force(request), now), headers={"Cache-Control": "no-store"}
    )
