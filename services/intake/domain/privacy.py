"""Privacy guard: no patient-identifiable data enters the platform.

Findings are about communities and services. A string that carries an NHS number (valid
modulus-11 check digit), an email address, a UK phone number, a full unit postcode, or a date
of birth is refused, naming the field and the kind of identifier, never the value.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

_NHS_CANDIDATE = re.compile(r"(?<![\d])(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?![\d])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE_CANDIDATE = re.compile(r"(?<![\w+])(?:\+\s?44|0)[\d\s()\-]{8,16}\d")
# Full unit postcode: outward code (e.g. B11, SW1A) then inward code (digit + two letters).
_POSTCODE = re.compile(
    r"\b(?:GIR\s?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2})\b", re.IGNORECASE)
_DOB = re.compile(
    r"\b(?:d\.?o\.?b\.?|date\s+of\s+birth|born\s+(?:on\s+)?)\s*[:\-]?\s*"
    r"(?:\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}|\d{4}-\d{2}-\d{2}|\d{1,2}\s+[A-Za-z]{3,9}\s+\d{4})",
    re.IGNORECASE)


def nhs_number_is_valid(digits: str) -> bool:
    """Modulus 11 check of a 10-digit NHS number (NHS Data Dictionary)."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        check = 0
    if check == 10:
        return False
    return check == int(digits[9])


def _has_nhs_number(text: str) -> bool:
    return any(nhs_number_is_valid("".join(m.groups())) for m in _NHS_CANDIDATE.finditer(text))


def _has_uk_phone(text: str) -> bool:
    for m in _PHONE_CANDIDATE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if digits.startswith("44"):
            national = digits[2:]
            if national.startswith("0"):
                national = national[1:]
            if len(national) in (9, 10):
                return True
        elif digits.startswith("0") and len(digits) in (10, 11) and digits[1] != "0":
            return True
    return False


CHECKS: tuple[tuple[str, Any], ...] = (
    ("an NHS number", _has_nhs_number),
    ("an email address", lambda t: _EMAIL.search(t) is not None),
    ("a phone number", _has_uk_phone),
    ("a full postcode", lambda t: _POSTCODE.search(t) is not None),
    ("a date of birth", lambda t: _DOB.search(t) is not None),
)


@dataclass(frozen=True)
class PrivacyFinding:
    field: str
    kind: str

    @property
    def reason(self) -> str:
        return (f"contains what looks like {self.kind}; findings must not carry personal data "
                "(the value is not echoed)")


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}[{i}]")


#: Fields whose values are checked by their own patterns and never carry free text.
STRUCTURED_FIELDS = frozenset({"event_id", "occurred_at", "specversion", "type", "area", "region",
                               "source"})


def scan(payload: dict[str, Any]) -> list[PrivacyFinding]:
    """Every free-text field that carries an identifier, with the kind found. Pure."""
    found = []
    for path, text in _strings(payload, ""):
        if path in STRUCTURED_FIELDS or path.endswith("_date") or path.endswith("period_start") \
                or path.endswith("period_end"):
            continue
        for kind, check in CHECKS:
            if check(text):
                found.append(PrivacyFinding(path, kind))
                break
    return found
