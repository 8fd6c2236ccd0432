"""HTML dashboard routes, sign-in and sign-out.

Pages are GET only and read the same views as the JSON API. Sign-in is the one form: a POST of
the organisation's API key with a CSRF token the server signed, in both the form and a cookie; it
answers with an HttpOnly, SameSite=Strict cookie naming a server-side session that expires.
Signing out ends that session on the server, so an earlier copy of the cookie reads nothing.
A Bearer header works too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from datetime import date
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from contracts.places import AREAS, Region
from contracts.vocabulary import Community, Theme
from services.common.auth import Role
from services.common.http import auth_failure_wait, note_auth_failure
from services.common.problems import Problem

from . import actions, delegate, pages, views
from .access import CSRF_COOKIE, SESSION_COOKIE, may_read_reports, principal_or_none, set_login_csrf
from .adapters.store import ReportingStore
from .routes import build_query
from .domain import session, windows

router = APIRouter(include_in_schema=False)

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
MAX_FORM_BYTES = 4096


def html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def error_response(status: int, title: str, detail: str) -> HTMLResponse:
    return html(pages.error_page(title, detail), status)


def _params(request: Request, extra: tuple[str, ...] = ()) -> dict[str, str]:
    keep = pages.WINDOW_PARAMS + extra
    return {k: v for k, v in request.query_params.items() if k in keep and v}


def _invalid(name: str, reason: str) -> Problem:
    return Problem(
        422, "Invalid query", f"{name}: {reason}", errors=[{"field": name, "pointer": f"#/{name}", "reason": reason}]
    )


def _parse(params: dict[str, str]) -> tuple[str | None, Region | None, int | None, date | None, date | None]:
    """The page's filters, or a 422 naming the parameter; the window's range is checked as for
    the JSON API (domain.windows, through build_query)."""
    area = params.get("area") or None
    if area is not None and area not in AREAS:
        raise _invalid("area", f"unknown area code '{area}'")
    try:
        region = Region(params["region"]) if params.get("region") else None
    except ValueError as exc:
        raise _invalid("region", f"unknown region '{params['region']}'") from exc
    days = _int(params.get("days"), 1, windows.MAX_DAYS, "days")
    dates = []
    for name in ("from", "to"):
        try:
            dates.append(date.fromisoformat(params[name]) if params.get(name) else None)
        except ValueError as exc:
            raise _invalid(name, "a date is written YYYY-MM-DD") from exc
    start, end = dates
    if start or end:
        days = None
    return area, region, days, start, end


def _enum(cls, value: str | None):
    if not value:
        return None
    name = cls.__name__.lower()
    try:
        return cls(value).value
    except ValueError as exc:
        raise _invalid(name, f"unknown {name} '{value}'") from exc


def _int(value: str | None, lo: int, hi: int, name: str) -> int | None:
    if not value:
        return None
    try:
        # ASCII digits only (int() also reads other scripts' digits and underscores).
        n = int(value) if value.isascii() and value.lstrip("-").isdigit() else None
    except ValueError:  # longer than int() reads: far outside any range
        raise _invalid(name, f"is outside {lo}..{hi}") from None
    if n is None:
        raise _invalid(name, "is not a whole number")
    if not lo <= n <= hi:
        raise _invalid(name, f"is outside {lo}..{hi}")
    return n


#: A page's renderer: the store's views for the query, drawn in the page's frame.
Render = Callable[[Request, views.Query, pages.Frame], Awaitable[str]]


async def _page(request: Request, active: str, title: str, render: Render, extra: tuple[str, ...] = ()) -> Response:
    try:
        who = await principal_or_none(request)
    except Problem as exc:
        return error_response(exc.status, exc.title, exc.detail or exc.title)
    if who is None:
        target = request.url.path + (("?" + request.url.query) if request.url.query else "")
        return RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303, headers=SECURITY_HEADERS)
    if not may_read_reports(who):
        return error_response(403, "Not for this key", "The dashboards are for commissioners and operators.")
    params = _params(request, extra)
    frame = pages.Frame(
        title,
        active,
        request.url.path,
        f"{who.organisation_id} ({who.role.value})",
        [a for a in AREAS if who.may_read_area(a)],
        params,
    )
    try:
        area, region, days, start, end = _parse(params)
        q = build_query(who, area, region, days, start, end)
        return html(await render(request, q, frame))
    except Problem as exc:
        return error_response(
            exc.status,
            exc.title,
            "; ".join(f"{x['field']}: {x['reason']}" for x in exc.errors or []) or exc.detail or exc.title,
        )


@router.get("/dashboard/assets/dashboard.css")
async def stylesheet() -> Response:
    return Response(
        pages.CSS,
        media_type="text/css; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/dashboard")
async def overview_page(request: Request) -> Response:
    async def render(request: Request, q: views.Query, frame: pages.Frame) -> str:
        s = request.app.state.store
        view, _ = await views.overview(s, q)
        comp, _ = await views.completeness(s, q)
        return pages.overview_page(view, comp, frame)

    return await _page(request, "overview", "Overview", render)


def _view_page(
    view_fn: Callable[[ReportingStore, views.Query], Awaitable[tuple[dict, views.Table]]],
    page_fn: Callable[[dict, pages.Frame], str],
) -> Render:
    """The renderer of a page that shows one view: read the view, draw the page."""

    async def render(request: Request, q: views.Query, frame: pages.Frame) -> str:
        view, _ = await view_fn(request.app.state.store, q)
        return page_fn(view, frame)

    return render


@router.get("/dashboard/heatmap")
async def heatmap_page(request: Request) -> Response:
    return await _page(
        request,
        "heatmap",
        "Where the evidence sits in the commissioning cycle",
        _view_page(views.heatmap, pages.heatmap_page),
    )


@router.get("/dashboard/unmet-needs")
async def unmet_page(request: Request) -> Response:
    return await _page(
        request, "unmet", "Unmet needs by community and theme", _view_page(views.unmet_needs, pages.unmet_page)
    )


@router.get("/dashboard/performance")
async def performance_page(request: Request) -> Response:
    return await _page(
        request, "performance", "Provider performance", _view_page(views.performance, pages.performance_page)
    )


@router.get("/dashboard/funding")
async def funding_page(request: Request) -> Response:
    return await _page(request, "funding", "Voluntary provider funding", _view_page(views.funding, pages.funding_page))


@router.get("/dashboard/alerts")
async def alerts_page(request: Request) -> Response:
    """The open alerts with the forms to act on them (services/reporting/actions.py), the state
    the alerts API holds now, and the outcome of the last action, shown once."""
    flash = actions.read_flash(request.cookies.get(actions.FLASH_COOKIE), request.app.state.session_secret)

    async def render(request: Request, q: views.Query, frame: pages.Frame) -> str:
        view, _ = await views.alerts(request.app.state.store, q)
        live = await actions.live_state(request, q.areas)
        return pages.alerts_page(view, frame, live=live, flash=flash, csrf_token=delegate.form_csrf_token(request))

    response = await _page(request, "alerts", "Open alerts", render)
    if request.cookies.get(actions.FLASH_COOKIE):
        response.delete_cookie(actions.FLASH_COOKIE, path="/dashboard", httponly=True, samesite="strict")
    return response


@router.get("/dashboard/findings")
async def findings_page(request: Request) -> Response:
    extra = ("stage", "competency", "community", "theme")

    async def render(request: Request, q: views.Query, frame: pages.Frame) -> str:
        params = frame.params
        view, _ = await views.findings(
            request.app.state.store,
            q,
            stage=_int(params.get("stage"), 1, 8, "stage"),
            competency=_int(params.get("competency"), 1, 11, "competency"),
            community=_enum(Community, params.get("community")),
            theme=_enum(Theme, params.get("theme")),
        )
        return pages.findings_page(view, frame)

    return await _page(request, "findings", "Findings behind the figures", render, extra)


# ---------------------------------------------------------------------------------------------
# Sign-in
# ---------------------------------------------------------------------------------------------


def _login_form(request: Request, next_path: str, error: str | None = None, status: int = 200) -> Response:
    token = session.new_csrf_token(request.app.state.session_secret, time.time())
    response = html(pages.login_page(token, next_path, error), status)
    return set_login_csrf(request, response, token)


@router.get("/login")
async def login_form(request: Request) -> Response:
    return _login_form(request, session.safe_next(request.query_params.get("next")))


@router.post("/login")
async def login(request: Request) -> Response:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if ctype != "application/x-www-form-urlencoded" or len(body) > MAX_FORM_BYTES:
        return _login_form(request, "/dashboard", "Send the sign-in form as a web form.", 400)
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), max_num_fields=10).items()}
    next_path = session.safe_next(form.get("next"))
    secret = request.app.state.session_secret
    if not session.csrf_ok(request.cookies.get(CSRF_COOKIE), form.get("csrf_token"), secret, time.time()):
        return _login_form(request, next_path, "The sign-in form expired. Please try again.", 400)
    # Failed sign-ins count against the address as failed API authentications do (a 429 past
    # the limit, the key not even looked up).
    now = time.monotonic()
    wait = auth_failure_wait(request, now)
    if wait <= 0:
        principal = await request.app.state.keys.authenticate(form.get("api_key", "").strip())
        if principal is None:
            wait = note_auth_failure(request, now)
            if wait <= 0:
                return _login_form(request, next_path, "That key is not known or has been revoked.", 401)
    if wait > 0:
        response = _login_form(
            request,
            next_path,
            f"Too many failed sign-ins from this address. Please try again in {math.ceil(wait)} seconds.",
            429,
        )
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response
    if principal.role is Role.PARTNER:
        # Partners sign in to their portal (services/reporting/portal.py), not the dashboards.
        next_path = next_path if next_path.startswith("/portal") else "/portal"
    elif not may_read_reports(principal):
        return _login_form(request, next_path, "The dashboards are for commissioners and operators.", 403)
    settings = request.app.state.settings
    # The key is kept sealed with the session so the dashboard's actions go through the APIs as it.
    cookie = await delegate.open_session(request, principal, form.get("api_key", "").strip())
    response = RedirectResponse(next_path, status_code=303, headers=SECURITY_HEADERS)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=settings.reporting_session_seconds,
        path="/",
        httponly=True,
        samesite="strict",
        secure=settings.reporting_cookie_secure,
    )
    response.delete_cookie(CSRF_COOKIE, path="/login")
    return response


async def sign_out(request: Request, to: str) -> Response:
    """End the session server-side (every copy of the cookie stops reading), clear the cookie and
    go to ``to``. A GET may do it: the SameSite=Strict cookie is not sent from another site's link."""
    session_id = session.verify(request.cookies.get(SESSION_COOKIE), request.app.state.session_secret)
    if session_id is not None:
        await request.app.state.store.end_session(session.session_digest(session_id))
    response = RedirectResponse(to, status_code=303, headers=SECURITY_HEADERS)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/logout")
async def logout(request: Request) -> Response:
    return await sign_out(request, "/login")
