"""Privacy guard: no patient-identifiable data enters the platform.

Findings are about communities and services. A string that carries an NHS number (valid
modulus-11 check digit), an email address, a UK phone number, a full unit postcode, or a date
of birth is refused, naming the field and the kind of identifier, never the value.

What each check takes for an identifier, and what it leaves alone, is pinned by the realistic
corpus in ``tests/hostile/privacy_corpus.jsonl``: "NHS 111", "ward 6", years, a ten-digit
reference failing the check digit, an outward code on its own ("ME7"), "room B2 3rd floor",
a run of counts such as "0 12 14 96 0 0 0" and dates that are not dates of birth all pass.
Names on their own are not detected.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from .fields import Fields, leaves

# Separators inside an NHS number: a space (also the no-break space a word processor puts in) or -.
_NHS_CANDIDATE = re.compile(r"(?<![\d])(\d{3})[\s-]?(\d{3})[\s-]?(\d{4})(?![\d])")
# Searched from each "@" (one character of the local part behind it is enough to know): linear
# time, where matching the local part first costs quadratic time on a long run of letters.
_EMAIL = re.compile(r"(?<=[A-Za-z0-9._%+-])@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE_CANDIDATE = re.compile(r"(?<![\w+])(?:\+\s?44|0)[\d\s()\-]{8,18}\d")
# Full unit postcode: outward code (e.g. B11, SW1A) then inward code (digit + two letters).
_POSTCODE = re.compile(r"\b(?:GIR\s?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?\s{0,2}(\d[ABD-HJLNP-UW-Z]{2}))\b", re.IGNORECASE)
# "B2 3rd floor", "the M6 4th junction": an ordinal in lower case is not an inward code.
_ORDINAL = re.compile(r"1st|2nd|3rd|[04-9]th")
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DOB = re.compile(
    # Possessive quantifiers: a long run of spaces after "born" must not cost quadratic time.
    r"\b(?:d\.?o\.?b\.?|date\s+of\s+birth|born)\s*+(?:(?:[:\-\u2013]|is|was)\s*+)?(?:on\s++)?(?:the\s++)?"
    r"(?:\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}|\d{4}-\d{2}-\d{2}"
    r"|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH + r",?\s+\d{2,4}"
    r"|" + _MONTH + r"\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4})(?!\d)",
    re.IGNORECASE,
)


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


def _is_uk_number(groups: list[str], international: bool) -> bool:
    """Digit groups as written (e.g. ``07700 900123``, ``+44 (0)121 496 0000``) form a UK number.

    Every group of a written phone number has at least three digits (two for the area code
    after +44, as in +44 20 7946 0018); a run of small counts ("0 12 14 96 0 0 0") does not,
    however many digits it adds up to.
    """
    if international:
        groups = groups[1:]
        if groups and groups[0] == "0":  # the "(0)" of +44 (0)121 ...
            groups = groups[1:]
        national = "".join(groups).removeprefix("0")
        length_ok = len(national) in (9, 10)
        shortest_first = 2
    else:
        national = "".join(groups)
        length_ok = national.startswith("0") and len(national) in (10, 11) and national[1] != "0"
        shortest_first = 3
    return bool(groups) and length_ok and len(groups[0]) >= shortest_first and all(len(g) >= 3 for g in groups[1:])


def _has_uk_phone(text: str) -> bool:
    for m in _PHONE_CANDIDATE.finditer(text):
        groups = re.findall(r"\d+", m.group(0))
        plus = m.group(0).startswith("+")
        # The number may be followed by other figures ("07700 900123 2 times"): try each run.
        for start in range(len(groups)):
            for end in range(start + 1, min(len(groups), start + 5) + 1):
                run = groups[start:end]
                international = run[0] == "0044" or (start == 0 and plus)
                if (international or run[0].startswith("0")) and _is_uk_number(run, international):
                    return True
    return False


def _has_postcode(text: str) -> bool:
    return any(m.group(1) is None or not _ORDINAL.fullmatch(m.group(1)) for m in _POSTCODE.finditer(text))


CHECKS: tuple[tuple[str, Any], ...] = (
    ("an NHS number", _has_nhs_number),
    ("an email address", lambda t: _EMAIL.search(t) is not None),
    ("a phone number", _has_uk_phone),
    ("a full postcode", _has_postcode),
    ("a date of birth", lambda t: _DOB.search(t) is not None),
)


@dataclass(frozen=True)
class PrivacyFinding:
    field: str
    kind: str

    @property
    def reason(self) -> str:
        return f"contains what looks like {self.kind}; findings must not carry personal data (the value is not echoed)"


#: Fields whose values are checked by their own patterns and never carry free text. The
#: provider's id is an organisation's slug like ``source``: "arden-peer-support-fd33ee" is not a
#: postcode.
STRUCTURED_FIELDS = frozenset(
    {"event_id", "occurred_at", "specversion", "type", "area", "region", "source", "data.provider_id"}
)


#: Every identifier the checks look for has a digit in it (or an "@"): text with neither is clear
#: without running them, which is most free text and most of the guard's cost.
_MAY_IDENTIFY = re.compile(r"[\d@]")


def scan(payload: dict[str, Any]) -> list[PrivacyFinding]:
    """Every free-text field that carries an identifier, with the kind found. Pure."""
    return scan_fields(leaves(payload))


def scan_fields(fields: Fields) -> list[PrivacyFinding]:
    """As :func:`scan`, over an event's fields already walked (see fields.leaves). Only free text
    is read: dates, times, ids, numbers and taxonomy values (enumeration members), in JSON or as
    Python values, are not free text."""
    found = []
    for path, text in fields:
        # A str subclass is an enumeration member: a taxonomy value, not text a person wrote.
        if type(text) is not str or not _is_free_text(path) or not _MAY_IDENTIFY.search(text):
            continue
        for kind, check in CHECKS:
            if check(text):
                found.append(PrivacyFinding(path, kind))
                break
    return found


@functools.lru_cache(maxsize=4096)  # events have a few dozen paths, lists aside
def _is_free_text(path: str) -> bool:
    return not (path in STRUCTURED_FIELDS or path.endswith(("_date", "period_start", "period_end")))
