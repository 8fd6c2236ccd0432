"""The partner portal's pure part: form and rows into events, uploads read, intake's answers
placed beside the field or row, and every seed quote the form shows checked against the seeds."""

from __future__ import annotations

import io
import uuid
from datetime import date

import pytest
from openpyxl import Workbook

from contracts.citations import misquoted
from contracts.events import partner_event_adapter
from contracts.vocabulary import FindingSource, Severity
from services.reporting.domain import portal as forms

ORG = "pattigift"
FORM = {
    "area": "BSOL",
    "date": "2026-11-02",
    "community": "african_caribbean",
    "theme": "unmet_need",
    "severity": "high",
    "people_affected": "40",
    "finding_source": "community_forum",
    "service": "Talking therapies",
    "summary": "No culturally appropriate counselling after discharge.",
    "recommendation": "",
}


def test_every_choice_explained_from_the_seeds_quotes_them_verbatim():
    for ref in [*forms.FINDING_SOURCE_HINTS.values(), forms.COMMUNITY_HINT]:
        assert misquoted(ref) is None, ref
    assert set(forms.FINDING_SOURCE_HINTS) == set(FindingSource)
    assert set(forms.SEVERITY_HINTS) == set(Severity)
    assert "local scale, not from the seeds" in forms.hint_text(forms.SEVERITY_HINTS[Severity.HIGH])
    assert forms.hint_text(forms.FINDING_SOURCE_HINTS[FindingSource.FOCUS_GROUP]).startswith("\u201cstructured")


def test_the_form_makes_a_finding_the_contract_accepts():
    eid = str(uuid.uuid4())
    draft = forms.finding_draft(FORM, ORG, eid, date(2026, 12, 1))
    assert draft.errors == {} and draft.body is not None
    event = partner_event_adapter.validate_python(draft.body)
    assert str(event.event_id) == eid and event.source == ORG and event.region.value == "west_midlands"
    assert draft.body["data"]["people_affected"] == 40 and "recommendation" not in draft.body["data"]
    assert draft.body["occurred_at"] == "2026-11-02T00:00:00+00:00"


def test_the_form_accepts_the_labels_people_read_as_well_as_codes():
    draft = forms.finding_draft(
        {**FORM, "community": "African Caribbean", "finding_source": "Community forum"}, ORG, str(uuid.uuid4()), None
    )
    assert draft.body and draft.body["data"]["community"] == "african_caribbean"


def test_what_the_form_cannot_read_is_named_beside_its_field():
    draft = forms.finding_draft(
        {**FORM, "people_affected": "forty", "theme": "", "area": "XX", "summary": " "},
        ORG,
        str(uuid.uuid4()),
        date(2026, 12, 1),
    )
    assert draft.body is None
    assert set(draft.errors) == {"people_affected", "theme", "area", "summary"}
    assert "whole number" in draft.errors["people_affected"]


def test_a_date_is_required_on_a_row_but_defaults_on_the_form():
    assert forms.finding_draft({**FORM, "date": ""}, ORG, str(uuid.uuid4()), date(2026, 12, 1)).body
    assert "date" in forms.finding_draft({**FORM, "date": ""}, ORG, str(uuid.uuid4()), None).errors


@pytest.mark.parametrize(
    "pointer, expected",
    [
        ("data.summary", "summary"),
        ("#/data/summary", "summary"),
        ("data.people_affected", "people_affected"),
        ("occurred_at", "date"),
        ("region", "area"),
        ("event_id", ""),
        ("data.cdw_role", ""),
        (None, ""),
    ],
)
def test_intakes_field_names_map_to_the_forms_fields(pointer, expected):
    assert forms.form_field(pointer) == expected


def test_a_privacy_refusal_lands_beside_the_summary():
    problem = {
        "status": 422,
        "title": "Personal data refused",
        "errors": [
            {"field": "data.summary", "pointer": "#/data/summary", "reason": "contains what looks like a phone number"}
        ],
    }
    by_field, general = forms.field_errors(problem, forms.FORM_FIELDS)
    assert by_field == {"summary": "contains what looks like a phone number"} and general == []
    assert forms.field_errors({"detail": "no"}, forms.FORM_FIELDS) == ({}, ["no"])


def _csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


HEADER = "area,date,community,theme,severity,finding_source,summary,people_affected"


def test_a_csv_is_read_row_by_row_with_spreadsheet_row_numbers():
    rows = forms.read_csv(
        "findings",
        b"\xef\xbb\xbf"
        + _csv(
            HEADER,
            "BSOL,2026-11-02,somali,stigma,low,survey,Stigma about therapy,3",
            ",,,,,,,",
            "BSOL,2026-11-03,irish,stigma,low,survey,Another,",
        ),
    )
    assert [r.number for r in rows] == [2, 4]
    assert rows[0].values["community"] == "somali" and rows[1].values["people_affected"] == ""


@pytest.mark.parametrize(
    "content, says",
    [
        (b"", "empty"),
        (_csv("area,date,colour"), "unknown column 'colour'"),
        (_csv("area,date"), "missing columns"),
        (_csv(HEADER), "no rows"),
        ("é".encode("latin-1"), "UTF-8"),
        (_csv(HEADER, "BSOL,2026-11-02,a,b,c,d,e,f,extra"), "more cells"),
        (b"x" * (forms.MAX_UPLOAD_BYTES + 1), "larger than"),
    ],
)
def test_a_file_that_cannot_be_read_says_why_and_sends_nothing(content, says):
    with pytest.raises(forms.UploadError, match=says):
        forms.read_csv("findings", content)


def test_too_many_rows_is_refused_with_the_limit():
    lines = [HEADER] + ["BSOL,2026-11-02,somali,stigma,low,survey,S,1"] * (forms.MAX_ROWS + 1)
    with pytest.raises(forms.UploadError, match=str(forms.MAX_ROWS)):
        forms.read_csv("findings", _csv(*lines))


def test_row_event_ids_are_the_same_for_the_same_row_and_organisation_only():
    values = {"area": "BSOL", "date": "2026-11-02", "summary": "S"}
    a = forms.row_event_id("findings", ORG, values)
    assert a == forms.row_event_id("findings", ORG, dict(values)) and uuid.UUID(a).version == 5
    assert a != forms.row_event_id("findings", "other-org", values)
    assert a != forms.row_event_id("findings", ORG, {**values, "summary": "T"})
    perf = {
        "area": "BSOL",
        "indicator": "four_week_wait",
        "period_start": "2026-10-01",
        "period_end": "2026-10-31",
        "value": "80",
    }
    # A performance row is one figure for a period: a changed value keeps the id (intake: conflict).
    assert forms.row_event_id("performance", ORG, perf) == forms.row_event_id(
        "performance", ORG, {**perf, "value": "81"}
    )


def test_xlsx_and_csv_of_the_same_rows_make_the_same_events():
    book = Workbook()
    sheet = book.active
    sheet.append(list(forms.COLUMNS["performance"]))
    sheet.append(
        [
            "BSOL",
            "Pattigift",
            "voluntary",
            "four_week_wait",
            date(2026, 10, 1),
            date(2026, 10, 31),
            87.5,
            None,
            None,
            35,
            40.0,
        ]
    )
    out = io.BytesIO()
    book.save(out)
    x_rows = forms.read_xlsx("performance", out.getvalue())
    c_rows = forms.read_csv("performance", forms.template_csv("performance"))
    x = forms.row_draft("performance", x_rows[0], ORG).body
    c = forms.row_draft("performance", c_rows[0], ORG).body
    assert x == c and x is not None
    partner_event_adapter.validate_python(x)
    assert x["data"]["denominator"] == 40 and x["data"]["provider_id"] == ORG


def test_a_workbook_that_is_not_one_is_refused():
    with pytest.raises(forms.UploadError, match="not an Excel workbook"):
        forms.read_xlsx("findings", b"PK\x03\x04 not really")


@pytest.mark.parametrize("kind", forms.KINDS)
def test_templates_read_back_as_valid_events(kind):
    for rows in (forms.read_csv(kind, forms.template_csv(kind)), forms.read_xlsx(kind, forms.template_xlsx(kind))):
        assert len(rows) == 1
        draft = forms.row_draft(kind, rows[0], ORG)
        assert draft.errors == {}
        partner_event_adapter.validate_python(draft.body)


def test_batch_answers_become_row_results_by_row_number():
    rows = [forms.Row(2, {}), forms.Row(3, {}), forms.Row(5, {}), forms.Row(6, {})]
    answer = {
        "results": [
            {"index": 0, "status": "accepted", "event_id": "a"},
            {
                "index": 1,
                "status": "rejected",
                "event_id": "b",
                "detail": "personal data",
                "errors": [{"field": "data.summary", "reason": "contains what looks like a phone number"}],
            },
            {"index": 2, "status": "duplicate", "event_id": "c"},
            {"index": 3, "status": "unavailable", "event_id": "d"},
        ]
    }
    got = forms.batch_results(rows, answer, "findings")
    assert [(r.number, r.status) for r in got] == [(2, "accepted"), (3, "refused"), (5, "duplicate"), (6, "not stored")]
    assert got[1].field == "summary" and "phone number" in got[1].reason


def test_a_workbook_that_unpacks_to_far_more_than_a_return_is_refused_unread():
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b"a" * (forms.MAX_XLSX_UNPACKED_BYTES + 1))
    assert len(out.getvalue()) < forms.MAX_UPLOAD_BYTES
    with pytest.raises(forms.UploadError, match="unpacks to more than"):
        forms.read_xlsx("findings", out.getvalue())
