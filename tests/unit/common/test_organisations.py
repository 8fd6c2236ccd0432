"""What a partner organisation may report (services.common.organisations.may_report)."""

from __future__ import annotations

from services.common.organisations import Registration, may_report

PATTIGIFT = Registration(
    "pattigift", "Pattigift", "vcse_provider", frozenset({"BSOL"}), reports_for=frozenset({"pattigift"})
)
ALLIANCE = Registration(
    "somerset-vcse-alliance",
    "Somerset VCSE alliance",
    "vcse_provider",
    frozenset({"SOM"}),
    frozenset(),
    frozenset({"mind-in-somerset"}),
    frozenset({"somerset-vcse-alliance", "mind-in-somerset", "mind-taunton-cafe"}),
)


def test_the_issues_case_is_refused_on_both_fields():
    """Pattigift (BSOL) posting for SOM about the Somerset VCSE alliance, as in the issue."""
    refused = may_report(PATTIGIFT, "SOM", "somerset-vcse-alliance")
    assert refused is not None and refused.fields == ["area", "data.provider_id"]
    area, provider = refused.errors
    assert area["pointer"] == "#/area" and "BSOL" in area["reason"] and "'SOM'" in area["reason"]
    assert provider["pointer"] == "#/data/provider_id" and "somerset-vcse-alliance" in provider["reason"]


def test_its_own_area_and_itself_as_provider_pass():
    assert may_report(PATTIGIFT, "BSOL", "pattigift") is None
    assert may_report(PATTIGIFT, "BSOL", None) is None  # a finding names no provider


def test_another_area_alone_is_refused_on_area():
    assert may_report(PATTIGIFT, "BLKC", None).fields == ["area"]
    assert may_report(PATTIGIFT, "BLKC", "pattigift").fields == ["area"]


def test_a_provider_it_does_not_report_for_is_refused_even_if_nobody_registered_it():
    """A provider no organisation lists is not free for all: a partner reports only for the
    providers registered to it."""
    assert may_report(PATTIGIFT, "BSOL", "birmingham-talking-therapies").fields == ["data.provider_id"]


def test_a_registered_provider_id_passes():
    with_service = Registration(
        "pattigift",
        "Pattigift",
        "vcse_provider",
        frozenset({"BSOL"}),
        frozenset({"pattigift-counselling"}),
        reports_for=frozenset({"pattigift", "pattigift-counselling"}),
    )
    assert may_report(with_service, "BSOL", "pattigift-counselling") is None


def test_an_alliance_lead_reports_for_its_members_and_their_providers():
    assert may_report(ALLIANCE, "SOM", "mind-in-somerset") is None
    assert may_report(ALLIANCE, "SOM", "mind-taunton-cafe") is None
    assert may_report(ALLIANCE, "SOM", "pattigift").fields == ["data.provider_id"]


def test_an_organisation_with_no_area_reports_nothing():
    bare = Registration("new-group", "New group", "faith_or_community_group", reports_for=frozenset({"new-group"}))
    refused = may_report(bare, "BSOL", None)
    assert refused.fields == ["area"] and "serves: none" in refused.errors[0]["reason"]


def test_an_organisation_missing_from_the_registry_reports_nothing():
    assert may_report(None, "BSOL", None).fields == ["source"]
