"""Intake's reading of a CloudEvent posted over HTTP (structured or binary content mode).

The request is turned into the platform's own envelope (contracts.cloudevents) before anything
else reads it, so a CloudEvent meets the same validation, authorisation, privacy guard and
idempotency as an envelope; refusals name the attribute or ``ce-`` header the partner wrote.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

from contracts.cloudevents import STRUCTURED, NotACloudEvent, attribute_of, from_binary, from_structured, is_binary
from services.common.problems import Problem

ENVELOPE, STRUCTURED_MODE, BINARY_MODE = "envelope", "structured", "binary"


def mode_of(request: Request) -> str:
    """How the request carries its event: the platform's envelope, or a CloudEvent."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == STRUCTURED:
        return STRUCTURED_MODE
    if is_binary(request.headers):
        return BINARY_MODE
    return ENVELOPE


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body",),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": "not valid JSON"},
                }
            ]
        ) from None


def envelope(request: Request, raw: bytes, mode: str) -> bytes:
    """The request's CloudEvent as the bytes of the envelope a partner would have posted."""
    try:
        if mode == STRUCTURED_MODE:
            document = from_structured(_json(raw))
        else:
            document = from_binary(dict(request.headers), _json(raw))
    except NotACloudEvent as refused:
        raise Problem(
            422,
            "Invalid event",
            "the CloudEvent cannot be read as a platform event",
            kind="validation",
            errors=[{"field": refused.field, "pointer": f"#/{refused.field}", "reason": refused.reason}],
        ) from None
    return json.dumps(document).encode()


def located(errors: list[dict[str, Any]], mode: str) -> list[dict[str, Any]]:
    """Validation errors located where the partner wrote the value: a CloudEvent's attribute
    (``id``, not ``event_id``), or in binary mode its ``ce-`` header; fields in ``data`` as they are."""
    if mode == ENVELOPE:
        return errors
    binary = mode == BINARY_MODE
    out = []
    for error in errors:
        loc = tuple(error.get("loc", ()))
        inner = [p for p in loc if p != "body"]
        if inner and isinstance(inner[0], str) and inner[0] != "data":
            # A ce- header is named as it is, like a field: the event is what is invalid.
            name = attribute_of(inner[0], binary)
            loc = ("body", name, *inner[1:])
        out.append({**error, "loc": loc})
    return out


def renamed(errors: list[dict[str, str]] | None, mode: str) -> list[dict[str, str]] | None:
    """Intake's own refusals (field, pointer, reason) named as the partner wrote the event."""
    if mode == ENVELOPE or not errors:
        return errors
    out = []
    for error in errors:
        head, dot, rest = error.get("field", "").partition(".")
        name = attribute_of(head, mode == BINARY_MODE)
        out.append({**error, "field": name + dot + rest} if name != head else error)
    return out


def refuse_batch() -> Problem:
    return Problem(
        415,
        "Unsupported media type",
        "a batch is posted in the platform's envelope; post CloudEvents one at a time",
        errors=[
            {
                "field": "content-type",
                "pointer": "#",
                "reason": "CloudEvents are accepted on the single-event routes only",
            }
        ],
    )
