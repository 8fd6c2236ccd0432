"""Signed dashboard sessions and the login form's CSRF token (stdlib HMAC-SHA256, no I/O).

A session names the API key it was made from (its public key id) and when it expires; the
key itself is looked up again on every request, so revoking the key ends its sessions. The
cookie's value is ``v1.<payload>.<signature>``, both parts base64url without padding.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets

VERSION = "v1"
SESSION_SECONDS = 8 * 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, message: str) -> str:
    return _b64(hmac.new(secret, message.encode(), hashlib.sha256).digest())


def sign(key_id: str, secret: bytes, now: float, ttl: int = SESSION_SECONDS) -> str:
    if not secret:
        raise ValueError("a session secret is required")
    payload = _b64(json.dumps({"kid": key_id, "exp": int(now) + ttl, "n": secrets.token_hex(4)},
                              separators=(",", ":")).encode())
    return f"{VERSION}.{payload}.{_mac(secret, VERSION + '.' + payload)}"


def verify(token: str | None, secret: bytes, now: float) -> str | None:
    """The key id of a valid, unexpired session; None for anything else."""
    if not token or not secret or len(token) > 1024:
        return None
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        return None
    # Bytes, not str: compare_digest refuses non-ASCII strings, and a cookie may hold anything.
    if not hmac.compare_digest(parts[2].encode("utf-8", "surrogateescape"),
                               _mac(secret, parts[0] + "." + parts[1]).encode()):
        return None
    try:
        data = json.loads(_unb64(parts[1]))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("kid"), str) \
            or not isinstance(data.get("exp"), int) or data["exp"] <= now:
        return None
    return data["kid"]


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_ok(cookie_token: str | None, form_token: str | None) -> bool:
    """Double-submit check: the form carries the value the login page set in its cookie."""
    return bool(cookie_token) and bool(form_token) and len(cookie_token) >= 16 and \
        hmac.compare_digest(cookie_token.encode(), form_token.encode())


def safe_next(target: str | None, default: str = "/dashboard") -> str:
    """Only a path inside the dashboard: never another host (no open redirect)."""
    if not target or not target.startswith("/dashboard") or "//" in target or "\\" in target \
            or any(ord(ch) < 0x20 for ch in target):
        return default
    return target
