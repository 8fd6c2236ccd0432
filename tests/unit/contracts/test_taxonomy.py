"""The taxonomy must say what the seed documents say. These tests read the seeds themselves."""

from __future__ import annotations

import re
import pytest

from tests.conftest import SEEDS
from contracts.taxonomy import (
    CDW_ROLES,
    COMPETENCY_SOURCES,
    DESTINATION_SOURCES,
    DESTINATION_TITLES,
    PLAN_TITLES,
    SEED_CDW_GUIDE,
    SEED_COMMISSIONING_FRIEND,
    STAGE_ALIASES,
    STAGE_SOURCES,
    CDWRole,
    Competency,
    Destination,
    Plan,
    Stage,
    competency_named,
    taxonomy_document,
)


def seed_lines(name: str) -> list[str]:
    path = SEEDS / name
    assert path.exists(), f"seed document missing: {path}"
    return path.read_text(encoding="utf-8").splitlines()


def _role_row(role_word: str) -> str:
    """The table row (one line, or the header row and the next) that carries a step's mapping."""
    lines = seed_lines(SEED_CDW_GUIDE)
    for i, line in enumerate(lines):
        if role_word in line and ("ompetenc" in line or "ompetenc" in lines[i + 1]):
            return " ".join(lines[i : i + 3])
    raise AssertionError(f"no mapping row for {role_word}")


def _numbers_after(text: str, marker: str) -> set[int]:
    tail = text.split(marker, 1)[1]
    head = re.split(r"Key aspects", tail, maxsplit=1)[0]
    return {int(n) for n in re.findall(r"\d+", head)}


def _stage_numbers(text: str) -> set[int]:
    tail = text.split("Commissioning model:", 1)[1]
    return {int(n) for n in re.findall(r"(?<![\d,])(\d)\.\s+[A-Za-z]", tail)}


@pytest.mark.parametrize(
    "role, word, marker",
    [
        (CDWRole.ACCESS_FACILITATOR, "ACCESS Facilitator", "Competency"),
        (CDWRole.CHANGE_AGENT, "CHANGE AGENT</p> <p>As", "WCC competencies"),
        (CDWRole.SERVICE_DEVELOPER, "STEP 3 SERVICE DEVELOPER", "WCC competencies"),
    ],
)
def test_role_competencies_and_stages_match_the_seed_table(role, word, marker):
    row = _role_row(word)
    assert {int(c) for c in CDW_ROLES[role].competencies} == _numbers_after(row, marker)
    assert {int(s) for s in CDW_ROLES[role].stages} == _stage_numbers(row)


def test_capacity_builder_matches_the_seed_table():
    lines = seed_lines(SEED_CDW_GUIDE)
    at = next(i for i, line in enumerate(lines) if line.startswith("STEP 4\t"))
    competencies = {int(n) for n in re.findall(r"\d+", lines[at].split("competencies", 1)[1])}
    stages = {int(n) for n in re.findall(r"(\d)\.\s+[A-Z]", lines[at + 2])}
    assert {int(c) for c in CDW_ROLES[CDWRole.CAPACITY_BUILDER].competencies} == competencies
    assert {int(s) for s in CDW_ROLES[CDWRole.CAPACITY_BUILDER].stages} == stages == {1, 6, 7, 8}


def test_there_are_eight_stages_eleven_competencies_four_roles_three_plans():
    assert [int(s) for s in Stage] == list(range(1, 9))
    assert [int(c) for c in Competency] == list(range(1, 12))
    assert [CDW_ROLES[r].step for r in CDWRole] == [1, 2, 3, 4]
    assert len(Plan) == 3 and set(PLAN_TITLES) == set(Plan)


@pytest.mark.parametrize("competency", list(Competency))
def test_competency_titles_and_descriptions_are_quoted_whole_from_the_seed(competency):
    ref = COMPETENCY_SOURCES[competency]
    cited = re.sub(r"\s+", " ", " ".join(seed_lines(SEED_COMMISSIONING_FRIEND)[ref.lines[0] - 1 : ref.lines[1]]))
    assert f"{int(competency)}. {competency.title}" in cited
    assert competency.description in cited


def _whole_title_in_seeds(title: str) -> bool:
    """The whole title, not its first word, in the CDW guide's tables or the cycle in 002."""
    guide = re.sub(r"\s+", " ", " ".join(seed_lines(SEED_CDW_GUIDE)[194:264])).lower()
    cycle = seed_lines(SEED_COMMISSIONING_FRIEND)[1197].lower()
    return title.lower() in guide or title.lower() in cycle


@pytest.mark.parametrize("stage", list(Stage))
def test_stage_titles_appear_whole_in_the_seed(stage):
    assert _whole_title_in_seeds(stage.title)
    # Each stage cites the guide's numbered entry ("gaps analysis" there, "gap analysis" in 002).
    assert any(
        f"{int(stage)}. {stage.title.lower()}" in ref.quote.lower().replace("gaps", "gap")
        for ref in STAGE_SOURCES[stage]
    )
    if stage in STAGE_ALIASES:
        assert _whole_title_in_seeds(STAGE_ALIASES[stage])


def test_a_title_sharing_only_its_first_word_with_a_stage_fails():
    assert not _whole_title_in_seeds("Managing expectations")
    assert not _whole_title_in_seeds("Strategic marketing")


def test_competency_11_has_both_names_and_either_finds_it():
    c = Competency.EFFICIENCY_AND_EFFECTIVENESS_OF_SPEND
    assert c.other_names == ("Make sound financial investments",)
    for text in (
        "Make sound financial investments",
        "  make SOUND financial   investments ",
        "Efficiency and effectiveness of spend",
        "11",
        c.slug,
    ):
        assert competency_named(text) is c
    assert competency_named("Spend wisely") is None
    doc = {x["number"]: x for x in taxonomy_document()["competencies"]}
    assert doc[11]["other_names"] == ["Make sound financial investments"]
    assert {tuple(r["lines"]) for r in doc[11]["cites"]} >= {(725, 725), (738, 738), (780, 780), (989, 989)}


def test_destinations_are_the_ones_the_guide_names():
    assert {d.value for d in Destination} == {
        "lit",
        "jsna",
        "lsp_laa",
        "pct_decision_making",
        "provider_workforce_monitoring",
        "contract_monitoring",
    }
    assert set(DESTINATION_SOURCES) == set(Destination) == set(DESTINATION_TITLES)


def test_the_change_agent_reading_is_recorded_with_the_garbled_quote():
    m = CDW_ROLES[CDWRole.CHANGE_AGENT]
    assert m.reading and "1, 2, 3, 4, 5 and 7" in m.reading
    assert any("4. reviewing services and gaps analysis 5. risk management" in r.quote for r in m.cites)


def test_taxonomy_document_is_complete_and_sorted():
    doc = taxonomy_document()
    assert [s["number"] for s in doc["stages"]] == list(range(1, 9))
    assert [c["number"] for c in doc["competencies"]] == list(range(1, 12))
    roles = {r["id"]: r for r in doc["cdw_roles"]}
    assert roles["access_facilitator"]["competencies"] == [4, 7]
    assert roles["access_facilitator"]["stages"] == [2, 3, 4, 7]
    assert all(r["stages"] == sorted(r["stages"]) for r in doc["cdw_roles"])
