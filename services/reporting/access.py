"""Who is reading: an API key in ``Authorization: Bearer`` or a session cookie made from one.

Both end in the same Principal. A cookie names a server-side session (migration 007); it reads
only while that session is live: not signed out, not expired, and its key not revoked, all
checked on every request. Commissioners read their granted areas; operators read all.
"""

from __future__ import annotations

from fastapi import Request, Response

from services.common.auth import Principal, Role
from services.common.http import authenticate
from services.common.problems import Problem

from .domain import session

SESSION_COOKIE = "csp_session"
CSRF_COOKIE = "csp_login_csrf"


async def principal_or_none(request: Request) -> Principal | None:
    """The caller, or None when it sent neither a key nor a valid session. A wrong key is a 401."""
    if request.headers.get("authorization"):
        return await authenticate(request)
    session_id = session.verify(request.cookies.get(SESSION_COOKIE), request.app.state.session_secret)
    if session_id is None:
        return None
    row = await request.app.state.store.session_principal(session.session_digest(session_id))
    if row is None:
        return None
    return Principal(row["key_id"], row["organisation_id"], Role(row["role"]), frozenset(row["areas"] or ()))


def may_read_reports(p: Principal) -> bool:
    return p.role in (Role.COMMISSIONER, Role.OPERATOR)


async def reader(request: Request) -> Principal:
    """FastAPI dependency for the JSON and CSV API."""
    p = await principal_or_none(request)
    if p is None:
        raise Problem(
            401,
            "Unauthorized",
            "send 'Authorization: Bearer <API key>' or sign in at /login",
            headers={"WWW-Authenticate": 'Bearer realm="commissioning-signals"'},
        )
    if not may_read_reports(p):
        raise Problem(403, "Forbidden", "reports are for commissioners and operators")
    return p


def set_login_csrf(request: Request, response: Response, token: str) -> Response:
    """The sign-in form's CSRF cookie (the dashboard's and the portal's forms both post to /login)."""
    response.set_cookie(
        CSRF_COOKIE,
        token,
        max_age=session.CSRF_SECONDS,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.reporting_cookie_secure,
    )
    return response
