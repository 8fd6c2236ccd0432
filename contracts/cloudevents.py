"""CloudEvents 1.0 over HTTP, read into the platform's own envelope.

A partner may post an event as a CloudEvent instead of the platform's envelope, in either content
mode of the CloudEvents HTTP binding:

* structured: ``Content-Type: application/cloudevents+json`` and the whole event as one JSON
  object (``specversion``, ``id``, ``source``, ``type``, ``time``, ``data``, ...);
* binary: the attributes as ``ce-*`` headers and the request body as the event's ``data``.

The envelope's ``event_id`` is CloudEvents ``id`` and ``occurred_at`` is ``time``; the
commissioning area and region travel as the extension attributes ``area`` and ``region``. What
comes out is the same dictionary a partner would post in the envelope, so it meets exactly the
same validation, authorisation, privacy guard and idempotency. Anything the envelope does not
carry (``subject``, ``dataschema``, unknown extensions) is refused by name rather than dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

STRUCTURED = "application/cloudevents+json"
#: CloudEvents attribute -> envelope field.
ATTRIBUTES = {
    "specversion": "specversion",
    "id": "event_id",
    "source": "source",
    "type": "type",
    "time": "occurred_at",
    "area": "area",
    "region": "region",
}
#: The one data content type the envelope's ``data`` can be.
JSON_TYPES = ("application/json",)
_FIELD_OF = {field: attribute for attribute, field in ATTRIBUTES.items()}


class NotACloudEvent(ValueError):
    """The request claims to be a CloudEvent but is not one the platform can read."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


def _media_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def _check_data_type(field: str, value: Any) -> None:
    if value is not None and _media_type(value if isinstance(value, str) else None) not in JSON_TYPES:
        raise NotACloudEvent(field, "the event's data must be application/json")


def from_structured(document: Any) -> dict[str, Any]:
    """A structured-mode CloudEvent (its JSON object) as the platform's envelope."""
    if not isinstance(document, dict):
        raise NotACloudEvent("body", "a structured CloudEvent is a JSON object")
    _check_data_type("datacontenttype", document.get("datacontenttype"))
    if "data_base64" in document:
        raise NotACloudEvent("data_base64", "the event's data must be JSON, not base64")
    envelope: dict[str, Any] = {}
    for name, value in document.items():
        if name == "datacontenttype":
            continue
        if name == "data":
            envelope["data"] = value
        elif name in ATTRIBUTES:
            envelope[ATTRIBUTES[name]] = value
        else:
            raise NotACloudEvent(name, "not an attribute the platform's events carry")
    return envelope


def is_binary(headers: Mapping[str, str]) -> bool:
    """A request in binary mode names its specification version in a ``ce-specversion`` header."""
    return "ce-specversion" in headers


def from_binary(headers: Mapping[str, str], data: Any) -> dict[str, Any]:
    """A binary-mode CloudEvent (its ``ce-*`` headers, lower-cased and percent-encoded as the
    HTTP binding writes them, and its JSON body) as the platform's envelope. The body's content
    type was checked as the request's own."""
    envelope: dict[str, Any] = {"data": data}
    for header, value in headers.items():
        if not header.startswith("ce-"):
            continue
        name = header.removeprefix("ce-")
        if name not in ATTRIBUTES:
            raise NotACloudEvent(header, "not an attribute the platform's events carry")
        envelope[ATTRIBUTES[name]] = unquote(value)  # header values are percent-encoded
    return envelope


def attribute_of(field: str, binary: bool) -> str:
    """Where a partner wrote an envelope field: the attribute's name (``id`` for ``event_id``),
    or its header in binary mode (``ce-id``); fields inside ``data`` keep their names."""
    attribute = _FIELD_OF.get(field)
    if attribute is None:
        return field
    return f"ce-{attribute}" if binary else attribute
