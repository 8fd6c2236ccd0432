"""The partner portal's pure part: the finding form and the upload in plain words, turned into the
events intake takes, and intake's answers turned back into messages beside the field or row.

Nothing here checks the contract or the privacy guard itself: intake does, exactly as for the API,
and its answer names a field (``data.summary``); :func:`form_field` finds the form field or
column that holds it.

Uploads (CSV or XLSX, one header row): every row becomes one event whose id is a UUID version 5
of the organisation and the row's natural key (:func:`row_event_id`), so the same file uploaded
again sends the same ids with the same bodies and intake answers "duplicate" for every row: nothing
is counted twice. The natural key of a finding is its whole content (two identical rows are one
finding); of a performance figure, the provider, indicator, period and community it is for, so a
different figure for a period already reported is refused as a conflict instead of counted twice.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any, Literal

from contracts.citations import LocalDefault, SeedRef, local, seed
from contracts.events import FINDING_TYPE, PERFORMANCE_TYPE
from contracts.labels import label
from contracts.places import AREAS
from contracts.vocabulary import Community, FindingSource, Indicator, ProviderSector, Severity, Theme

Kind = Literal["findings", "performance"]
KINDS: tuple[Kind, ...] = ("findings", "performance")

#: Local defaults, not from the seeds: an upload is at most this large and this many rows, so one
#: file is answered within a page load (intake takes at most 500 events per batch; the portal sends
#: a file in batches of that size).
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2000
#: An XLSX is a zip archive; what it may unpack to (a local default, far above MAX_ROWS rows).
MAX_XLSX_UNPACKED_BYTES = 40 * 1024 * 1024
BATCH_SIZE = 500

#: The namespace of the portal's row event ids (uuid5): fixed, so the same row always has the same id.
ROW_NAMESPACE = uuid.UUID("6f1e4d0a-3b57-5c1e-9a8e-1f2b7c3d4e50")


# -- what each choice means, in the seeds' words -----------------------------------------------------

#: How a finding was gathered: where the seeds name the method, in their words.
FINDING_SOURCE_HINTS: dict[FindingSource, SeedRef | LocalDefault] = {
    FindingSource.COMMUNITY_FORUM: seed("000", 218, "For example – through forums and research"),
    FindingSource.CONSULTATION: seed("000", 240, "CDW consultations with Somalian communities, Irish communities"),
    FindingSource.MAPPING_EXERCISE: seed("000", 219, "CDW will mapping exercises and engaging with communities"),
    FindingSource.LITERATURE_REVIEW: seed("000", 219, "literature reviews"),
    FindingSource.COMMUNITY_AUDIT: seed(
        "000", 264, "community consultations, community audits and ongoing and relevant research"
    ),
    FindingSource.SURVEY: seed("001", 84, "patient experience surveys"),
    FindingSource.FOCUS_GROUP: seed("001", 336, "structured questionnaires and focus groups"),
    FindingSource.PEER_REVIEW: seed("001", 6, "a peer review of the FIS would be carried out"),
    FindingSource.REVERSE_COMMISSIONING_WORKSHOP: seed("003", 68, "Reverse Commissioning\u201d approach"),
    FindingSource.OUTREACH: seed("002", 698, "supporting community outreach and voluntary sector groups"),
}

#: Severity is the platform's own scale: the seeds give none.
SEVERITY_HINTS: dict[Severity, LocalDefault] = {
    Severity.LOW: local("worth knowing; no one is at risk now"),
    Severity.MODERATE: local("people are going without a service or are put off using one"),
    Severity.HIGH: local(
        "harm is likely if nothing changes; counts three times a low finding in the unmet-needs weighting"
    ),
    Severity.CRITICAL: local("harm is happening now; counts four times a low finding"),
}

#: Who the communities are: the seeds' own description of the groups the work is for.
COMMUNITY_HINT = seed("000", 60, "those of Irish origin, those of Mediterranean origin and East European migrants")


def hint_text(ref: SeedRef | LocalDefault | None) -> str:
    """One line for people: a seed's words in quotes with where they are, or a local default said so."""
    if ref is None:
        return ""
    if isinstance(ref, SeedRef):
        first, last = ref.lines
        where = f"{ref.seed}:{first}" + (f"-{last}" if last != first else "")
        return f"\u201c{ref.quote}\u201d (seed {where})"
    return f"{ref.reason[:1].upper()}{ref.reason[1:]} (a local scale, not from the seeds)"


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    hint: str = ""


def choices(
    kind: str, members: Iterable[Enum], hints: Mapping[Any, SeedRef | LocalDefault | None] | None = None
) -> list[Choice]:
    return [Choice(str(m.value), label(kind, m), hint_text((hints or {}).get(m))) for m in members]


def area_choices(allowed: Iterable[str] = ()) -> list[Choice]:
    """The areas, the key's own first when it names any."""
    own = [a for a in allowed if a in AREAS]
    rest = [a for a in AREAS if a not in own]
    return [Choice(a, f"{AREAS[a].name} ({a})") for a in own + rest]


# -- the finding form ---------------------------------------------------------------------------------

#: The form's fields in order, and where intake's answer names them.
FORM_FIELDS = (
    "area",
    "date",
    "community",
    "theme",
    "severity",
    "people_affected",
    "finding_source",
    "service",
    "summary",
    "recommendation",
)
#: What each field is called on the form, for the list of errors above it.
FORM_LABELS = {
    "area": "Area",
    "date": "When it was found",
    "community": "Community",
    "theme": "Theme",
    "severity": "Severity",
    "people_affected": "People affected",
    "finding_source": "How it was gathered",
    "service": "The service",
    "summary": "What was found",
    "recommendation": "Your recommendation",
}
_FIELD_FOR = {"data." + f: f for f in FORM_FIELDS} | {
    "area": "area",
    "region": "area",
    "occurred_at": "date",
    "event_id": "",
    "source": "",
}


def form_field(contract_field: str | None, fields: Iterable[str] = FORM_FIELDS) -> str:
    """The form field (or upload column) that holds a contract field intake named; "" for none.

    ``data.summary`` -> ``summary``; ``data.ethnicity.valid`` -> ``ethnicity_valid`` when the
    caller's fields have it; an envelope field (``occurred_at``) -> the field it was made from.
    """
    if not contract_field:
        return ""
    name = contract_field.removeprefix("#/").replace("/", ".")
    fields = tuple(fields)
    if name in _FIELD_FOR and (_FIELD_FOR[name] in fields or not _FIELD_FOR[name]):
        return _FIELD_FOR[name]
    if name == "occurred_at" and "period_end" in fields:
        return "period_end"
    bare = name.removeprefix("data.")
    for candidate in (bare, bare.replace(".", "_"), bare.split(".")[0]):
        if candidate in fields:
            return candidate
    return ""


@dataclass
class Draft:
    """A form or a row read into an event body, or the fields that stopped it, with the reason."""

    body: dict[str, Any] | None
    errors: dict[str, str] = field(default_factory=dict)


def _text(values: Mapping[str, Any], name: str) -> str:
    value = values.get(name)
    return "" if value is None else str(value).strip()


def _whole_number(raw: str, name: str, errors: dict[str, str]) -> int | None:
    if not raw:
        return None
    cleaned = raw.replace(",", "")
    if cleaned.endswith(".0"):
        cleaned = cleaned[:-2]
    if cleaned.isascii() and cleaned.isdigit():
        return int(cleaned)
    errors[name] = "write a whole number, such as 40"
    return None


def _number(raw: str, name: str, errors: dict[str, str]) -> float | None:
    if not raw:
        return None
    try:
        number = float(raw.replace(",", "").removesuffix("%"))
    except ValueError:
        errors[name] = "write a number, such as 87.5"
        return None
    if number != number or number in (float("inf"), float("-inf")):
        errors[name] = "write a number, such as 87.5"
        return None
    return number


def _day(raw: str, name: str, errors: dict[str, str], default: date | None = None) -> date | None:
    if not raw:
        if default is None:
            errors[name] = "give a date, written YYYY-MM-DD"
        return default
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        errors[name] = "write the date as YYYY-MM-DD, such as 2026-11-30"
        return None


def _choice(raw: str, name: str, enum: type[Enum], errors: dict[str, str], required: bool = True) -> str | None:
    if not raw:
        if required:
            errors[name] = "choose one"
        return None
    value = raw.strip().lower().replace(" ", "_").replace("-", "_")
    for member in enum:  # the code, or the label people read on the form and the template
        if value in (
            str(member.value),
            label(name if name != "provider_sector" else "sector", member).lower().replace(" ", "_").replace("-", "_"),
        ):
            return str(member.value)
    errors[name] = f"'{raw[:60]}' is not one of the choices (see the template)"
    return None


def _area(raw: str, errors: dict[str, str]) -> tuple[str | None, str | None]:
    code = raw.strip().upper()
    if not code:
        errors["area"] = "choose an area"
        return None, None
    if code not in AREAS:
        errors["area"] = f"'{raw[:20]}' is not an area code (such as BSOL)"
        return None, None
    return code, AREAS[code].region.value


def _midnight(day: date) -> str:
    return datetime(day.year, day.month, day.day).isoformat() + "+00:00"


def _drafted(
    errors: dict[str, str],
    event_type: str,
    data: dict[str, Any],
    day: date | None,
    *,
    event_id: str,
    organisation: str,
    area: str | None,
    region: str | None,
) -> Draft:
    """The event around ``data`` (its empty fields left out), dated midnight UTC of ``day``, or
    the fields that stopped it."""
    if errors:
        return Draft(None, errors)
    assert day is not None  # a missing or unreadable day is among the errors
    return Draft(
        {
            "event_id": event_id,
            "source": organisation,
            "occurred_at": _midnight(day),
            "area": area,
            "region": region,
            "type": event_type,
            "data": {k: v for k, v in data.items() if v is not None},
        }
    )


def finding_draft(values: Mapping[str, Any], organisation: str, event_id: str, today: date | None) -> Draft:
    """A community engagement finding from the form's (or a row's) values, in the contract's shape.

    The date defaults to ``today`` on the form; an upload row (``today`` None) must carry one, so
    that the same row makes the same event every time.
    """
    errors: dict[str, str] = {}
    area, region = _area(_text(values, "area"), errors)
    day = _day(_text(values, "date"), "date", errors, default=today)
    data: dict[str, Any] = {
        "community": _choice(_text(values, "community"), "community", Community, errors),
        "theme": _choice(_text(values, "theme"), "theme", Theme, errors),
        "severity": _choice(_text(values, "severity"), "severity", Severity, errors),
        "people_affected": _whole_number(_text(values, "people_affected"), "people_affected", errors),
        "finding_source": _choice(_text(values, "finding_source"), "finding_source", FindingSource, errors),
        "service": _text(values, "service") or None,
        "summary": _text(values, "summary"),
        "recommendation": _text(values, "recommendation") or None,
    }
    if not data["summary"]:
        errors["summary"] = "say what was found, in plain words"
    return _drafted(
        errors, FINDING_TYPE, data, day, event_id=event_id, organisation=organisation, area=area, region=region
    )


def performance_draft(values: Mapping[str, Any], organisation: str, event_id: str) -> Draft:
    """A provider performance figure from a monthly return's row."""
    errors: dict[str, str] = {}
    area, region = _area(_text(values, "area"), errors)
    start = _day(_text(values, "period_start"), "period_start", errors)
    end = _day(_text(values, "period_end"), "period_end", errors)
    data: dict[str, Any] = {
        "provider_id": _text(values, "provider_id") or organisation,
        "provider_name": _text(values, "provider_name"),
        "provider_sector": _choice(_text(values, "provider_sector"), "provider_sector", ProviderSector, errors),
        "indicator": _choice(_text(values, "indicator"), "indicator", Indicator, errors),
        "period_start": start.isoformat() if start else None,
        "period_end": end.isoformat() if end else None,
        "value": _number(_text(values, "value"), "value", errors),
        "target": _number(_text(values, "target"), "target", errors),
        "numerator": _whole_number(_text(values, "numerator"), "numerator", errors),
        "denominator": _whole_number(_text(values, "denominator"), "denominator", errors),
        "community": _choice(_text(values, "community"), "community", Community, errors, required=False),
        "population_share": _number(_text(values, "population_share"), "population_share", errors),
        "notes": _text(values, "notes") or None,
    }
    if not data["provider_name"]:
        errors["provider_name"] = "give the provider's name"
    if data["value"] is None and "value" not in errors:
        errors["value"] = "give the figure for the period"
    return _drafted(
        errors, PERFORMANCE_TYPE, data, end, event_id=event_id, organisation=organisation, area=area, region=region
    )


# -- uploads ---------------------------------------------------------------------------------------

#: The columns of each upload, in the template's order; the first ones are required.
COLUMNS: dict[Kind, tuple[str, ...]] = {
    "findings": (
        "area",
        "date",
        "community",
        "theme",
        "severity",
        "finding_source",
        "summary",
        "people_affected",
        "service",
        "recommendation",
    ),
    "performance": (
        "area",
        "provider_name",
        "provider_sector",
        "indicator",
        "period_start",
        "period_end",
        "value",
        "provider_id",
        "target",
        "numerator",
        "denominator",
        "community",
        "population_share",
        "notes",
    ),
}
REQUIRED: dict[Kind, tuple[str, ...]] = {
    "findings": COLUMNS["findings"][:7],
    "performance": COLUMNS["performance"][:7],
}
EXAMPLE_ROWS: dict[Kind, dict[str, str]] = {
    "findings": {
        "area": "BSOL",
        "date": "2026-11-02",
        "community": "african_caribbean",
        "theme": "unmet_need",
        "severity": "high",
        "finding_source": "community_forum",
        "summary": "Forum members describe no culturally appropriate counselling after discharge.",
        "people_affected": "40",
        "service": "Talking therapies",
        "recommendation": "Commission African centred counselling in the talking therapies pathway.",
    },
    "performance": {
        "area": "BSOL",
        "provider_name": "Pattigift",
        "provider_sector": "voluntary",
        "indicator": "four_week_wait",
        "period_start": "2026-10-01",
        "period_end": "2026-10-31",
        "value": "87.5",
        "provider_id": "",
        "target": "",
        "numerator": "35",
        "denominator": "40",
        "community": "",
        "population_share": "",
        "notes": "",
    },
}
#: The natural key of a performance row: what one figure is for.
_PERFORMANCE_KEY = ("area", "provider_id", "indicator", "period_start", "period_end", "community")


class UploadError(ValueError):
    """The file as a whole cannot be read (its rows are not looked at); the message says why."""


@dataclass(frozen=True)
class Row:
    number: int  # the spreadsheet's row number: the header is row 1
    values: dict[str, str]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _rows(kind: Kind, table: Iterable[list[Any]]) -> list[Row]:
    it = iter(table)
    header = next(it, None)
    if header is None:
        raise UploadError("the file is empty: the first row names the columns (download a template)")
    names = [_cell(h).lower().replace(" ", "_") for h in header]
    while names and not names[-1]:
        names.pop()
    unknown = [n for n in names if n not in COLUMNS[kind]]
    if unknown:
        named = ", ".join(repr(u[:40]) for u in unknown)
        raise UploadError(
            f"unknown column{'s' if len(unknown) > 1 else ''} {named}; the columns are: {', '.join(COLUMNS[kind])}"
        )
    missing = [c for c in REQUIRED[kind] if c not in names]
    if missing:
        raise UploadError(f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    if len(set(names)) != len(names):
        raise UploadError("a column is named twice in the first row")
    rows: list[Row] = []
    for number, raw in enumerate(it, start=2):
        cells = [_cell(v) for v in raw]
        if not any(cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise UploadError(f"more than {MAX_ROWS} rows; split the file and upload each part")
        if any(cells[len(names) :]):
            raise UploadError(f"row {number} has more cells than the first row has column names")
        rows.append(Row(number, {n: (cells[i] if i < len(cells) else "") for i, n in enumerate(names)}))
    if not rows:
        raise UploadError("the file has column names but no rows")
    return rows


def read_csv(kind: Kind, content: bytes) -> list[Row]:
    if len(content) > MAX_UPLOAD_BYTES:
        raise UploadError(f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; split it")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadError("the file is not UTF-8 text: save it as \u201cCSV UTF-8\u201d and upload again") from exc
    try:
        return _rows(kind, csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise UploadError(f"the file is not valid CSV: {exc}") from exc


def read_xlsx(kind: Kind, content: bytes) -> list[Row]:
    """The first sheet of an Excel workbook (values, not formulas)."""
    import zipfile

    from openpyxl import load_workbook

    if len(content) > MAX_UPLOAD_BYTES:
        raise UploadError(f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; split it")
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UploadError("the file is not an Excel workbook (.xlsx)") from exc
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        # A workbook is a zip: a small file can unpack to far more than any return needs.
        raise UploadError(
            f"the workbook unpacks to more than {MAX_XLSX_UNPACKED_BYTES // (1024 * 1024)} MB; "
            "save it again without other sheets or images, or split it"
        )
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UploadError("the file is not an Excel workbook (.xlsx)") from exc
    try:
        sheet = book.worksheets[0]
        return _rows(kind, ([*r] for r in sheet.iter_rows(values_only=True, max_row=MAX_ROWS + 50)))
    finally:
        book.close()


def row_event_id(kind: Kind, organisation: str, values: Mapping[str, str]) -> str:
    """The event id of an upload row: the same organisation and row give the same id, always."""
    if kind == "performance":
        key: dict[str, str] = {k: values.get(k, "").strip().lower() for k in _PERFORMANCE_KEY}
    else:
        key = {k: v.strip() for k, v in sorted(values.items()) if v.strip()}
    text = json.dumps([organisation, kind, key], sort_keys=True, ensure_ascii=False)
    return str(uuid.uuid5(ROW_NAMESPACE, text))


def row_draft(kind: Kind, row: Row, organisation: str) -> Draft:
    event_id = row_event_id(kind, organisation, row.values)
    if kind == "findings":
        return finding_draft(row.values, organisation, event_id, today=None)
    return performance_draft(row.values, organisation, event_id)


def template_csv(kind: Kind) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(COLUMNS[kind])
    writer.writerow([EXAMPLE_ROWS[kind].get(c, "") for c in COLUMNS[kind]])
    return out.getvalue().encode("utf-8")


def template_xlsx(kind: Kind) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "findings" if kind == "findings" else "monthly return"
    sheet.append(list(COLUMNS[kind]))
    sheet.append([EXAMPLE_ROWS[kind].get(c, "") for c in COLUMNS[kind]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- intake's answers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowResult:
    number: int
    event_id: str | None
    status: Literal["accepted", "duplicate", "refused", "not stored"]
    field: str = ""
    reason: str = ""


def field_errors(problem: Mapping[str, Any], fields: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """Intake's problem+json as messages by form field, and those no field holds."""
    by_field: dict[str, str] = {}
    general: list[str] = []
    fields = tuple(fields)
    for err in problem.get("errors") or []:
        name = form_field(err.get("field") or err.get("pointer"), fields)
        reason = str(err.get("reason") or problem.get("detail") or "refused")
        if name:
            by_field[name] = f"{by_field[name]}; {reason}" if name in by_field else reason
        else:
            general.append(f"{err.get('field') or 'the event'}: {reason}")
    if not by_field and not general:
        general.append(str(problem.get("detail") or problem.get("title") or "refused"))
    return by_field, general


def batch_results(rows: list[Row], answer: Mapping[str, Any], kind: Kind) -> list[RowResult]:
    """Intake's batch answer, row by row (``results[i].index`` is the row's place in the batch)."""
    out: list[RowResult] = []
    results = {r.get("index"): r for r in answer.get("results") or []}
    for i, row in enumerate(rows):
        r = results.get(i) or {}
        status = r.get("status")
        if status in ("accepted", "duplicate"):
            out.append(RowResult(row.number, r.get("event_id"), status))
        elif status == "unavailable":
            out.append(
                RowResult(
                    row.number,
                    r.get("event_id"),
                    "not stored",
                    "",
                    "the event store did not acknowledge it; upload the file again "
                    "(rows already stored will say duplicate)",
                )
            )
        else:
            if status == "conflict":
                reason = (
                    "a row with the same key was sent before with different values; it is kept as first sent"
                    if kind == "findings"
                    else "a different figure for this provider, indicator and period was sent before; "
                    "it is kept as first sent"
                )
                out.append(RowResult(row.number, r.get("event_id"), "refused", "", reason))
                continue
            by_field, general = field_errors(r, COLUMNS[kind])
            name, reason = next(iter(by_field.items()), ("", "; ".join(general)))
            out.append(RowResult(row.number, r.get("event_id"), "refused", name, reason))
    return out
