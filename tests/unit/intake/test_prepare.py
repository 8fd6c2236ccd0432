"""domain.prepare: the checks that need neither caller nor store, in the order they are answered,
and what the ledger and the log get (canonical JSON, its digest, the attributes)."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import datetime, timedelta, timezone

from contracts.events import CommunityEngagementFinding
from services.common.admission.prepare import prepare
from contracts.examples import FINDING

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
SKEW = timedelta(seconds=300)


def _finding(**data) -> dict:
    body = copy.deepcopy(FINDING)
    body["data"].update(data)
    return body


def _event(body: dict) -> CommunityEngagementFinding:
    return CommunityEngagementFinding.model_validate(body)


def test_an_admissible_event_carries_its_canonical_json_digest_and_attributes():
    event = _event(FINDING)
    p = prepare(event, NOW, SKEW)
    assert p.unstorable is None and p.refusal is None
    assert p.value == event.model_dump_json().encode()
    assert p.digest == hashlib.sha256(p.value).digest()
    assert p.event_id == FINDING["event_id"] == str(event.event_id)
    assert (p.source, p.type, p.area, p.key) == ("pattigift", event.type, "BSOL", b"BSOL")
    assert p.time == "2026-11-02T18:30:00+00:00"


def test_the_digest_does_not_depend_on_spacing_or_key_order():
    reordered = json.loads(json.dumps(FINDING, sort_keys=True))
    reordered["data"] = dict(reversed(list(reordered["data"].items())))
    assert prepare(_event(reordered), NOW, SKEW).digest == prepare(_event(FINDING), NOW, SKEW).digest
    changed = prepare(_event(_finding(people_affected=41)), NOW, SKEW)
    assert changed.digest != prepare(_event(FINDING), NOW, SKEW).digest


def test_an_unstorable_value_is_answered_first_and_nothing_else_is_read():
    p = prepare(_event(_finding(summary="call 07700 900123\x00")), NOW, SKEW)
    assert p.unstorable is not None and p.unstorable.reason == "unstorable"
    assert [e["field"] for e in p.unstorable.errors] == ["data.summary"]
    assert p.refusal is None and p.value == b"" and p.digest == b""


def test_the_clock_is_checked_before_the_privacy_guard():
    body = _finding(summary="call 07700 900123")
    body["occurred_at"] = (NOW + SKEW + timedelta(seconds=1)).isoformat()
    p = prepare(_event(body), NOW, SKEW)
    assert p.refusal is not None and p.refusal.reason == "future_date"
    assert [e["field"] for e in p.refusal.errors] == ["occurred_at"]
    body["occurred_at"] = (NOW + SKEW).isoformat()  # at the allowance: on to the guard
    assert prepare(_event(body), NOW, SKEW).refusal.reason == "privacy"


def test_personal_data_is_refused_naming_the_field_never_the_value():
    p = prepare(_event(_finding(recommendation="ask for jo.bloggs@example.org")), NOW, SKEW)
    assert p.unstorable is None and p.refusal.status == 422 and p.refusal.reason == "privacy"
    assert [e["field"] for e in p.refusal.errors] == ["data.recommendation"]
    assert [e["pointer"] for e in p.refusal.errors] == ["#/data/recommendation"]
    assert "jo.bloggs" not in json.dumps(p.refusal.errors)
    assert p.value == b"" and p.digest == b""
