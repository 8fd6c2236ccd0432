"""What a partner organisation may report (services.common.organisations.refusals)."""
from __future__ import annotations

from services.common.organisations import Registration, refusals

PATTIGIFT = Registration("pattigift", "Pattigift", "vcse_provider", frozenset({"BSOL"}),
                         frozenset(), frozenset(), frozenset({"pattigift"}))
ALLIANCE = Registration("somerset-vcse-alliance", "Somerset VCSE alliance", "vcse_provider",
                        frozenset({"SOM"}), frozenset(), frozenset({"mind-in-somerset"}),
                        frozenset({"somerset-vcse-alliance", "mind-in-somerset", "mind-taunton-cafe"}))


def test_the_issues_case_is_refused_on_both_fields():
    found = refusals(PATTIGIFT, "SOM", "somerset-vcse-alliance", frozenset({"somerset-vcse-alliance"}))
    assert [f for f, _ in found] == ["area", "data.provider_id"]
    assert "BSOL" in found[0][1]


def test_its_own_area_and_provider_pass():
    assert refusals(PATTIGIFT, "BSOL", "pattigift", frozenset({"pattigift"})) == []
    assert refusals(PATTIGIFT, "BSOL", None, frozenset()) == []


def test_a_provider_registered_to_nobody_is_accepted():
    assert refusals(PATTIGIFT, "BSOL", "revolving-door", frozenset()) == []


def test_an_alliance_lead_reports_for_its_members():
    assert refusals(ALLIANCE, "SOM", "mind-in-somerset", frozenset({"mind-in-somerset"})) == []
    assert refusals(ALLIANCE, "SOM", "mind-taunton-cafe", frozenset({"mind-in-somerset"})) == []


def test_an_organisation_missing_from_the_registry_reports_nothing():
    assert [f for f, _ in refusals(None, "BSOL", None, frozenset())] == ["source"]
