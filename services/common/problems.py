"""RFC 9457 problem details: every 4xx/5xx a client sees is ``application/problem+json``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://commissioning-signals.invalid/problems/"


class Problem(Exception):
    """Raised inside a handler; rendered as problem+json by the handler installed below."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        kind: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail
        self.kind = kind or title.lower().replace(" ", "-")
        self.errors, self.headers = errors, headers

    def body(self, instance: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"type": TYPE_BASE + self.kind, "title": self.title, "status": self.status}
        if self.detail:
            out["detail"] = self.detail
        if instance:
            out["instance"] = instance
        if self.errors:
            out["errors"] = self.errors
        return out

    def response(self, instance: str | None = None) -> JSONResponse:
        return JSONResponse(self.body(instance), status_code=self.status, media_type=PROBLEM_JSON, headers=self.headers)


_FIELD_ERROR = {
    "type": "object",
    "required": ["field", "reason"],
    "properties": {"field": {"type": "string"}, "pointer": {"type": "string"}, "reason": {"type": "string"}},
}


def problem_schema(errors_required: bool = False) -> dict[str, Any]:
    """RFC 9457 problem details as the platform writes them; ``errors`` names each field and reason."""
    required = ["type", "title", "status"] + (["errors"] if errors_required else [])
    return {
        "type": "object",
        "required": required,
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "errors": {"type": "array", "items": _FIELD_ERROR, "minItems": 1 if errors_required else 0},
        },
    }


def problem_responses(described: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the problem answers a route can give, status -> description."""
    return {
        code: {"description": text, "content": {PROBLEM_JSON: {"schema": problem_schema(code == 422)}}}
        for code, text in described.items()
    }


#: What any authenticated route of the platform can answer besides its own success.
API_PROBLEMS = {
    401: "Missing or unknown API key",
    403: "The key may not read or change this",
    422: "A parameter or the body is not valid; errors name each field",
    429: "Over a rate limit; see Retry-After",
    503: "A store the service depends on is unavailable; retry shortly (Retry-After)",
}
#: What a route that takes a body can also answer (the body guard of every service).
BODY_PROBLEMS = {
    400: "Malformed JSON",
    408: "The body did not arrive in time (CSP_BODY_SECONDS); names body",
    413: "Body too large; names body",
    415: "Not JSON; names content-type",
}


def document_body_problems(app: FastAPI) -> None:
    """Every operation that takes a body documents the body guard's 408, 413 and 415 (services.common.asgi
    answers them before any route runs), added to the OpenAPI document as FastAPI's guide to
    extending it does, rather than repeated on each route."""
    default = app.openapi

    def openapi() -> dict[str, Any]:
        document = default()
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                if isinstance(operation, dict) and "requestBody" in operation:
                    responses = operation.setdefault("responses", {})
                    for code, answer in problem_responses(BODY_PROBLEMS).items():
                        responses.setdefault(str(code), answer)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def field_error(loc: Iterable[Any], reason: str) -> dict[str, str]:
    parts = [str(p) for p in loc]
    field = ".".join(p if not p.isdigit() else f"[{p}]" for p in parts).replace(".[", "[")
    return {"field": field or "(body)", "pointer": "#/" + "/".join(parts), "reason": reason}


def _clean_loc(loc: tuple) -> tuple:
    # Drop FastAPI's "body" prefix and pydantic's union tag from the location.
    out = [p for p in loc if p != "body"]
    return tuple(p for p in out if not (isinstance(p, str) and p.startswith("uk.nhs.")))


def validation_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    out = []
    for err in errors:
        msg = err.get("msg", "invalid")
        if err.get("type") == "extra_forbidden":
            msg = "unknown field (not part of the contract)"
        elif err.get("type") == "missing":
            msg = "required field is missing"
        msg = msg.removeprefix("Value error, ")
        out.append(field_error(_clean_loc(tuple(err.get("loc", ()))), msg))
    return out


def from_validation_error(exc: ValidationError | RequestValidationError) -> Problem:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        e = next(e for e in errors if e.get("type") == "json_invalid")
        ctx = e.get("ctx", {}) or {}
        return Problem(
            400,
            "Malformed JSON",
            f"the body is not valid JSON: {ctx.get('error', 'parse error')}",
            errors=[{"field": "(body)", "pointer": "#", "reason": "not valid JSON"}],
        )
    if errors and all((e.get("loc") or ("body",))[0] in ("query", "path", "header", "cookie") for e in errors):
        return Problem(
            422,
            "Invalid parameter",
            "a request parameter is not valid; see errors",
            kind="validation",
            errors=validation_errors(errors),
        )
    return Problem(
        422,
        "Invalid event",
        "the body does not match the contract; see errors",
        kind="validation",
        errors=validation_errors(errors),
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return exc.response(request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        return from_validation_error(exc).response(request.url.path)

    async def _unavailable(request: Request, exc: Exception):
        # PostgreSQL away or restarting: a 503 the client may retry (with the same event_id),
        # not a 500. Nothing was acknowledged, so nothing is lost by refusing.
        return Problem(
            503,
            "Service unavailable",
            "a store the service depends on is unavailable; retry the same request shortly",
            kind="store-unavailable",
            headers={"Retry-After": "5"},
        ).response(request.url.path)

    from .db import RETRYABLE

    for exc_class in RETRYABLE:
        app.add_exception_handler(exc_class, _unavailable)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        errors = None
        if exc.status_code == 400 and "parsing the body" in str(exc.detail):
            # FastAPI's answer to a body it could not read as JSON at all (nested too deep,
            # not UTF-8): still name the field, like every other refusal.
            errors = [{"field": "(body)", "pointer": "#", "reason": "not readable as JSON"}]
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            # Starlette names only the first route that matched the path; the resource allows
            # the methods of every route on it (a GET and a PUT declared apart, for example).
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        return Problem(
            exc.status_code, str(exc.detail) if exc.detail else "Error", errors=errors, headers=headers
        ).response(request.url.path)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers on this request's path."""
    from starlette.routing import Match

    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)
