"""Today's two money rules at the seeds' scale: grants "ranging from £500 to 10,000" (001:739),
"A sum of £5000 value added grant funding was used to support 8 Northampton voluntary
organisations" (001:756). The shortfall rule is proportional, so it judges a 500-pound grant as it
judges a 120,000-pound contract; the contract rule reads dates, not sums."""

from __future__ import annotations

from datetime import timedelta

from contracts.citations import misquoted, seed
from contracts.events import AlertSeverity
from contracts.vocabulary import Indicator
from services.alerts.domain.rules.funding import contract_ending, funding_gap
from services.alerts.domain.thresholds import FundingThresholds

from .factories import TODAY, figure, prec

T = FundingThresholds()


def test_the_seeds_small_sums_are_cited_where_the_rules_say():
    assert misquoted(seed("001", 739, "grants ranging from \u00a3500 to 10,000 across 10 or more projects")) is None
    assert (
        misquoted(
            seed(
                "001",
                756,
                "A sum of \u00a35000 value added grant funding was used to support 8 "
                "Northampton voluntary organisations",
            )
        )
        is None
    )


def test_funding_gap_judges_a_small_grant_in_proportion():
    def gap(committed, required):
        return funding_gap(
            prec(figure(Indicator.FUNDING, committed, committed=committed, required=required)),
            T,
        )

    half = gap(2_500, 5_000)  # half of the Northampton 5,000
    assert half is not None and half.severity is AlertSeverity.RED
    assert half.evidence["shortfall_gbp"] == 2_500 and "£2,500 committed against £5,000" in half.detail
    assert gap(450, 500) is None  # 50 pounds short of 500: within a tenth
    amber = gap(400, 500)  # a fifth short
    assert amber is not None and amber.severity is AlertSeverity.AMBER
    assert gap(9_000, 10_000) is None and gap(8_500, 10_000) is not None


def test_a_small_grants_contract_ending_is_judged_by_its_dates_alone():
    ending = prec(
        figure(Indicator.CONTRACT_END, 20, contract_end=TODAY + timedelta(days=20), committed=500, required=500)
    )
    found = contract_ending(ending, TODAY, T)
    assert found is not None and found.severity is AlertSeverity.RED
