"""Calls to intake and the alerts API as the signed-in browser session's own API key.

The portal's forms and uploads and the dashboard's actions do not write anything themselves: they
call the platform's HTTP APIs exactly as a client with that key would, so the same authorisation,
validation, privacy guard, idempotency, audit and durability apply (a 202 from intake still
means the event is in Kafka).

The key is typed once, at sign-in. It is kept with the server-side session row (migration 011)
sealed with Fernet (AES-128-CBC and HMAC-SHA256, from ``cryptography``) under a key derived from
the service's session secret by HKDF-SHA256 with a purpose label of its own, so the secret that
signs cookies never encrypts anything directly and the table alone opens nothing. The sealed key
ends with its session: signing out or revoking the key clears it (migration 011's trigger), and a
token older than the session's lifetime is refused when opened.

Forms posted from a session carry a token bound to that session (:func:`form_csrf_token`): an
HMAC of the session id under another purpose label, so no other session's page, and no page the
server did not render, can post for it. The session cookie is also SameSite=Strict.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any, Literal

import httpx
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import FastAPI, Request

from services.common.auth import Principal
from services.common.problems import Problem

from .access import SESSION_COOKIE
from .adapters.portal_store import PortalStore
from .domain import session

Service = Literal["intake", "alerts"]

_SEAL_PURPOSE = b"reporting-session-sealed-api-key"
_FORM_CSRF_PURPOSE = "reporting-form-csrf"
_MAX_TOKEN = 256


# -- pure: sealing and form tokens -------------------------------------------------------------


def sealer(secret: bytes) -> Fernet:
    """The Fernet that seals session keys, derived from the session secret (HKDF-SHA256)."""
    if not secret:
        raise ValueError("a session secret is required")
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SEAL_PURPOSE).derive(secret)
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(api_key: str, secret: bytes) -> bytes:
    return sealer(secret).encrypt(api_key.encode())


def unseal(token: bytes, secret: bytes, max_age_seconds: int) -> str | None:
    """The key sealed in ``token``; None when it was not sealed with this secret, was changed, or
    is older than ``max_age_seconds``."""
    try:
        return sealer(secret).decrypt(token, ttl=max_age_seconds).decode()
    except (InvalidToken, UnicodeDecodeError):
        return None


def form_token_for(session_id: str, secret: bytes) -> str:
    """The form token of one session: only this server can make it, and only for that session."""
    mac = hmac.new(secret, f"{_FORM_CSRF_PURPOSE}\n{session_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def form_token_ok(session_id: str | None, token: str | None, secret: bytes) -> bool:
    if not session_id or not token or not secret or len(token) > _MAX_TOKEN:
        return False
    return hmac.compare_digest(token.encode("utf-8", "surrogateescape"), form_token_for(session_id, secret).encode())


# -- adapters ----------------------------------------------------------------------------------


def _session_id(request: Request) -> str | None:
    return session.verify(request.cookies.get(SESSION_COOKIE), request.app.state.session_secret)


def form_csrf_token(request: Request) -> str:
    """The token to embed in a POST form for the current session ("" when not signed in)."""
    session_id = _session_id(request)
    return form_token_for(session_id, request.app.state.session_secret) if session_id else ""


def check_form_csrf(request: Request, token: str | None) -> None:
    """Raise Problem(403) unless ``token`` is the current session's form token."""
    if not form_token_ok(_session_id(request), token, request.app.state.session_secret):
        raise Problem(
            403,
            "Forbidden",
            "the form did not come from this signed-in session; open the page again and resend it",
            kind="form-csrf",
            errors=[
                {
                    "field": "csrf_token",
                    "pointer": "#/csrf_token",
                    "reason": "missing, or not this session's form token",
                }
            ],
        )


async def open_session(request: Request, principal: Principal, api_key: str) -> str:
    """Start a server-side session for ``principal`` with its key sealed; the cookie value."""
    settings = request.app.state.settings
    secret = request.app.state.session_secret
    session_id = session.new_session_id()
    digest = session.session_digest(session_id)
    await request.app.state.store.start_session(digest, principal.key_id, settings.reporting_session_seconds)
    await PortalStore(request.app.state.pool).seal_session_key(digest, seal(api_key, secret))
    return session.sign(session_id, secret)


async def session_key(request: Request) -> str:
    """The signed-in session's own API key, unsealed; Problem(401) when there is none."""
    session_id = _session_id(request)
    sealed = None
    if session_id is not None:
        sealed = await PortalStore(request.app.state.pool).sealed_key(session.session_digest(session_id))
    key = (
        None
        if sealed is None
        else unseal(sealed, request.app.state.session_secret, request.app.state.settings.reporting_session_seconds)
    )
    if key is None:
        raise Problem(401, "Unauthorized", "this session cannot act for its key; sign in again", kind="sign-in-again")
    return key


def _client(app: FastAPI) -> httpx.AsyncClient:
    client = getattr(app.state, "delegate_client", None)
    if client is None:
        client = httpx.AsyncClient(
            timeout=app.state.settings.delegate_timeout_seconds, follow_redirects=False, trust_env=False
        )
        app.state.delegate_client = client
    return client


async def close(app: FastAPI) -> None:
    """Close the connection pool of the delegated calls (at shutdown)."""
    client = getattr(app.state, "delegate_client", None)
    if client is not None:
        app.state.delegate_client = None
        await client.aclose()


async def act_as(
    request: Request,
    service: Service,
    method: str,
    path: str,
    *,
    json: Any = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Call intake or the alerts API as the signed-in session's own key; the answer as it came.

    ``path`` is the API's own path (``/v1/findings``). Problem(401) when the session holds no
    sealed key (sign in again); Problem(503) when the service cannot be reached.
    """
    if not path.startswith("/") or path.startswith("//"):
        raise ValueError("path is a path on the service, starting with one '/'")
    key = await session_key(request)
    settings = request.app.state.settings
    base = settings.intake_url if service == "intake" else settings.alerts_api_url
    sent = {**(headers or {}), "Authorization": f"Bearer {key}"}
    request_id = request.headers.get("x-request-id")
    if request_id and "X-Request-ID" not in sent:
        sent["X-Request-ID"] = request_id
    try:
        return await _client(request.app).request(
            method, base.rstrip("/") + path, json=json, content=content, headers=sent
        )
    except httpx.TransportError as exc:
        name = "intake" if service == "intake" else "the alerts API"
        raise Problem(
            503,
            "Service unavailable",
            f"{name} did not answer ({type(exc).__name__}); please try again shortly",
            headers={"Retry-After": "5"},
        ) from exc
