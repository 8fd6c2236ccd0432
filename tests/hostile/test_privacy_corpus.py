"""The privacy guard against a corpus of realistic community engagement text.

``privacy_corpus.jsonl`` holds sixty lines in the voice of findings partners send: half carry an
identifier of a kind the guard claims to catch (NHS number with a valid check digit, email
address, UK phone number, full postcode, date of birth), written the ways people write them; half
are clean, many of them near misses ("NHS 111", "ward 6", years, a reference failing the check
digit, an outward code on its own, "room B2 3rd floor", a run of weekly counts). The pure guard
must tell them apart line by line; the running intake service must refuse the identifiers naming
the field, publish none of them and accept the clean lines.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from contracts.topics import FINDINGS
from services.common.admission.privacy import CHECKS, nhs_number_is_valid, scan
from tests.conftest import TEST_HOME, bearer, http_json, url
from tests.hostile.conftest import end_offsets, event_ids, finding, records_since

CORPUS = [
    json.loads(line)
    for line in (Path(__file__).with_name("privacy_corpus.jsonl")).read_text(encoding="utf-8").splitlines()
    if line.strip()
]
KINDS = {kind for kind, _ in CHECKS}
IDENTIFIED = [c for c in CORPUS if c["identifier"]]
CLEAN = [c for c in CORPUS if not c["identifier"]]


def test_the_corpus_is_balanced_and_covers_every_kind():
    assert len(CORPUS) >= 60 and abs(len(IDENTIFIED) - len(CLEAN)) <= 4
    assert {c["identifier"] for c in IDENTIFIED} == KINDS
    assert all(n >= 4 for n in Counter(c["identifier"] for c in IDENTIFIED).values())
    assert sum(1 for c in CLEAN if c.get("near_miss")) >= 12


@pytest.mark.parametrize("line", IDENTIFIED, ids=lambda c: c["text"][:40])
def test_each_identifier_is_found_and_named_without_echoing_it(line):
    found = scan({"data": {"summary": line["text"]}})
    assert [(f.field, f.kind) for f in found] == [("data.summary", line["identifier"])]
    assert line["text"] not in found[0].reason


@pytest.mark.parametrize("line", CLEAN, ids=lambda c: c["text"][:40])
def test_each_clean_line_passes(line):
    assert scan({"data": {"summary": line["text"]}}) == [], line.get("near_miss")


# --- the cases the guard used to miss or refuse wrongly, one by one ----------------------------


@pytest.mark.parametrize(
    "text, kind",
    [
        ("NHS number 450\u00a0557\u00a07104 pasted from a letter", "an NHS number"),  # no-break spaces
        ("Number given: 0044 7700 900789", "a phone number"),  # 00 44 prefix
        ("call +44 (0)121 496 0000 after six", "a phone number"),
        ("her flat in London: +44 20 7946 0018", "a phone number"),
        ("or +44 (0)20 7946 0018 in the evenings", "a phone number"),
        ("ring 07700 900123 2 times a day", "a phone number"),  # figures after it
        ("stays at CT1  2EH with family", "a full postcode"),  # two spaces
        ("lives at B2 3RD, the flat above the shop", "a full postcode"),  # upper case stays
        ("her date of birth is 3 March 1987", "a date of birth"),
        ("born on 12th June 2001", "a date of birth"),
        ("born 3rd of March 2004", "a date of birth"),
        ("Date of birth: June 5, 1990", "a date of birth"),
        ("DOB \u2013 14 Feb 1989", "a date of birth"),
    ],
)
def test_written_forms_of_identifiers(text, kind):
    assert [f.kind for f in scan({"data": {"summary": text}})] == [kind]


@pytest.mark.parametrize(
    "text",
    [
        "Weekly referrals: 0 12 14 96 0 0 0",
        "room B2 3rd floor",
        "queues on the M6 4th junction",
        "Babies born in 2024: about 3,200",
        "born and raised in Medway",
        "0800 1111 is Childline",  # eight digits: a national service number, not a line's
    ],
)
def test_near_misses_pass(text):
    assert scan({"data": {"summary": text}}) == []


@given(st.text(alphabet="0123456789abcdef", min_size=6, max_size=6))
def test_a_provider_id_is_an_organisations_slug_not_free_text(suffix):
    # Slugs such as "arden-peer-support-fd33ee" used to be refused as postcodes ("fd33ee").
    assert scan({"data": {"provider_id": f"arden-peer-support-{suffix}", "notes": "monthly return"}}) == []


@given(st.integers(min_value=0, max_value=10**9 - 1))
def test_an_nhs_number_is_found_however_it_is_spaced(first_nine):
    nine = f"{first_nine:09d}"
    digits = next((nine + d for d in "0123456789" if nhs_number_is_valid(nine + d)), None)
    if digits is None:  # no check digit exists for these nine digits: never an NHS number
        return
    for spaced in (
        digits,
        f"{digits[:3]} {digits[3:6]} {digits[6:]}",
        f"{digits[:3]}-{digits[3:6]}-{digits[6:]}",
        f"{digits[:3]}\u00a0{digits[3:6]}\u00a0{digits[6:]}",
    ):
        assert [f.kind for f in scan({"notes": f"ref {spaced} given"})] == ["an NHS number"]


@pytest.mark.parametrize(
    "text",
    [
        "born" + " " * 3996,
        "date of birth" + " " * 3987,
        "a" * 4000,
        "a@" + "a." * 1999,
        "0 " * 2000,
        "0(" * 2000,
        "+44 " * 1000,
        "123 " * 1000,
        "B2 " * 1333,
        "born 3 " * 571,
    ],
)
def test_hostile_text_is_scanned_in_linear_time(text):
    # A 4,000-character field (the contract's maximum) in well under a second even on a busy
    # machine: the scan runs on intake's event loop, and a batch carries many such fields.
    started = time.perf_counter()
    scan({"data": {"summary": text, "recommendation": text}})
    assert time.perf_counter() - started < 0.25


# --- through the running service ----------------------------------------------------------------


@pytest.mark.integration
def test_intake_refuses_the_identifiers_naming_the_field_and_publishes_none(actors):
    partner = actors["partner"]
    since = end_offsets(FINDINGS.name)
    refused = [finding(summary=c["text"]) for c in IDENTIFIED]
    accepted = [finding(summary=c["text"]) for c in CLEAN]
    status, _, answer = http_json(
        "POST", url("intake", "/v1/findings:batch"), {"events": refused + accepted}, bearer(partner), timeout=60
    )
    assert status == 200, answer
    results = answer["results"]
    for line, result in zip(IDENTIFIED, results[: len(refused)]):
        assert (result["status"], result["http_status"]) == ("rejected", 422), (line, result)
        assert [(e["field"], e["pointer"]) for e in result["errors"]] == [("data.summary", "#/data/summary")]
        assert line["identifier"] in result["errors"][0]["reason"]
        assert line["text"] not in json.dumps(result)
    assert [r["status"] for r in results[len(refused) :]] == ["accepted"] * len(accepted)

    # One on its own, in another free-text field: 422 problem+json naming that field.
    nhs = "943 476 5919"
    single = finding(recommendation=f"Chase the referral for {nhs} before the holidays.")
    status, headers, problem = http_json("POST", url("intake", "/v1/findings"), single, bearer(partner))
    assert status == 422 and headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in problem["errors"]] == ["data.recommendation"]
    assert "NHS number" in problem["errors"][0]["reason"] and nhs not in json.dumps(problem)

    published = event_ids(records_since(FINDINGS.name, since))
    assert not published & {e["event_id"] for e in refused + [single]}
    assert {e["event_id"] for e in accepted} <= published
    log = (TEST_HOME / "logs" / "intake.log").read_text(encoding="utf-8")
    assert nhs not in log and all(c["text"] not in log for c in IDENTIFIED)
