"""The privacy guard refuses identifiers and names the field, never the value."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from services.common.admission import privacy
from services.common.admission.privacy import nhs_number_is_valid, scan

VALID_NHS = "9434765919"  # the NHS Data Dictionary's worked example
WRONG_CHECK_DIGIT = "9434765918"


def test_modulus_11():
    assert nhs_number_is_valid(VALID_NHS)
    assert not nhs_number_is_valid(WRONG_CHECK_DIGIT)
    assert not nhs_number_is_valid("943476591")  # nine digits
    assert not nhs_number_is_valid("94347659ab")


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_exactly_one_check_digit_or_none_is_valid(first_nine):
    valid = [d for d in "0123456789" if nhs_number_is_valid(first_nine + d)]
    assert len(valid) <= 1


@pytest.mark.parametrize(
    "text, kind",
    [
        (f"Client {VALID_NHS} said", "NHS number"),
        ("Client 943 476 5919 said", "NHS number"),
        ("Client 943-476-5919 said", "NHS number"),
        ("write to jo.bloggs@example.org", "email"),
        ("call 07700 900123 after six", "phone"),
        ("call +44 121 496 0000", "phone"),
        ("ring (0121) 496 0000", "phone"),
        ("lives at B11 4AA near the park", "postcode"),
        ("lives at sw1a1aa", "postcode"),
        ("DOB: 12/03/1987", "date of birth"),
        ("born on 3 March 1987", "date of birth"),
    ],
)
def test_identifiers_are_found_and_named(text, kind):
    found = scan({"data": {"summary": text}})
    assert [f.field for f in found] == ["data.summary"]
    assert kind in found[0].kind
    assert text not in found[0].reason  # the value is never echoed


@pytest.mark.parametrize(
    "text",
    [
        f"Reference {WRONG_CHECK_DIGIT} from the audit",  # ten digits, not an NHS number
        "40 people at the forum in B11 said waits were 12 weeks",  # outward code only is fine
        "Referrals rose from 1200 to 1450 in 2026",
        "Talking therapies: 7-day follow-up 81.5% against 95%",
        "Mosque and barbershop sessions reached 3000 men over 12 months",
    ],
)
def test_community_level_text_passes(text):
    assert scan({"data": {"summary": text}}) == []


def test_structured_fields_are_not_scanned_and_nested_paths_are_named():
    body = {
        "event_id": "3f6c1c1e-8a2b-4f0e-9d51-6c1f7a2b9e10",
        "occurred_at": "2026-11-02T18:30:00+00:00",
        "data": {"notes": ["ok", "email a@b.co"], "contract_end_date": "2027-03-31"},
    }
    assert [f.field for f in scan(body)] == ["data.notes[1]"]


def test_taxonomy_values_are_not_free_text_and_free_text_still_is():
    from enum import Enum

    class Kind(str, Enum):
        CODE = "B11 2AB"  # an enumeration member is a taxonomy value, never scanned

    assert privacy.scan_fields([("data.kind", Kind.CODE)]) == []
    assert [f.field for f in privacy.scan_fields([("data.summary", "B11 2AB")])] == ["data.summary"]
    # A structured field is not free text, whether or not the answer was remembered before.
    for _ in range(2):
        assert privacy.scan_fields([("area", "B11 2AB"), ("data.period_start", "B11 2AB")]) == []
