"""CloudEvents posted over HTTP, read into the platform's envelope (pure)."""

from __future__ import annotations

import pytest

from contracts.cloudevents import NotACloudEvent, attribute_of, from_binary, from_structured, is_binary
from contracts.events import partner_event_adapter
from contracts.examples import FINDING

STRUCTURED = {
    "specversion": "1.0",
    "id": FINDING["event_id"],
    "source": FINDING["source"],
    "type": FINDING["type"],
    "time": FINDING["occurred_at"],
    "area": FINDING["area"],
    "region": FINDING["region"],
    "datacontenttype": "application/json",
    "data": FINDING["data"],
}
BINARY = {
    "ce-specversion": "1.0",
    "ce-id": FINDING["event_id"],
    "ce-source": FINDING["source"],
    "ce-type": FINDING["type"],
    "ce-time": FINDING["occurred_at"],
    "ce-area": FINDING["area"],
    "ce-region": FINDING["region"],
    "content-type": "application/json",
    "accept": "*/*",
}


def test_a_structured_event_is_the_envelope_the_partner_would_have_posted():
    envelope = from_structured(STRUCTURED)
    assert partner_event_adapter.validate_python(envelope) == partner_event_adapter.validate_python(FINDING)


def test_a_binary_event_is_the_envelope_the_partner_would_have_posted():
    assert is_binary(BINARY) and not is_binary({"content-type": "application/json"})
    envelope = from_binary(BINARY, FINDING["data"])
    assert partner_event_adapter.validate_python(envelope) == partner_event_adapter.validate_python(FINDING)


@pytest.mark.parametrize(
    "change,field",
    [
        ({"subject": "x"}, "subject"),
        ({"dataschema": "urn:x"}, "dataschema"),
        ({"datacontenttype": "text/xml"}, "datacontenttype"),
        ({"data_base64": "e30="}, "data_base64"),
        ({"partitionkey": "BSOL"}, "partitionkey"),
    ],
)
def test_what_the_envelope_cannot_carry_is_refused_by_name(change, field):
    with pytest.raises(NotACloudEvent) as refused:
        from_structured({**STRUCTURED, **change})
    assert refused.value.field == field


def test_a_structured_event_is_an_object():
    with pytest.raises(NotACloudEvent) as refused:
        from_structured([STRUCTURED])
    assert refused.value.field == "body"


def test_an_unknown_binary_attribute_is_refused_by_its_header():
    with pytest.raises(NotACloudEvent) as refused:
        from_binary({**BINARY, "ce-traceparent": "00-1"}, FINDING["data"])
    assert refused.value.field == "ce-traceparent"


def test_errors_name_the_attribute_the_partner_wrote():
    assert attribute_of("event_id", binary=False) == "id"
    assert attribute_of("occurred_at", binary=True) == "ce-time"
    assert attribute_of("data", binary=True) == "data"
