"""Who is reading: an API key in ``Authorization: Bearer`` or a signed session cookie made from one.

Both end in the same Principal; the key is looked up on every request, so a revoked key stops
working at once, cookie or not. Commissioners read their granted areas; operators read all.
"""
from __future__ import annotations

import time

from fastapi import Request

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
    key_id = session.verify(request.cookies.get(SESSION_COOKIE), request.app.state.session_secret,
                            time.time())
    if key_id is None:
        return None
    row = await request.app.state.store.principal_key(key_id)
    if row is None:
        return None
    return Principal(row["key_id"], row["organisation_id"], Role(row["role"]), frozenset(row["areas"] or ()))


def may_read_reports(p: Principal) -> bool:
    return p.role in (Role.COMMISSIONER, Role.OPERATOR)


async def reader(request: Request) -> Principal:
    """FastAPI dependency for the JSON and CSV API."""
    p = await principal_or_none(request)
    if p is None:
        raise Problem(401, "Unauthorized", "send 'Authorization: Bearer <API key>' or sign in at /login",
                      headers={"WWW-Authenticate": 'Bearer realm="commissioning-signals"'})
    if not may_read_reports(p):
        raise Problem(403, "Forbidden", "reports are for commissioners and operators")
    return p
