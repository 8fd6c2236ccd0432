"""The public "you said, we did" pages: no sign-in, no personal data.

The alerts service owns recommendations and peer review returns; this process reads its public
JSON (``GET /v1/public/areas/{area}/you-said-we-did`` on ``CSP_ALERTS_API_URL``) and renders it
with the dashboard's templates and stylesheet. What the JSON holds, and so what the page can
show, is decided by the alerts service (services.alerts.domain.recommendations.public_view):
community, service, what was recommended, the outcome, the action and what changed, dates.
Each client address is held to the read limit a key has; an area's answer is kept for a few
seconds so that a busy page does not become a busy alerts API.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from contracts.peer_review import PANEL_WORDS
from contracts.places import AREAS
from contracts.taxonomy import Stage

from . import pages
from .dashboard import html

router = APIRouter(include_in_schema=False)
#: How long an area's answer is reused: a local default, short enough that an answer recorded a
#: moment ago shows on the next visit.
CACHE_SECONDS = 5.0
_cache: dict[tuple[str, int], tuple[float, dict[str, Any]]] = {}


def _page(template: str, status: int = 200, **context: object) -> HTMLResponse:
    return html(pages.render(template, **context), status)


def _not_found(detail: str) -> HTMLResponse:
    return _page("public_not_found.html", 404, title="Not found", detail=detail)


def _over_limit(request: Request) -> HTMLResponse | None:
    client = request.client.host if request.client else "unknown"
    wait = request.app.state.read_limits.take(f"address:{client}", time.monotonic())
    if wait <= 0:
        return None
    response = _page(
        "public_not_found.html",
        429,
        title="Too many requests",
        detail="This address has asked too often; try again in a moment.",
    )
    response.headers["Retry-After"] = str(max(1, int(wait + 0.999)))
    return response


async def summary_of(request: Request, area: str, offset: int) -> dict[str, Any] | None:
    """The alerts API's public summary of ``area`` (None: no such area there)."""
    now = time.monotonic()
    kept = _cache.get((area, offset))
    if kept is not None and now - kept[0] < CACHE_SECONDS:
        return kept[1]
    settings = request.app.state.settings
    async with httpx.AsyncClient(base_url=settings.alerts_api_url, timeout=settings.delegate_timeout_seconds) as client:
        answer = await client.get(f"/v1/public/areas/{area}/you-said-we-did", params={"offset": offset})
    if answer.status_code == 404:
        return None
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    if len(_cache) > 1000:
        _cache.clear()
    _cache[(area, offset)] = (now, body)
    return body


@router.get("/public/areas")
async def public_areas(request: Request) -> HTMLResponse:
    return _over_limit(request) or _page("public_areas.html", title="You said, we did: the areas", areas=AREAS)


@router.get("/public/areas/{area}/you-said-we-did")
async def you_said_we_did(
    request: Request, area: Annotated[str, Path(max_length=10)], offset: Annotated[int, Query(ge=0, le=100_000)] = 0
) -> HTMLResponse:
    refused = _over_limit(request)
    if refused is not None:
        return refused
    if area not in AREAS:
        return _not_found("There is no area with that code.")
    try:
        view = await summary_of(request, area, offset)
    except (httpx.HTTPError, ValueError):
        return _page(
            "public_not_found.html",
            503,
            title="Not available just now",
            detail="The recommendations could not be read just now; try again in a minute.",
        )
    if view is None:
        return _not_found("There is no area with that code.")
    return _page(
        "public_you_said.html",
        title=f"You said, we did: {view['area_name']}",
        view=view,
        stage_titles=STAGE_TITLES,
        panel_words=PANEL,
    )


STAGE_TITLES = {int(s): s.title for s in Stage}
PANEL = {k.value: words for k, words in PANEL_WORDS.items()}
