"""Where a domain claim comes from: a quoted line range of a seed document, or a local default.

Every stage, competency, role, plan, destination, indicator target, mapping rule and alert
threshold that rests on the seed documents (``docs/seeds/``) cites them with a :class:`SeedRef`,
which carries a short verbatim quote so that a wrong line number is caught by a test rather than
by a commissioner. A figure or routing the seeds do not give is a :class:`LocalDefault` with its
reason, never a citation of a nearby heading.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter, field_validator, model_validator

#: The seed documents by their three-digit number (see docs/seeds/README.md).
SEED_FILES: dict[str, str] = {
    "000": "000_7e844ea1bcdc73dd.txt",
    "001": "001_93a630ca1a6a1dee.txt",
    "002": "002_82c4fd005c265713.txt",
    "003": "003_91cb6e705136cded.txt",
    "004": "004_c03c14da175a4187.txt",
}
SEEDS_DIR = Path(__file__).resolve().parents[1] / "docs" / "seeds"
#: A quote is short: enough words to find the claim, not a paragraph.
MAX_QUOTE = 300


#: The seeds the platform cites, by number.
SeedNumber = Literal["000", "001", "002", "003", "004"]


class SeedRef(BaseModel):
    """Lines ``first..last`` (1-based, inclusive) of seed ``seed``, and what they say."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    seed: SeedNumber
    lines: tuple[int, int]
    quote: str = Field(min_length=3, max_length=MAX_QUOTE)

    @field_validator("lines", mode="before")
    @classmethod
    def _one_line_or_a_range(cls, value: Any) -> Any:
        return (value, value) if isinstance(value, int) else value

    @model_validator(mode="after")
    def _ordered(self) -> "SeedRef":
        first, last = self.lines
        if first < 1 or last < first:
            raise ValueError(f"lines {first}-{last} is not a range of lines")
        return self

    @property
    def file(self) -> str:
        return SEED_FILES[self.seed]

    @property
    def ref(self) -> str:
        """``file:line`` or ``file:first-last``, as the docs and older records write it."""
        first, last = self.lines
        return f"{self.file}:{first}" + (f"-{last}" if last != first else "")

    def __str__(self) -> str:
        return f"{self.ref} \u201c{self.quote}\u201d"

    def as_json(self) -> dict:
        return {"seed": self.seed, "file": self.file, "lines": list(self.lines), "ref": self.ref, "quote": self.quote}


class LocalDefault(BaseModel):
    """A figure or routing the seeds do not give: the platform's own choice, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    source: Literal["local default"] = "local default"
    reason: str = Field(min_length=10)

    def __str__(self) -> str:
        return f"local default: {self.reason}"

    def as_json(self) -> dict:
        return {"source": self.source, "reason": self.reason}


Citation = Annotated[Union[SeedRef, LocalDefault], Field(union_mode="smart")]
#: One or more citations, as rules and thresholds carry them.
Citations = Annotated[tuple[Citation, ...], Field(min_length=1)]
_CITATIONS = TypeAdapter(tuple[Citation, ...])


def seed(number: SeedNumber, lines: int | tuple[int, int], quote: str) -> SeedRef:
    """Shorthand for a :class:`SeedRef` in Python sources: ``seed("001", 685, "...")``."""
    return SeedRef(seed=number, lines=(lines, lines) if isinstance(lines, int) else lines, quote=quote)


def local(reason: str) -> LocalDefault:
    return LocalDefault(reason=reason)


def parse_citations(raw: Iterable[Mapping]) -> tuple[SeedRef | LocalDefault, ...]:
    """Citations from their JSON form (as :meth:`SeedRef.as_json` writes it; ``file`` and ``ref``
    are derived, so they are dropped before validation)."""
    return _CITATIONS.validate_python([{k: v for k, v in dict(c).items() if k not in ("file", "ref")} for c in raw])


def render(citations: Iterable[SeedRef | LocalDefault]) -> str:
    """One line for people: each citation with its quote or its reason."""
    return "; ".join(str(c) for c in citations)


def as_json(citations: Iterable[SeedRef | LocalDefault]) -> list[JsonValue]:
    return [c.as_json() for c in citations]


# --- checking ----------------------------------------------------------------------------------


def _normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def seed_lines(number: str, seeds_dir: Path = SEEDS_DIR) -> list[str]:
    return (seeds_dir / SEED_FILES[number]).read_text(encoding="utf-8").splitlines()


def misquoted(ref: SeedRef, seeds_dir: Path = SEEDS_DIR) -> str | None:
    """Why ``ref`` does not hold (its quote is not within its lines), or None when it does.

    The cited lines are joined with a space and white space is collapsed, so a quote may span
    the range; the comparison is case-sensitive."""
    lines = seed_lines(ref.seed, seeds_dir)
    first, last = ref.lines
    if last > len(lines):
        return f"{ref.ref}: the seed has {len(lines)} lines"
    cited = _normalised(" ".join(lines[first - 1 : last]))
    if _normalised(ref.quote) not in cited:
        return f"{ref.ref}: {ref.quote!r} is not on the cited lines"
    return None


def walk(obj: Any, where: str = "") -> Iterator[tuple[str, SeedRef | LocalDefault]]:
    """Every citation reachable from ``obj`` (models, dataclasses, mappings, sequences), with a
    path saying where it was found."""
    if isinstance(obj, (SeedRef, LocalDefault)):
        yield where, obj
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from walk(getattr(obj, name), f"{where}.{name}")
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from walk(getattr(obj, f.name), f"{where}.{f.name}")
    elif isinstance(obj, Mapping):
        for key, value in obj.items():
            label = getattr(key, "value", key)
            yield from walk(value, f"{where}[{label}]")
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for i, value in enumerate(obj):
            yield from walk(value, f"{where}[{i}]")


def module_citations(module: Any) -> Iterator[tuple[str, SeedRef | LocalDefault]]:
    """Every citation held by a module's public data (its dictionaries, lists and records)."""
    for name, value in vars(module).items():
        if not name.startswith("_") and not isinstance(value, type) and not callable(value):
            yield from walk(value, f"{module.__name__}.{name}")
