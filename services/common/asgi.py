"""Pure ASGI middleware (cheaper than BaseHTTPMiddleware on the hot path)."""

from __future__ import annotations

import asyncio
import json
import time
from html import escape

from .metrics import HTTP_DURATION, HTTP_IN_FLIGHT, HTTP_REQUESTS
from .problems import PROBLEM_JSON, TYPE_BASE


class HttpMetrics:
    """Counts and times every request by its route template (never the raw path: bounded labels)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = 500
        HTTP_IN_FLIGHT.inc()

        async def send_wrapper(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            HTTP_IN_FLIGHT.dec()
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            HTTP_DURATION.labels(template, method).observe(time.perf_counter() - start)
            HTTP_REQUESTS.labels(template, method, str(status)).inc()


async def _problem(send, status: int, title: str, detail: str, field: str, reason: str, headers=()) -> None:
    body = json.dumps(
        {
            "type": TYPE_BASE + title.lower().replace(" ", "-"),
            "title": title,
            "status": status,
            "detail": detail,
            "errors": [{"field": field, "pointer": "#", "reason": reason}],
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


#: The media types a write may carry: JSON, and a structured CloudEvent (which is JSON).
#: Nothing else that merely ends in "+json" (application/evil+json) is read as JSON.
JSON_TYPES = (b"application/json", b"application/cloudevents+json")


def is_json_write(content_type: bytes) -> bool:
    """Whether a Content-Type header names one of :data:`JSON_TYPES`, with no parameter but an
    optional ``charset=utf-8`` (JSON is UTF-8, RFC 8259 section 8.1). Case-insensitive; the
    charset's value may be quoted."""
    media, *params = content_type.split(b";")
    if media.strip().lower() not in JSON_TYPES:
        return False
    for param in params:
        name, eq, value = param.strip().partition(b"=")
        if not param.strip():
            continue
        if not eq or name.strip().lower() != b"charset" or value.strip().strip(b'"').lower() != b"utf-8":
            return False
    return True


class BodyGuard:
    """415 for a write that is not JSON, 413 for a body over the limit (counted, not trusted),
    408 for a body that does not arrive within ``body_seconds`` (a slow sender holds no worker).
    Each names the field at fault (``content-type`` or ``body``).

    Only writes to a route that takes the method are checked: a PUT to a read-only route is the
    router's 405, not a 415. The body is read here, up to the limit, so that a chunked body over
    it is a 413 too (a limit raised inside the app's own body reading would surface as a 400).
    """

    def __init__(self, app, max_body_bytes: int, body_seconds: float = 10.0) -> None:
        self.app = app
        self.max = max_body_bytes
        self.body_seconds = body_seconds

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH") or not _route_takes(scope):
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        if not is_json_write(headers.get(b"content-type", b"")):
            return await _problem(
                send,
                415,
                "Unsupported media type",
                "send the body as application/json",
                "content-type",
                "must be application/json (or application/cloudevents+json), with no parameter but charset=utf-8",
            )
        length = headers.get(b"content-length")
        too_large = (f"the body is larger than {self.max} bytes", "body", f"at most {self.max} bytes")
        if length is not None and length.isdigit() and int(length) > self.max:
            return await _problem(send, 413, "Content too large", *too_large)
        try:
            body = await read_body(receive, self.max, self.body_seconds)
        except BodyTooLarge:
            return await _problem(send, 413, "Content too large", *too_large)
        except TimeoutError:
            return await _problem(
                send,
                408,
                "Request timeout",
                f"the body did not arrive within {self.body_seconds:g} seconds",
                "body",
                "sent too slowly",
                headers=[(b"connection", b"close")],
            )
        if body is not None:
            await self.app(scope, replaying(body, receive), send)


class BodyTooLarge(Exception):
    """The body went past its limit while it was being read."""


async def read_body(receive, limit: int, seconds: float) -> bytes | None:
    """The whole request body, counted as it arrives (a chunked body announces no length) and
    read within ``seconds``: :class:`BodyTooLarge` past ``limit`` bytes, ``TimeoutError`` when it
    trickles; ``None`` when the client went away (nothing to answer)."""
    chunks, seen = [], 0
    async with asyncio.timeout(seconds):
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def replaying(body: bytes, receive):
    """A ``receive`` that gives the app the body already read, then the client's own messages."""
    replayed = False

    async def replay():
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class FormGuard:
    """The web pages' counterpart of :class:`BodyGuard`, for HTML forms: every write's body is
    read within a deadline and up to a limit before a route sees it, so a sign-in form (which
    needs no key) cannot be made to buffer an endless body or hold a worker with a trickle.

    ``limits(path)`` gives the path's (bytes, seconds, what to say when it is too large); the
    routes keep their own, smaller, limits and pages. Answers are small HTML pages."""

    def __init__(self, app, limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
            return await self.app(scope, receive, send)
        limit, seconds, too_large = self.limits(scope["path"])
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            return await _page(send, 413, "Too large", too_large)
        try:
            body = await read_body(receive, limit, seconds)
        except BodyTooLarge:
            return await _page(send, 413, "Too large", too_large)
        except TimeoutError:
            return await _page(
                send,
                408,
                "Too slow",
                f"The form did not arrive within {seconds:g} seconds. Nothing was sent on; please try again.",
                headers=[(b"connection", b"close")],
            )
        if body is not None:
            await self.app(scope, replaying(body, receive), send)


async def _page(send, status: int, title: str, text: str, headers=()) -> None:
    body = (
        f'<!doctype html><html lang="en"><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<h1>{escape(title)}</h1><p>{escape(text)}</p></html>"
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _route_takes(scope) -> bool:
    """Whether a route of the app matches this path and method (scope["app"] is the FastAPI app)."""
    from starlette.routing import Match

    app = scope.get("app")
    routes = getattr(getattr(app, "router", None), "routes", None)
    if routes is None:
        return True
    return any(route.matches(scope)[0] is Match.FULL for route in routes)
