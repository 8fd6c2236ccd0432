"""Commissioners act from the dashboard: acknowledge, resolve and silence an alert, and subscribe
to an area's alerts.

Each action is a POST form carrying the session's form token (delegate.check_form_csrf) and is
sent to the alerts API as the signed-in commissioner's own key (delegate.act_as): the same
authorisation, validation, lifecycle rules and audit as a call to the API, because it is one.
The answer comes back as a short status message (a signed cookie read once by the alerts page)
after a redirect to the page the form was on, so reloading never posts again. The alerts page
also reads the alerts' live state from the alerts API (``live_state``), so an action shows in
its row at once, before the reporting worker has folded the change into its own tables.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from contracts import labels
from contracts.places import AREAS
from services.common.problems import Problem

from . import delegate, pages
from .access import may_read_reports, principal_or_none

log = logging.getLogger("reporting.actions")
router = APIRouter(include_in_schema=False)

FLASH_COOKIE = "csp_flash"
_FLASH_PURPOSE = b"dashboard-flash\n"
MAX_FORM_BYTES = 8192
SILENCE_HOURS = pages.SILENCE_HOURS
MAX_SILENCE_HOURS = 24 * 366
_FINGERPRINT_CHARS = frozenset("0123456789abcdef")


# -- the status message shown once after an action ----------------------------------------------


def _flash_mac(secret: bytes, payload: str) -> str:
    return hmac.new(secret, _FLASH_PURPOSE + payload.encode(), hashlib.sha256).hexdigest()[:32]


def flash_value(kind: str, text: str, secret: bytes, fingerprint: str | None = None) -> str:
    """A cookie value carrying a status message, signed so no other site can plant one."""
    body = json.dumps({"kind": kind, "text": text[:600], "fp": fingerprint}, separators=(",", ":"))
    payload = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
    return f"{payload}.{_flash_mac(secret, payload)}"


def read_flash(value: str | None, secret: bytes) -> dict[str, Any] | None:
    """The message a flash cookie carries; None when absent, malformed or not signed here."""
    if not value or len(value) > 2048 or "." not in value:
        return None
    payload, _, mac = value.rpartition(".")
    if not hmac.compare_digest(mac, _flash_mac(secret, payload)):
        return None
    try:
        body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("kind") not in ("ok", "error"):
        return None
    return body


def problem_text(status: int, body: Any) -> str:
    """An API refusal in words for the page: its detail and each field's reason."""
    if not isinstance(body, dict):
        return f"The alerts API refused the request ({status})."
    heads = {
        401: "Please sign in again",
        403: "Not allowed",
        404: "Not found",
        409: "Not possible now",
        422: "Please check the form",
        429: "Too many requests",
        503: "Try again shortly",
    }
    head = heads.get(status, str(body.get("title") or f"Refused ({status})"))
    reasons = [
        f"{e.get('field') or ''}: {e.get('reason')}".lstrip(": ")
        for e in body.get("errors") or []
        if isinstance(e, dict) and e.get("reason")
    ]
    detail = "; ".join(reasons) or str(body.get("detail") or body.get("title") or "")
    return f"{head}: {detail}." if detail else f"{head}."


# -- forms --------------------------------------------------------------------------------------


async def _form(request: Request) -> dict[str, str]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if ctype != "application/x-www-form-urlencoded" or len(body) > MAX_FORM_BYTES:
        raise Problem(400, "Bad request", "send the form as a web form of at most 8 KB")
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), max_num_fields=20).items()}


def back_to(form: dict[str, str]) -> str:
    """The alerts page with the filters the form was sent from (only the known ones)."""
    params = {k: form[k] for k in pages.WINDOW_PARAMS if form.get(k)}
    return "/dashboard/alerts" + ("?" + urlencode(params) if params else "")


def flash_redirect(request: Request, location: str, kind: str, text: str, fingerprint: str | None = None) -> Response:
    """A 303 back to a dashboard page, carrying the action's outcome in a short-lived signed cookie."""
    response = RedirectResponse(location, status_code=303)
    response.set_cookie(
        FLASH_COOKIE,
        flash_value(kind, text, request.app.state.session_secret, fingerprint),
        max_age=120,
        path="/dashboard",
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.reporting_cookie_secure,
    )
    return response


def _done(request: Request, form: dict[str, str], kind: str, text: str, fingerprint: str | None = None) -> Response:
    return flash_redirect(request, back_to(form), kind, text, fingerprint)


async def _call(
    request: Request,
    form: dict[str, str],
    method: str,
    path: str,
    body: dict,
    success: str,
    fingerprint: str | None = None,
) -> Response:
    """Send the action to the alerts API as the session's key; redirect back with its outcome."""
    try:
        answer: httpx.Response = await delegate.act_as(request, "alerts", method, path, json=body)
    except Problem as exc:
        return _done(request, form, "error", problem_text(exc.status, exc.body()), fingerprint)
    try:
        got = answer.json()
    except ValueError:
        got = None
    if answer.status_code >= 400:
        log.info("dashboard action refused", extra={"path": path, "status": answer.status_code})
        return _done(request, form, "error", problem_text(answer.status_code, got), fingerprint)
    return _done(request, form, "ok", success, fingerprint)


async def _guard(request: Request) -> dict[str, str] | Response:
    """The posted form of a signed-in reader with this session's form token, or the error page."""
    from .dashboard import error_response  # the dashboard's page frame; imported late (it imports us)

    try:
        who = await principal_or_none(request)
        if who is None:
            return RedirectResponse("/login?next=%2Fdashboard%2Falerts", status_code=303)
        if not may_read_reports(who):
            raise Problem(403, "Not for this key", "The dashboards are for commissioners and operators.")
        form = await _form(request)
        delegate.check_form_csrf(request, form.get("csrf_token"))
    except Problem as exc:
        return error_response(exc.status, exc.title, exc.detail or exc.title)
    return form


def _fingerprint(value: str) -> str:
    if not (16 <= len(value) <= 64 and set(value) <= _FINGERPRINT_CHARS):
        raise Problem(404, "Not found", "no such alert")
    return value


def _alert_words(form: dict[str, str]) -> str:
    title = form.get("title") or "The alert"
    return title[:200]


# -- routes -------------------------------------------------------------------------------------


async def _with_note(request: Request, fingerprint: str, action: str, done: str, note_recorded: str = "") -> Response:
    """Acknowledge or resolve: the alerts API's ``action`` on the alert with the form's note, if any."""
    form = await _guard(request)
    if isinstance(form, Response):
        return form
    fp = _fingerprint(fingerprint)
    note = form.get("note", "").strip() or None
    return await _call(
        request,
        form,
        "POST",
        f"/v1/alerts/{fp}/{action}",
        {"note": note},
        f"{done}: {_alert_words(form)}." + (note_recorded if note else ""),
        fp,
    )


@router.post("/dashboard/alerts/{fingerprint}/acknowledge")
async def acknowledge(request: Request, fingerprint: str) -> Response:
    return await _with_note(request, fingerprint, "acknowledge", "Acknowledged", " Note recorded.")


@router.post("/dashboard/alerts/{fingerprint}/resolve")
async def resolve(request: Request, fingerprint: str) -> Response:
    return await _with_note(request, fingerprint, "resolve", "Resolved")


def silence_hours(value: str | None) -> int:
    """The silence's length in whole hours, 1 to a year; Problem(422) naming ``hours`` otherwise."""
    text = (value or "").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 6):
        raise Problem(
            422,
            "Invalid form",
            "hours: choose how long the silence lasts",
            errors=[{"field": "hours", "reason": "choose how long the silence lasts"}],
        )
    hours = int(text)
    if not 1 <= hours <= MAX_SILENCE_HOURS:
        raise Problem(
            422,
            "Invalid form",
            f"hours: a silence lasts 1 to {MAX_SILENCE_HOURS} hours",
            errors=[{"field": "hours", "reason": f"a silence lasts 1 to {MAX_SILENCE_HOURS} hours"}],
        )
    return hours


@router.post("/dashboard/alerts/{fingerprint}/silence")
async def silence(request: Request, fingerprint: str) -> Response:
    form = await _guard(request)
    if isinstance(form, Response):
        return form
    fp = _fingerprint(fingerprint)
    try:
        hours = silence_hours(form.get("hours"))
    except Problem as exc:
        return _done(request, form, "error", problem_text(exc.status, exc.body()), fp)
    ends = datetime.now(timezone.utc) + timedelta(hours=hours)
    body = {
        "fingerprint": fp,
        "area": form.get("alert_area") or None,
        "reason": form.get("reason", "").strip(),
        "ends_at": ends.isoformat(),
    }
    length = SILENCE_HOURS.get(hours, f"{hours} hours")
    return await _call(
        request,
        form,
        "POST",
        "/v1/silences",
        body,
        f"Silenced for {length} (until {ends:%d %b %Y %H:%M} UTC): {_alert_words(form)}. "
        "The alert keeps its state; only its notifications stop.",
        fp,
    )


@router.post("/dashboard/subscriptions")
async def subscribe(request: Request) -> Response:
    form = await _guard(request)
    if isinstance(form, Response):
        return form
    area = form.get("subscribe_area", "")
    body = {
        "areas": [area] if area else [],
        "channel": form.get("channel", ""),
        "target": form.get("target", "").strip(),
        "min_severity": form.get("min_severity") or "amber",
    }
    where = labels.label("area", area) if area in AREAS else area
    return await _call(
        request,
        form,
        "POST",
        "/v1/subscriptions",
        body,
        f"Subscribed: {labels.label('alert_severity', body['min_severity']).lower()} and "
        f"worse alerts in {where} go to {body['target']} by {body['channel']}.",
    )


# -- the alerts' live state, for the alerts page ------------------------------------------------


async def live_state(request: Request, areas: list[str]) -> dict[str, dict[str, Any]]:
    """Per fingerprint, the state the alerts API holds now (status, silenced, who acknowledged),
    with the active silence naming it, read as the session's key; empty when the session cannot
    act (a Bearer caller, or a session from before keys were sealed) or the API does not answer."""
    if not areas or request.headers.get("authorization"):
        return {}
    state: dict[str, dict[str, Any]] = {}
    try:
        # One call: the page's area, or every area the key is granted (the most recently changed first).
        where = f"area={areas[0]}&" if len(areas) == 1 else ""
        answer = await delegate.act_as(request, "alerts", "GET", f"/v1/alerts?{where}limit=200&sort=-updated_at")
        if answer.status_code != 200:
            return {}
        for item in answer.json().get("items", []):
            if item.get("area") in areas:
                state[item["fingerprint"]] = {
                    "status": item.get("status"),
                    "silenced": item.get("silenced"),
                    "acknowledged_by": item.get("acknowledged_by"),
                }
        answer = await delegate.act_as(request, "alerts", "GET", "/v1/silences")
        if answer.status_code == 200:
            for s in answer.json().get("items", []):
                fp = s.get("fingerprint")
                if fp in state:
                    state[fp]["silenced"] = True
                    state[fp]["silence"] = {
                        "ends_at": s.get("ends_at"),
                        "reason": s.get("reason"),
                        "created_by": s.get("created_by"),
                    }
    except Problem:
        return {}
    except (ValueError, KeyError, AttributeError, TypeError):
        log.warning("the alerts API answered in a shape the alerts page cannot read")
        return {}
    return state
