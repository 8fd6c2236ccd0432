"""The taxonomy must say what the seed documents say. These tests read the seeds themselves."""
from __future__ import annotations

import re
import pytest

from tests.conftest import SEEDS
from contracts.taxonomy import (CDW_ROLES, COMPETENCY_TITLES, PLAN_TITLES, SEED_CDW_GUIDE,
                                SEED_COMMISSIONING_FRIEND, CDWRole, Competency, Plan, Stage,
                                taxonomy_document)



def seed_lines(name: str) -> list[str]:
    path = SEEDS / name
    assert path.exists(), f"seed document missing: {path}"
    return path.read_text(encoding="utf-8").splitlines()


def _role_row(role_word: str) -> str:
    """The table row (one line, or the header row and the next) that carries a step's mapping."""
    lines = seed_lines(SEED_CDW_GUIDE)
    for i, line in enumerate(lines):
        if role_word in line and ("ompetenc" in line or "ompetenc" in lines[i + 1]):
            return " ".join(lines[i:i + 3])
    raise AssertionError(f"no mapping row for {role_word}")


def _numbers_after(text: str, marker: str) -> set[int]:
    tail = text.split(marker, 1)[1]
    head = re.split(r"Key aspects", tail, maxsplit=1)[0]
    return {int(n) for n in re.findall(r"\d+", head)}


def _stage_numbers(text: str) -> set[int]:
    tail = text.split("Commissioning model:", 1)[1]
    return {int(n) for n in re.findall(r"(?<![\d,])(\d)\.\s+[A-Za-z]", tail)}


@pytest.mark.parametrize("role, word, marker", [
    (CDWRole.ACCESS_FACILITATOR, "ACCESS Facilitator", "Competency"),
    (CDWRole.CHANGE_AGENT, "CHANGE AGENT</p> <p>As", "WCC competencies"),
    (CDWRole.SERVICE_DEVELOPER, "STEP 3 SERVICE DEVELOPER", "WCC competencies"),
])
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
def test_competency_descriptions_are_quoted_from_the_seed(competency):
    text = " ".join(seed_lines(SEED_COMMISSIONING_FRIEND)[1050:1140])
    text = re.sub(r"\s+", " ", text)
    # The first six words of each description appear verbatim in the seed's competency list.
    opening = " ".join(COMPETENCY_TITLES[competency][1].split()[:6])
    assert opening.lower() in text.lower(), opening


def test_stage_names_appear_in_the_seed():
    text = " ".join(seed_lines(SEED_CDW_GUIDE)).lower()
    for stage in Stage:
        assert stage.title.lower().split()[0] in text


def test_taxonomy_document_is_complete_and_sorted():
    doc = taxonomy_document()
    assert [s["number"] for s in doc["stages"]] == list(range(1, 9))
    assert [c["number"] for c in doc["competencies"]] == list(range(1, 12))
    roles = {r["id"]: r for r in doc["cdw_roles"]}
    assert roles["access_facilitator"]["competencies"] == [4, 7]
    assert roles["access_facilitator"]["stages"] == [2, 3, 4, 7]
    assert all(r["stages"] == sorted(r["stages"]) for r in doc["cdw_roles"])
