"""Dashboard session cookies and the login form's CSRF token (stdlib HMAC-SHA256, no I/O).

A session is a row on the server (``reporting_sessions``, migration 007) named by a random id;
the database keeps only the id's SHA-256, and the cookie carries the id signed with the server's
secret: ``v2.<id>.<signature>``. Signing lets a forged or mangled cookie be refused before the
database is asked; the row is what makes the session live, so signing out or revoking the key
ends it server-side, and a copy of the cookie taken earlier reads nothing afterwards.

The CSRF token is ``<nonce>.<expiry>.<signature>``: a random nonce and a Unix expiry signed with
the same secret under another purpose label, so an equal cookie and form pair made up by anyone
but the server is refused, and a session cookie can never pass for a CSRF token or the reverse.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

VERSION = "v2"
SESSION_SECONDS = 8 * 3600
CSRF_SECONDS = 3600

_SESSION_PURPOSE = "reporting-session"
_CSRF_PURPOSE = "reporting-login-csrf"
#: What :func:`new_session_id` and :func:`new_csrf_token` make: 32 random bytes, base64url.
_ID = re.compile(r"[A-Za-z0-9_-]{43}")
_MAX_TOKEN = 256


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _mac(secret: bytes, purpose: str, message: str) -> str:
    return _b64(hmac.new(secret, f"{purpose}\n{message}".encode(), hashlib.sha256).digest())


def _same(given: str, expected: str) -> bool:
    # Bytes, not str: compare_digest refuses non-ASCII strings, and a cookie may hold anything.
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape"))


def _need(secret: bytes) -> None:
    if not secret:
        raise ValueError("a session secret is required")


# -- sessions --------------------------------------------------------------------------------------


def new_session_id() -> str:
    """A fresh session id: 256 random bits, never stored as such (see :func:`session_digest`)."""
    return secrets.token_urlsafe(32)


def session_digest(session_id: str) -> bytes:
    """What the database keeps of a session id: a leaked table names no usable cookie."""
    return hashlib.sha256(session_id.encode()).digest()


def sign(session_id: str, secret: bytes) -> str:
    """The cookie value carrying ``session_id``."""
    _need(secret)
    if not _ID.fullmatch(session_id):
        raise ValueError("not a session id made by new_session_id()")
    return f"{VERSION}.{session_id}.{_mac(secret, _SESSION_PURPOSE, VERSION + '.' + session_id)}"


def verify(token: str | None, secret: bytes) -> str | None:
    """The session id a cookie carries when the server signed it; None for anything else.

    Whether that session is still live (not signed out, not expired, its key not revoked) is the
    database's answer, asked next by the caller.
    """
    if not token or not secret or len(token) > _MAX_TOKEN:
        return None
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION or not _ID.fullmatch(parts[1]):
        return None
    if not _same(parts[2], _mac(secret, _SESSION_PURPOSE, parts[0] + "." + parts[1])):
        return None
    return parts[1]


# -- the login form's CSRF token -------------------------------------------------------------------


def new_csrf_token(secret: bytes, now: float, ttl: int = CSRF_SECONDS) -> str:
    """A token only this server could have made, good until ``now + ttl``."""
    _need(secret)
    body = f"{secrets.token_urlsafe(32)}.{int(now) + ttl}"
    return f"{body}.{_mac(secret, _CSRF_PURPOSE, body)}"


def csrf_token_ok(token: str | None, secret: bytes, now: float) -> bool:
    """The token was signed by this server and has not expired."""
    if not token or not secret or len(token) > _MAX_TOKEN:
        return False
    parts = token.split(".")
    if len(parts) != 3 or not _ID.fullmatch(parts[0]) or not parts[1].isascii() or not parts[1].isdigit():
        return False
    if not _same(parts[2], _mac(secret, _CSRF_PURPOSE, parts[0] + "." + parts[1])):
        return False
    return int(parts[1]) > now


def csrf_ok(cookie_token: str | None, form_token: str | None, secret: bytes, now: float) -> bool:
    """The form carries the token the login page set in its cookie, and the server made it.

    Equal values alone are not enough: anyone who can plant a cookie could make up a pair.
    """
    return (
        bool(cookie_token)
        and bool(form_token)
        and _same(form_token or "", cookie_token or "")
        and csrf_token_ok(cookie_token, secret, now)
    )


def safe_next(target: str | None, default: str = "/dashboard") -> str:
    """Only a path inside the dashboard or the partner portal: never another host (no open redirect)."""
    if (
        not target
        or not target.startswith(("/dashboard", "/portal"))
        or "//" in target
        or "\\" in target
        or any(ord(ch) < 0x20 for ch in target)
    ):
        return default
    return target
