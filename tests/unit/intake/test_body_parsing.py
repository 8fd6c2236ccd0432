"""How intake's event routes read a body (services.intake.routes): one pass by pydantic's JSON reader
(for a whole batch: domain.prepare.prepare_whole, tests/unit/intake/test_prepare.py), and, for
whatever that refuses, the standard library's reader with FastAPI's refusals, event by event."""
from __future__ import annotations

import copy
import json

import pytest
from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from contracts.events import CommunityEngagementFinding, ProviderPerformanceEvent
from services.intake.routes import FindingsBatch, PerformanceBatch, _single_parser, standard_json
from services.intake.examples import FINDING, PERFORMANCE


def _finding(**data) -> dict:
    body = copy.deepcopy(FINDING)
    body["data"].update(data)
    return body


def _batch(*events) -> bytes:
    return json.dumps({"events": list(events)}).encode()


def test_a_batch_read_event_by_event_gives_events_of_the_endpoints_type():
    batch = FindingsBatch.parse_json(_batch(_finding(), _finding(people_affected=3)))
    assert [type(e) for e in batch._parsed] == [CommunityEngagementFinding] * 2
    assert batch._parsed[1].data.people_affected == 3


def test_one_invalid_event_is_answered_on_its_own_and_the_others_are_read():
    batch = FindingsBatch.parse_json(_batch(_finding(), _finding(people_affected=-1), {"x": 1}))
    first, second, third = batch._parsed
    assert isinstance(first, CommunityEngagementFinding)
    assert isinstance(second, ValidationError) and isinstance(third, ValidationError)
    assert {e["loc"] for e in second.errors()} == {("data", "people_affected")}
    assert batch.events[2] == {"x": 1}        # the raw item, for the event_id of the answer


def test_a_batch_posted_to_the_other_type_refuses_each_event():
    batch = PerformanceBatch.parse_json(_batch(_finding()))
    assert isinstance(batch._parsed[0], ValidationError)
    assert isinstance(PerformanceBatch.parse_json(_batch(PERFORMANCE))._parsed[0], ProviderPerformanceEvent)


def test_a_lone_surrogate_escape_names_its_event_and_field_not_the_whole_body():
    # pydantic's reader refuses the whole body; the standard library reads it, and the model
    # refuses the one field, as FastAPI's reading always did.
    raw = _batch(_finding(), _finding(summary="PLACEHOLDER")).replace(b"PLACEHOLDER", b"a\\ud800b")
    batch = FindingsBatch.parse_json(raw)
    assert isinstance(batch._parsed[0], CommunityEngagementFinding)
    assert {e["loc"] for e in batch._parsed[1].errors()} == {("data", "summary")}
    single = json.dumps(_finding(summary="PLACEHOLDER")).encode().replace(b"PLACEHOLDER", b"a\\ud800b")
    with pytest.raises(ValidationError) as caught:
        _single_parser(CommunityEngagementFinding)(single)
    assert {e["loc"] for e in caught.value.errors()} == {("data", "summary")}


@pytest.mark.parametrize("raw", [b"[null, null]", b'"text"', b'{"events": {}}', b'{"events": [], "more": 1}'])
def test_a_body_that_is_not_a_batch_is_refused_whole(raw):
    with pytest.raises(ValidationError):
        FindingsBatch.parse_json(raw)


def test_standard_json_refuses_as_fastapi_does():
    with pytest.raises(RequestValidationError) as empty:
        standard_json(b"")
    assert empty.value.errors()[0]["type"] == "missing"
    with pytest.raises(RequestValidationError) as broken:
        standard_json(b'{"events": [')
    error = broken.value.errors()[0]
    assert error["type"] == "json_invalid" and error["loc"] == ("body", 12)
    with pytest.raises(HTTPException) as unreadable:
        standard_json(b'{"a": "\xff"}')
    assert unreadable.value.status_code == 400
    assert standard_json(b'{"a": [1, 2.5]}') == {"a": [1, 2.5]}


def test_answers_are_the_same_compact_utf8_json_as_jsonresponse():
    from fastapi.responses import JSONResponse

    from services.intake.routes import Answer
    body = {"results": [{"event_id": "e", "status": "accepted", "index": 0, "offset": 2**40,
                         "detail": "café – ok", "errors": None}], "counts": {"accepted": 1}}
    assert Answer(body).body == JSONResponse(body).body
    assert json.loads(Answer(body, status_code=503, media_type="application/problem+json").body) == body
