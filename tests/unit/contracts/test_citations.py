"""Every seed citation in the contracts, the mapping rules and the alert thresholds says what its
lines say: its quote is found, whitespace-normalised and case-sensitive, on the cited lines of
docs/seeds/. The citations are collected by walking the loaded data, so a new one is checked
without being listed here."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

import contracts.peer_review
import contracts.taxonomy
import contracts.vocabulary
from contracts.citations import LocalDefault, SeedRef, misquoted, module_citations, seed_lines, walk
from services.alerts.domain import conditions
from services.alerts.domain.thresholds import threshold_citations
from services.mapping.domain.ruleset import load
from tests.conftest import REPO


def every_citation() -> list[tuple[str, SeedRef | LocalDefault]]:
    found = [
        *module_citations(contracts.taxonomy),
        *module_citations(contracts.vocabulary),
        *module_citations(contracts.peer_review),
        *module_citations(conditions),
        *walk(load(), "rules"),
    ]
    for name, cites in threshold_citations().items():
        found.extend(walk(cites, f"thresholds.{name}"))
    return found


CITATIONS = every_citation()
SEED_REFS = [(where, c) for where, c in CITATIONS if isinstance(c, SeedRef)]


def test_the_walk_reaches_every_kind_of_citation():
    for prefix in (
        "rules.themes",
        "rules.indicators",
        "rules.sectors",
        "thresholds.funding",
        "contracts.taxonomy.STAGE_SOURCES",
        "contracts.taxonomy.COMPETENCY_SOURCES",
        "contracts.taxonomy.COMPETENCY_OTHER_NAMES",
        "contracts.taxonomy.CDW_ROLES",
        "contracts.taxonomy.PLAN_SOURCES",
        "contracts.taxonomy.DESTINATION_SOURCES",
        "contracts.vocabulary.INDICATORS",
        "services.alerts.domain.conditions.CONCERNS",
    ):
        assert any(where.startswith(prefix) for where, _ in SEED_REFS), prefix
    assert len(SEED_REFS) > 150
    assert any(isinstance(c, LocalDefault) for _, c in CITATIONS)


@pytest.mark.parametrize("where, ref", SEED_REFS, ids=[w for w, _ in SEED_REFS])
def test_quote_is_on_the_cited_lines(where, ref):
    assert misquoted(ref) is None


def test_every_rule_threshold_and_indicator_cites_something():
    rules = load()
    assert all(r.cites for r in (*rules.themes, *rules.indicators, *rules.sectors))
    assert all(cites for cites in threshold_citations().values())
    for spec in contracts.vocabulary.INDICATORS.values():
        assert spec.cites
        assert (spec.target_source is None) == (spec.default_target is None), spec.indicator


def test_a_wrong_line_number_fails():
    right = SeedRef(seed="001", lines=(685, 685), quote="98.8% valid ethnicity codes")
    assert misquoted(right) is None
    # The ethnicity rules once cited 001:704, which is about detention and seclusion.
    wrong = SeedRef(seed="001", lines=(704, 704), quote="98.8% valid ethnicity codes")
    assert "not on the cited lines" in misquoted(wrong)
    # A heading near the evidence is not the evidence (the funding rules once cited 001:727).
    heading = SeedRef(
        seed="001", lines=(727, 727), quote="Financial deficits within the NHS have led to huge challenges"
    )
    assert misquoted(heading) is not None
    assert "lines" in misquoted(SeedRef(seed="004", lines=(99999, 99999), quote="anything"))


def test_a_quote_may_span_its_range_but_not_leave_it():
    spanning = SeedRef(seed="002", lines=(1444, 1445), quote="Tier 2** IAPT (proportion of people")
    assert misquoted(spanning) is None
    assert misquoted(SeedRef(seed="002", lines=(1445, 1445), quote="Tier 2** IAPT")) is not None


def test_quotes_are_case_sensitive():
    assert misquoted(SeedRef(seed="000", lines=202, quote="Competency 4 and 7")) is None
    assert misquoted(SeedRef(seed="000", lines=202, quote="competency 4 and 7")) is not None


@pytest.mark.parametrize(
    "bad",
    [
        {"seed": "007", "lines": 1, "quote": "anything"},
        {"seed": "001", "lines": (10, 9), "quote": "anything"},
        {"seed": "001", "lines": 0, "quote": "anything"},
        {"seed": "001", "lines": 10, "quote": ""},
        {"seed": "001", "lines": 10, "quote": "x" * 301},
        {"seed": "001", "lines": 10},
    ],
)
def test_a_citation_without_a_seed_range_or_short_quote_is_refused(bad):
    with pytest.raises(ValidationError):
        SeedRef.model_validate(bad)


POINTER = re.compile(r"\b(00[0-4]):(\d+)(?:-(\d+))?")
SOURCES = [
    *sorted((REPO / "contracts").glob("*.py")),
    REPO / "services/alerts/domain/thresholds.py",
    *sorted((REPO / "services/mapping").rglob("*.py")),
    REPO / "services/mapping/rules/ruleset.yaml",
]


def test_pointers_in_docstrings_and_comments_name_lines_that_say_something():
    """A short ``seed:line`` pointer in prose (a docstring or comment, next to the quoted
    citations) names lines inside its seed, and neither end of the range is blank."""
    checked = 0
    for path in SOURCES:
        for m in POINTER.finditer(path.read_text(encoding="utf-8")):
            lines = seed_lines(m.group(1))
            first, last = int(m.group(2)), int(m.group(3) or m.group(2))
            where = f"{path.relative_to(REPO)}: {m.group(0)}"
            assert 1 <= first <= last <= len(lines), where
            assert lines[first - 1].strip() and lines[last - 1].strip(), f"{where} starts or ends on a blank line"
            checked += 1
    assert checked > 20
