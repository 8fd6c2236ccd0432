"""Over-representation in coercive care (#20 item 5): detention, compulsory admission and
seclusion by ethnic group are read as the seeds read them, where more is worse (001:650,
001:722), while access (utilisation) keeps measuring under-use."""

from __future__ import annotations

import pytest

from contracts.citations import SEEDS_DIR, seed_lines
from contracts.events import AlertSeverity, ProviderPerformanceEvent
from contracts.vocabulary import INDICATORS, Community, Indicator
from services.alerts.domain.rules.race_equality import over_representation, under_use
from services.alerts.domain.thresholds import RaceEqualityThresholds

from .factories import figure, prec

T = RaceEqualityThresholds()
COERCIVE = Indicator.COERCIVE_CARE_BY_ETHNIC_GROUP


def detained(group: int, everyone: int, share: float, indicator: Indicator = COERCIVE) -> ProviderPerformanceEvent:
    return figure(
        indicator,
        group / everyone / share,
        numerator=group,
        denominator=everyone,
        community=Community.AFRICAN_CARIBBEAN,
        population_share=share,
        provider_id="bsmhft",
        provider_name="Birmingham and Solihull Mental Health Trust",
    )


def test_more_is_worse_for_coercive_care_and_better_for_access():
    assert not INDICATORS[COERCIVE].higher_is_better
    assert INDICATORS[Indicator.UTILISATION_BY_ETHNIC_GROUP].higher_is_better
    assert not INDICATORS[COERCIVE].meets(2.5, 1.0)  # over-representation misses parity
    assert INDICATORS[COERCIVE].meets(0.9, 1.0)


def test_a_group_detained_out_of_proportion_raises_the_alert_with_its_interval():
    # 60 of 200 people detained (30%) from a group that is 12% of the population: ratio 2.5.
    out = over_representation(prec(detained(60, 200, 0.12)), T)
    assert out is not None and out.severity is AlertSeverity.RED  # interval wholly above 2
    e = out.evidence
    assert e["ratio"] == pytest.approx(2.5) and e["ratio_lower"] > 2.0
    assert e["target_label"] == "local target"
    assert "Over-representation" in out.detail and "wholly above the local target of 1" in out.detail


def test_amber_when_above_parity_but_not_twice_it():
    out = over_representation(prec(detained(30, 200, 0.10)), T)  # 15% against 10%: 1.5
    assert out is not None and out.severity is AlertSeverity.AMBER


def test_quiet_when_the_interval_reaches_parity_or_the_group_is_under_represented():
    assert over_representation(prec(detained(3, 20, 0.12)), T) is None  # 1.25, too few to tell
    assert over_representation(prec(detained(10, 200, 0.12)), T) is None  # 0.42: under, not over


def test_under_use_reads_access_only_and_over_representation_coercive_care_only():
    """The same counts mean opposite things: for access a low share is the concern, for
    coercive care a high one."""
    low = detained(10, 400, 0.15)
    assert over_representation(prec(low), T) is None
    access = detained(10, 400, 0.15, Indicator.UTILISATION_BY_ETHNIC_GROUP)
    assert under_use(prec(access), T) is not None
    assert over_representation(prec(access), T) is None
    assert under_use(prec(detained(60, 200, 0.12)), T) is None


def test_the_indicator_needs_the_group_and_its_population_share():
    with pytest.raises(ValueError, match="needs community and population_share"):
        figure(COERCIVE, 2.0, numerator=10, denominator=20)


@pytest.mark.parametrize("ref", INDICATORS[COERCIVE].cites)
def test_the_seeds_say_so(ref):
    first, last = ref.lines
    text = " ".join(seed_lines(ref.seed, SEEDS_DIR)[first - 1 : last])
    assert ref.quote in text
