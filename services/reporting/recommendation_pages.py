"""Commissioners answer community recommendations from the dashboard.

``/dashboard/recommendations?area=X`` lists the area's recommendations as the alerts API holds
them, each awaiting one with a form for the response (accepted, partly accepted, not accepted
with the reason; an action, an owner and a due date) and each accepted one with a form for
progress (in progress, completed with what changed). Every read and every answer goes to the
alerts API as the signed-in commissioner's own key (delegate.act_as), so the API's authorisation
(a commissioner of the area), validation, privacy guard, audit and idempotency apply: the form
carries a response id chosen when the page was drawn, so sending it twice records one answer.
The outcome comes back as the dashboard's one-time status message after a redirect.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from contracts.places import AREAS
from services.common.problems import Problem

from . import delegate, pages
from .access import may_read_reports, principal_or_none
from .actions import FLASH_COOKIE, flash_redirect, problem_text, read_flash
from .dashboard import error_response, html

log = logging.getLogger("reporting.recommendations")
router = APIRouter(include_in_schema=False)
MAX_FORM_BYTES = 16_384
#: The fields of an answer a form may send; anything else in the form is not passed on.
ANSWER_FIELDS = ("response_id", "outcome", "reason", "action", "owner", "due_date", "progress", "note")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def answer_body(form: dict[str, str]) -> dict[str, str]:
    """The answer the form describes, as the alerts API takes it: the answer's fields that were
    filled in, trimmed. Pure."""
    return {k: v.strip() for k in ANSWER_FIELDS if (v := form.get(k, "")).strip()}


def _page_path(area: str) -> str:
    return "/dashboard/recommendations?" + urlencode({"area": area})


async def _who(request: Request, area: str | None):
    who = await principal_or_none(request)
    if who is None:
        return None
    if not may_read_reports(who):
        raise Problem(403, "Not for this key", "The dashboards are for commissioners and operators.")
    if area is not None and (area not in AREAS or not who.may_read_area(area)):
        raise Problem(403, "Not for this key", "This key is not granted that area.")
    return who


@router.get("/dashboard/recommendations")
async def recommendations_page(request: Request) -> Response:
    area = request.query_params.get("area")
    try:
        who = await _who(request, area)
        if who is None:
            return RedirectResponse(
                "/login?" + urlencode({"next": str(request.url.path) + "?" + request.url.query}), status_code=303
            )
        areas = [a for a in AREAS if who.may_read_area(a)]
        area = area or areas[0]
        answer = await delegate.act_as(request, "alerts", "GET", f"/v1/areas/{area}/recommendations?limit=100")
    except Problem as exc:
        return error_response(exc.status, exc.title, exc.detail or exc.title)
    if answer.status_code != 200:
        return error_response(answer.status_code, "Not available", problem_text(answer.status_code, _json(answer)))
    items: list[dict[str, Any]] = answer.json()["items"]
    flash = read_flash(request.cookies.get(FLASH_COOKIE), request.app.state.session_secret)
    body = pages.render(
        "recommendations.html",
        title=f"Recommendations: {AREAS[area].name}",
        area=area,
        area_name=AREAS[area].name,
        areas=[(a, AREAS[a].name) for a in areas],
        items=items,
        total=answer.json()["total"],
        flash=flash,
        who=f"{who.organisation_id} ({who.role.value})",
        csrf_token=delegate.form_csrf_token(request),
        response_ids={i["id"]: str(uuid.uuid4()) for i in items},
    )
    response = html(body)
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/dashboard")
    return response


def _json(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return None


def _done(request: Request, area: str, kind: str, text: str) -> Response:
    return flash_redirect(request, _page_path(area), kind, text)


@router.post("/dashboard/recommendations/{area}/{rec_id}/responses")
async def answer_recommendation(request: Request, area: str, rec_id: str) -> Response:
    try:
        who = await _who(request, area)
        if who is None:
            return RedirectResponse("/login?" + urlencode({"next": _page_path(area)}), status_code=303)
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        raw = await request.body()
        if ctype != "application/x-www-form-urlencoded" or len(raw) > MAX_FORM_BYTES:
            raise Problem(400, "Bad request", "send the form as a web form of at most 16 KB")
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace"), max_num_fields=20).items()}
        delegate.check_form_csrf(request, form.get("csrf_token"))
        if not _UUID.match(rec_id):
            raise Problem(404, "Not found", "no such recommendation")
        answer = await delegate.act_as(
            request, "alerts", "POST", f"/v1/areas/{area}/recommendations/{rec_id}/responses", json=answer_body(form)
        )
    except Problem as exc:
        if exc.status in (400, 403, 404) or area not in AREAS:
            return error_response(exc.status, exc.title, exc.detail or exc.title)
        return _done(request, area, "error", problem_text(exc.status, exc.body()))
    if answer.status_code >= 400:
        log.info("recommendation answer refused", extra={"area": area, "status": answer.status_code})
        return _done(request, area, "error", problem_text(answer.status_code, _json(answer)))
    status = str(answer.json().get("status", "")).replace("_", " ")
    return _done(request, area, "ok", f"Answer recorded: the recommendation is now {status}.")
