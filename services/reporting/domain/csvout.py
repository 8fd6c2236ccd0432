"""CSV export of a dashboard table: RFC 4180 (CRLF, quoted where needed), header row first.

Cells that a spreadsheet would run as a formula are prefixed with an apostrophe (OWASP "CSV
injection"): summaries are partners' free text. That is text whose first character other than
white space (spaces, tabs, CR, LF and the rest) is = + - or @, since spreadsheets skip leading
white space before reading a formula (" =1+1", "\n=cmd"), and text that starts with a tab or a
carriage return. Numbers (int and float values) are written as numbers, so a negative change
stays a number; text that merely looks like one ("-3") is text, and is prefixed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

_FORMULA_START = ("=", "+", "-", "@")
_CONTROL_START = ("\t", "\r")


def formula_like(text: str) -> bool:
    """A spreadsheet could read ``text`` as a formula (or a control sequence)."""
    return text.startswith(_CONTROL_START) or text.lstrip().startswith(_FORMULA_START)


def cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    return "'" + text if formula_like(text) else text


def to_csv(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"a row has {len(row)} cells for {len(columns)} columns")
        writer.writerow([cell(v) for v in row])
    return out.getvalue()
