"""Rule 2: funding gaps, ending contracts and overdue payments for voluntary providers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.events import AlertSeverity
from contracts.vocabulary import Indicator, ProviderSector
from services.alerts.domain.rules.funding import (
    contract_ending,
    days_overdue,
    funding_gap,
    payment_overdue,
    shortfall_fraction,
)
from services.alerts.domain.thresholds import FundingThresholds

from .factories import TODAY, figure, month, prec

T = FundingThresholds()  # tolerance 10%, red 25%, contract 90/30 days, overdue 14/30 days


def funding(committed, required, **kw):
    return prec(figure(Indicator.FUNDING, committed, committed=committed, required=required, **kw))


def contract(days_left, renewal=None, **kw):
    return prec(
        figure(Indicator.CONTRACT_END, days_left, renewal=renewal, contract_end=TODAY + timedelta(days=days_left), **kw)
    )


def overdue(days, period=14):
    return prec(figure(Indicator.PAYMENT_OVERDUE, days, period=period))


@pytest.mark.parametrize(
    "committed, required, fraction", [(100, 100, 0.0), (120, 100, 0.0), (90, 100, 0.1), (0, 100, 1.0), (5, 0, 0.0)]
)
def test_shortfall_fraction(committed, required, fraction):
    assert shortfall_fraction(committed, required) == pytest.approx(fraction)


def test_shortfall_exactly_at_tolerance_is_not_more_than_tolerance():
    assert funding_gap(funding(90_000, 100_000), T) is None


def test_shortfall_just_over_tolerance_fires_amber():
    outcome = funding_gap(funding(89_999, 100_000), T)
    assert outcome.severity is AlertSeverity.AMBER
    assert outcome.evidence["shortfall_gbp"] == 10_001
    assert outcome.subject == "provider:pattigift"
    assert outcome.provider_id == "pattigift"
    assert "£89,999 committed against £100,000 required" in outcome.detail


def test_red_only_beyond_red_shortfall():
    assert funding_gap(funding(75_000, 100_000), T).severity is AlertSeverity.AMBER
    assert funding_gap(funding(74_999, 100_000), T).severity is AlertSeverity.RED


def test_statutory_providers_are_not_watched_unless_configured():
    nhs = funding(10, 100, sector=ProviderSector.STATUTORY, provider_id="bsmhft")
    assert funding_gap(nhs, T) is None
    wider = FundingThresholds(sectors={ProviderSector.VOLUNTARY, ProviderSector.STATUTORY})
    assert funding_gap(nhs, wider).severity is AlertSeverity.RED


def test_funding_rule_reads_only_funding_figures():
    assert funding_gap(overdue(100), T) is None


def test_contract_ending_within_n_days_fires_at_the_boundary():
    assert contract_ending(contract(91), TODAY, T) is None
    at_boundary = contract_ending(contract(90), TODAY, T)
    assert at_boundary.severity is AlertSeverity.AMBER
    assert at_boundary.evidence["days_left"] == 90
    assert contract_ending(contract(31), TODAY, T).severity is AlertSeverity.AMBER
    assert contract_ending(contract(30), TODAY, T).severity is AlertSeverity.RED


def test_recorded_renewal_silences_the_contract_rule():
    assert contract_ending(contract(10, renewal=True), TODAY, T) is None
    assert contract_ending(contract(10, renewal=False), TODAY, T) is not None
    assert contract_ending(contract(10, renewal=None), TODAY, T) is not None


def test_an_ended_contract_with_no_renewal_is_red():
    outcome = contract_ending(contract(-5), TODAY, T)
    assert outcome.severity is AlertSeverity.RED
    assert "ended on" in outcome.detail


def test_contract_window_is_configurable():
    t = FundingThresholds(contract_ending_days=180, red_contract_ending_days=60)
    assert contract_ending(contract(150), TODAY, t).severity is AlertSeverity.AMBER
    assert contract_ending(contract(60), TODAY, t).severity is AlertSeverity.RED


def test_days_overdue_carries_forward_while_unpaid():
    as_at = month(13)[1]
    assert days_overdue(10, as_at, as_at) == 10
    assert days_overdue(10, as_at, as_at + timedelta(days=7)) == 17
    assert days_overdue(0, as_at, as_at + timedelta(days=70)) == 0
    assert days_overdue(10, as_at, as_at - timedelta(days=3)) == 10


def test_payment_overdue_beyond_n_days():
    march_end = month(14)[1]
    assert march_end == TODAY
    assert payment_overdue(overdue(14), TODAY, T) is None
    assert payment_overdue(overdue(15), TODAY, T).severity is AlertSeverity.AMBER
    assert payment_overdue(overdue(30), TODAY, T).severity is AlertSeverity.AMBER
    assert payment_overdue(overdue(31), TODAY, T).severity is AlertSeverity.RED


def test_payment_reported_earlier_is_counted_to_today():
    february = overdue(5, period=13)  # 5 days overdue as at 28 February 2026
    outcome = payment_overdue(february, TODAY, T)
    assert outcome.evidence["days_overdue_now"] == 5 + 31
    assert outcome.severity is AlertSeverity.RED
