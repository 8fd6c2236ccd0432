"""CSV export of a dashboard table: RFC 4180 (CRLF, quoted where needed), header row first.

Cells that a spreadsheet would run as a formula (text starting with = + - @ or a control
character) are prefixed with an apostrophe (OWASP "CSV injection"): summaries are partners' free
text. Numbers are written as numbers, so a negative change stays a number.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"a row has {len(row)} cells for {len(columns)} columns")
        writer.writerow([cell(v) for v in row])
    return out.getvalue()
