"""Reporting statistics against worked examples with known answers."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from contracts.vocabulary import Indicator
from services.reporting.domain import stats
from services.reporting.domain.stats import (
    AssuranceIcon,
    FunnelPosition,
    Polarity,
    PointType,
    Rule,
    Significance,
    VariationIcon,
    XmRLimits,
)

HIGHER = Polarity.HIGHER_IS_BETTER
LOWER = Polarity.LOWER_IS_BETTER
NEITHER = Polarity.NO_JUDGEMENT


# --- Wilson score interval ---------------------------------------------------------------------


def test_z_values():
    assert stats.z_for(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert stats.z_for(0.998) == pytest.approx(3.090232, abs=1e-6)
    with pytest.raises(ValueError):
        stats.z_for(1.0)


@pytest.mark.parametrize(
    "x, n, lower, upper",
    [
        # Newcombe (1998), Statistics in Medicine 17:857-872, method 3 (score), examples (i)-(iv).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
    ],
)
def test_wilson_newcombe_examples(x, n, lower, upper):
    ci = stats.wilson_interval(x, n)
    assert round(ci.lower, 4) == lower
    assert round(ci.upper, 4) == upper
    assert ci.confidence == 0.95


def test_wilson_ends_are_exact_at_zero_and_all():
    assert stats.wilson_interval(0, 10).lower == 0.0
    assert stats.wilson_interval(10, 10).upper == 1.0


def test_wilson_is_symmetric_and_998_is_wider():
    a, b = stats.wilson_interval(81, 263), stats.wilson_interval(263 - 81, 263)
    assert a.lower == pytest.approx(1 - b.upper)
    assert a.upper == pytest.approx(1 - b.lower)
    wide = stats.wilson_interval(81, 263, 0.998)
    assert wide.lower < a.lower and wide.upper > a.upper
    assert wide.contains(81 / 263)


@pytest.mark.parametrize("x, n", [(1, 0), (-1, 10), (11, 10)])
def test_wilson_refuses_impossible_counts(x, n):
    with pytest.raises(ValueError):
        stats.wilson_interval(x, n)


def test_proportions_and_pooled_benchmark():
    assert stats.proportion(1, 4) == 0.25
    assert stats.proportion(1, 0) is None
    assert stats.proportion(None, 4) is None
    assert stats.pooled_proportion([(10, 100), (30, 100)]) == 0.2
    assert stats.pooled_proportion([]) is None


# --- Benchmarking and polarity -----------------------------------------------------------------


def test_polarity_comes_from_the_indicator_contract():
    assert stats.polarity_of(Indicator.FOUR_WEEK_WAIT) is HIGHER
    assert stats.polarity_of(Indicator.PAYMENT_OVERDUE) is LOWER


def test_interval_below_benchmark_is_worse_when_higher_is_better():
    # 81/263: 95% interval 0.2553-0.3662, entirely below 0.40.
    c = stats.compare_with_benchmark(81, 263, 0.40, HIGHER)
    assert c.significance is Significance.WORSE
    assert c.level == 0.95
    assert c.value == pytest.approx(81 / 263)
    assert c.interval_998 is None


def test_polarity_turns_the_same_difference_around():
    assert stats.compare_with_benchmark(81, 263, 0.40, LOWER).significance is Significance.BETTER
    assert stats.compare_with_benchmark(81, 263, 0.40, NEITHER).significance is Significance.LOWER
    assert stats.compare_with_benchmark(81, 263, 0.20, HIGHER).significance is Significance.BETTER
    assert stats.compare_with_benchmark(81, 263, 0.20, LOWER).significance is Significance.WORSE
    assert stats.compare_with_benchmark(81, 263, 0.20, NEITHER).significance is Significance.HIGHER


def test_benchmark_inside_the_interval_is_similar():
    c = stats.compare_with_benchmark(81, 263, 0.30, HIGHER)
    assert c.significance is Significance.SIMILAR
    assert c.level is None


def test_interval_touching_the_benchmark_is_similar():
    upper = stats.wilson_interval(81, 263).upper
    assert stats.compare_with_benchmark(81, 263, upper, HIGHER).significance is Significance.SIMILAR
    assert stats.compare_with_benchmark(81, 263, upper + 1e-9, HIGHER).significance is Significance.WORSE


def test_998_level_reported_when_it_holds():
    # 99.8% interval for 81/263 is about 0.2280-0.4014.
    at_40 = stats.compare_with_benchmark(81, 263, 0.40, HIGHER, use_998=True)
    assert (at_40.significance, at_40.level) == (Significance.WORSE, 0.95)
    assert at_40.interval_998 is not None and at_40.interval_998.contains(0.40)
    at_45 = stats.compare_with_benchmark(81, 263, 0.45, HIGHER, use_998=True)
    assert (at_45.significance, at_45.level) == (Significance.WORSE, 0.998)
    at_30 = stats.compare_with_benchmark(81, 263, 0.30, HIGHER, use_998=True)
    assert (at_30.significance, at_30.level) == (Significance.SIMILAR, None)


@pytest.mark.parametrize("x, n, benchmark", [(None, None, 0.5), (0, 0, 0.5), (5, 10, None), (5, 10, 1.5)])
def test_not_compared_without_data_or_benchmark(x, n, benchmark):
    c = stats.compare_with_benchmark(x, n, benchmark, HIGHER)
    assert c.significance is Significance.NOT_COMPARED
    assert c.level is None and c.reason


# --- Funnel limits -------------------------------------------------------------------------------


def _fingertips_sigma_adjustment(p: float, n: int, average: float, side: str) -> float:
    """PHEindicatormethods R/Funnels.R ``sigma_adjustment``, transcribed, as a proportion."""
    z = NormalDist().inv_cdf(p)
    first = average * (n / z**2 + 1)
    adj = math.sqrt(
        (-8 * average * (n / z**2 + 1)) ** 2
        - 64 * (1 / z**2 + 1 / n) * average * (n * (average * (n / z**2 + 2) - 1) + z**2 * (average - 1))
    )
    last = 1 / z**2 + 1 / n
    return ((first - adj / 8) if side == "low" else (first + adj / 8)) / last / n


def test_funnel_limits_hand_computed():
    f = stats.funnel_limits(0.5, 100)  # half-widths z * 0.05
    assert f.lower_95 == pytest.approx(0.5 - 1.959964 * 0.05, abs=1e-6)
    assert f.upper_95 == pytest.approx(0.5 + 1.959964 * 0.05, abs=1e-6)
    assert f.lower_998 == pytest.approx(0.5 - 3.090232 * 0.05, abs=1e-6)
    assert f.upper_998 == pytest.approx(0.5 + 3.090232 * 0.05, abs=1e-6)


@pytest.mark.parametrize("target", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("n", [50, 200, 1000])
def test_funnel_limits_agree_with_fingertips(target, n):
    # Fingertips clips the limits to 0..100% as it plots them (phe_funnels); so do we.
    f = stats.funnel_limits(target, n)
    low, high = (
        lambda p: max(0.0, _fingertips_sigma_adjustment(p, n, target, "low")),
        lambda p: min(1.0, _fingertips_sigma_adjustment(p, n, target, "high")),
    )
    assert f.lower_95 == pytest.approx(low(0.975))
    assert f.upper_95 == pytest.approx(high(0.975))
    assert f.lower_998 == pytest.approx(low(0.999))
    assert f.upper_998 == pytest.approx(high(0.999))


def test_funnel_limit_is_where_the_wilson_interval_touches_the_target():
    f = stats.funnel_limits(0.3, 400)
    z = stats.z_for(0.95)
    p, n = f.upper_95, 400
    wilson_lower = (p + z * z / (2 * n) - z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)
    assert wilson_lower == pytest.approx(0.3)


def test_funnel_limits_narrow_with_size_and_stay_in_range():
    small, large = stats.funnel_limits(0.5, 20), stats.funnel_limits(0.5, 2000)
    assert small.upper_95 - small.lower_95 > large.upper_95 - large.lower_95
    edge = stats.funnel_limits(0.02, 10)
    assert edge.lower_95 == 0.0 and edge.lower_998 == 0.0
    with pytest.raises(ValueError):
        stats.funnel_limits(0.5, 0)
    with pytest.raises(ValueError):
        stats.funnel_limits(50.0, 100)


@pytest.mark.parametrize(
    "x, position",
    [
        (34, FunnelPosition.LOW_998),  # 0.34 < 0.3455
        (40, FunnelPosition.LOW_95),  # 0.3455 <= 0.40 < 0.4020
        (50, FunnelPosition.WITHIN),
        (60, FunnelPosition.HIGH_95),  # 0.5980 < 0.60 <= 0.6545
        (66, FunnelPosition.HIGH_998),
    ],
)
def test_funnel_position(x, position):
    assert stats.funnel_position(x, 100, 0.5) is position


def test_funnel_point_on_the_limit_is_within():
    assert stats.funnel_position(0, 10, 0.0) is FunnelPosition.WITHIN
    assert stats.funnel_position(1, 10, 0.0) is FunnelPosition.HIGH_998


# --- XmR limits ------------------------------------------------------------------------------------

HAND_SERIES = [10, 12, 11, 13, 12, 14, 13, 12, 11, 12]


def test_xmr_limits_hand_computed():
    # Sum 120 over 10 points: mean 12. Moving ranges 2,1,2,1,2,1,1,1,1: sum 12 over 9.
    assert stats.moving_ranges(HAND_SERIES) == [2, 1, 2, 1, 2, 1, 1, 1, 1]
    lim = stats.xmr_limits(HAND_SERIES)
    assert lim.mean == 12.0
    assert lim.mean_moving_range == pytest.approx(4 / 3)
    assert lim.upper_process_limit == pytest.approx(12 + 2.66 * 4 / 3)  # 15.5467
    assert lim.lower_process_limit == pytest.approx(12 - 2.66 * 4 / 3)  # 8.4533
    assert lim.upper_near_limit == pytest.approx(12 + 2 / 3 * 2.66 * 4 / 3)  # 14.3644
    assert lim.lower_near_limit == pytest.approx(12 - 2 / 3 * 2.66 * 4 / 3)  # 9.6356
    assert lim.sigma == pytest.approx(2.66 * 4 / 3 / 3)
    assert lim.points_used == 10 and lim.trial


def test_xmr_outlier_screening_matches_nhsrplotthedots_example():
    # NHSRplotthedots vignette "Deviations from Excel defaults": screened limits are
    # UPL 4.6, mean 1.94, LPL -0.72; the MDC Excel tools do not screen.
    data = [1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]
    screened = stats.xmr_limits(data, screen_outliers=True)
    assert round(screened.mean, 2) == 1.94
    assert round(screened.upper_process_limit, 2) == 4.6
    assert round(screened.lower_process_limit, 2) == -0.72
    unscreened = stats.xmr_limits(data)
    assert unscreened.mean_moving_range == pytest.approx(32 / 17)
    assert unscreened.upper_process_limit > screened.upper_process_limit


def test_xmr_needs_two_values():
    with pytest.raises(ValueError):
        stats.xmr_limits([5.0])
    with pytest.raises(ValueError):
        stats.spc([5.0], HIGHER)


# --- Special-cause rules at their edges --------------------------------------------------------------

# Mean 0, mean moving range 1: process limits +/-2.66, near limits +/-1.7733.
UNIT = XmRLimits(
    mean=0.0,
    mean_moving_range=1.0,
    lower_process_limit=-2.66,
    upper_process_limit=2.66,
    lower_near_limit=-2 / 3 * 2.66,
    upper_near_limit=2 / 3 * 2.66,
    points_used=20,
)


def test_outside_limits_is_strict():
    assert stats.outside_limits([2.66, -2.66, 2.6601, -2.6601, 0.0], UNIT) == [False, False, True, True, False]


def test_shift_needs_seven_on_one_side():
    assert stats.shift_points([1.0] * 6, 0.0) == [False] * 6
    assert stats.shift_points([1.0] * 7, 0.0) == [True] * 7
    assert stats.shift_points([-1.0] * 7, 0.0) == [True] * 7
    assert stats.shift_points([1.0] * 9, 0.0) == [True] * 9


def test_shift_flags_only_the_run_and_a_point_on_the_mean_breaks_it():
    assert stats.shift_points([-1.0] + [1.0] * 7 + [-1.0], 0.0) == [False] + [True] * 7 + [False]
    assert stats.shift_points([1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0], 0.0) == [False] * 8
    assert stats.shift_points([1.0] * 3 + [-1.0] + [1.0] * 3, 0.0) == [False] * 7


def test_shift_run_length_is_configurable():
    assert stats.shift_points([1.0] * 6, 0.0, run=6) == [True] * 6


def test_trend_needs_seven_points_rising_or_falling():
    assert stats.trend_points([1, 2, 3, 4, 5, 6]) == [False] * 6
    assert stats.trend_points([1, 2, 3, 4, 5, 6, 7]) == [True] * 7
    assert stats.trend_points([7, 6, 5, 4, 3, 2, 1]) == [True] * 7
    assert stats.trend_points([1, 2, 3, 4, 5, 6], run=6) == [True] * 6


def test_trend_broken_by_a_tie_and_limited_to_its_points():
    assert stats.trend_points([1, 2, 3, 3, 4, 5, 6, 7]) == [False] * 8
    assert stats.trend_points([5, 1, 2, 3, 4, 5, 6, 7, 3]) == [False] + [True] * 7 + [False]
    assert stats.trend_directions([5, 1, 2, 3, 4, 5, 6, 7, 3]) == [0] + [1] * 7 + [0]
    # Up six then down six share the peak: both trends are flagged.
    assert stats.trend_points([1, 2, 3, 4, 5, 6, 7, 6, 5, 4, 3, 2, 1]) == [True] * 13


def test_two_of_three_near_a_limit_on_the_same_side():
    near = 2.0  # beyond 1.7733, inside 2.66
    assert stats.two_of_three_points([0.5, near, near, 0.5], UNIT) == [False, True, True, False]
    assert stats.two_of_three_points([near, 0.5, near], UNIT) == [True, False, True]
    assert stats.two_of_three_points([-near, -0.5, -near], UNIT) == [True, False, True]


def test_two_of_three_does_not_fire_at_its_edges():
    near = 2.0
    # Only one near point.
    assert stats.two_of_three_points([near, 0.5, 0.5], UNIT) == [False] * 3
    # Near points on opposite sides.
    assert stats.two_of_three_points([near, -near, near], UNIT) == [False] * 3
    # MDC asks all three to sit on the same side of the mean.
    assert stats.two_of_three_points([near, near, -0.5], UNIT) == [False] * 3
    # A point outside the limits is rule one, not a near point.
    assert stats.two_of_three_points([3.0, near, 0.5], UNIT) == [False] * 3
    # Exactly on two sigma is not beyond it.
    on = UNIT.upper_near_limit
    assert stats.two_of_three_points([on, on, 0.5], UNIT) == [False] * 3


# --- SPC with polarity, icons and assurance ------------------------------------------------------------

BASE = [11.0, 10.0] * 6  # mean 10.5, moving range 1: limits 7.84 to 13.16; ends below the mean
HIGH_SHIFT = [11.5, 11.2, 11.4, 11.3, 11.5, 11.2, 11.4]
LOW_SHIFT = [9.5, 9.8, 9.6, 9.7, 9.5, 9.8, 9.6]


def test_hand_series_is_common_cause():
    r = stats.spc(HAND_SERIES, HIGHER, target=15)
    assert r.special_cause_count == 0
    assert all(p.point_type is PointType.COMMON_CAUSE for p in r.points)
    assert r.variation is VariationIcon.COMMON_CAUSE
    assert r.assurance is AssuranceIcon.HIT_AND_MISS


def test_shift_of_seven_fires_and_six_does_not():
    six = stats.spc(BASE + HIGH_SHIFT[:6], HIGHER, baseline_points=12)
    assert six.special_cause_count == 0
    seven = stats.spc(BASE + HIGH_SHIFT, HIGHER, baseline_points=12)
    assert [p.index for p in seven.points if p.special_cause] == list(range(12, 19))
    assert all(p.rules == {Rule.SHIFT} for p in seven.points[12:])
    assert seven.limits.mean == 10.5 and seven.limits.points_used == 12


@pytest.mark.parametrize(
    "polarity, series, point_type, icon",
    [
        (HIGHER, HIGH_SHIFT, PointType.IMPROVEMENT, VariationIcon.IMPROVEMENT_HIGH),
        (LOWER, HIGH_SHIFT, PointType.CONCERN, VariationIcon.CONCERN_HIGH),
        (NEITHER, HIGH_SHIFT, PointType.NEUTRAL, VariationIcon.NEUTRAL_HIGH),
        (HIGHER, LOW_SHIFT, PointType.CONCERN, VariationIcon.CONCERN_LOW),
        (LOWER, LOW_SHIFT, PointType.IMPROVEMENT, VariationIcon.IMPROVEMENT_LOW),
        (NEITHER, LOW_SHIFT, PointType.NEUTRAL, VariationIcon.NEUTRAL_LOW),
    ],
)
def test_polarity_decides_improvement_or_concern(polarity, series, point_type, icon):
    r = stats.spc(BASE + series, polarity, baseline_points=12)
    assert {p.point_type for p in r.points[12:]} == {point_type}
    assert r.variation is icon


def test_point_outside_limits_and_icon_from_latest_point():
    r = stats.spc(BASE + [14.0], HIGHER, baseline_points=12)
    assert r.points[-1].rules == {Rule.OUTSIDE_LIMITS}
    assert r.variation is VariationIcon.IMPROVEMENT_HIGH
    back = stats.spc(BASE + [14.0, 10.0], HIGHER, baseline_points=12)
    assert back.variation is VariationIcon.COMMON_CAUSE  # the icon reads the latest point


def test_two_of_three_through_spc():
    # Near band above the mean: 12.27 to 13.16.
    r = stats.spc(BASE + [12.5, 11.0, 12.6], LOWER, baseline_points=12)
    assert [sorted(p.rules) for p in r.points[12:]] == [[Rule.TWO_OF_THREE], [], [Rule.TWO_OF_THREE]]
    assert r.points[-1].point_type is PointType.CONCERN


def test_rising_trend_from_below_the_mean_signals_its_direction():
    rising = [10.1, 10.3, 10.45, 10.6, 10.8, 11.0, 11.2]  # with the 10.0 before: 8 rising points
    r = stats.spc(BASE + rising, HIGHER, baseline_points=12)
    trend = [p for p in r.points if Rule.TREND in p.rules]
    assert [p.index for p in trend] == list(range(11, 19))
    assert all(p.rules == {Rule.TREND} for p in trend)
    # Below the mean yet rising: improvement where higher is better, not concern.
    assert all(p.point_type is PointType.IMPROVEMENT for p in trend)
    assert stats.spc(BASE + rising, LOWER, baseline_points=12).points[12].point_type is PointType.CONCERN


def test_trend_of_six_does_not_fire_through_spc():
    # With the 10.0 before them: six rising points, 10.0 to 11.0.
    r = stats.spc(BASE + [10.2, 10.4, 10.6, 10.8, 11.0, 9.0], HIGHER, baseline_points=12)
    assert not any(Rule.TREND in p.rules for p in r.points)


@pytest.mark.parametrize(
    "target, polarity, icon",
    [
        (15.0, HIGHER, AssuranceIcon.HIT_AND_MISS),
        (16.0, HIGHER, AssuranceIcon.CONSISTENTLY_FAIL),
        (8.0, HIGHER, AssuranceIcon.CONSISTENTLY_PASS),
        (16.0, LOWER, AssuranceIcon.CONSISTENTLY_PASS),
        (8.0, LOWER, AssuranceIcon.CONSISTENTLY_FAIL),
        (None, HIGHER, AssuranceIcon.NOT_ASSESSED),
        (15.0, NEITHER, AssuranceIcon.NOT_ASSESSED),
    ],
)
def test_assurance(target, polarity, icon):
    # Limits of the hand series: 8.4533 to 15.5467.
    assert stats.spc(HAND_SERIES, polarity, target).assurance is icon


def test_assurance_target_on_a_limit_is_hit_and_miss():
    lim = stats.xmr_limits(HAND_SERIES)
    assert stats.assurance_icon(lim, lim.upper_process_limit, HIGHER) is AssuranceIcon.HIT_AND_MISS
    assert stats.assurance_icon(lim, lim.lower_process_limit, HIGHER) is AssuranceIcon.HIT_AND_MISS


def test_constant_series_is_common_cause():
    r = stats.spc([5.0] * 10, HIGHER, target=5.0)
    assert r.special_cause_count == 0
    assert r.limits.upper_process_limit == r.limits.lower_process_limit == 5.0
    assert r.assurance is AssuranceIcon.HIT_AND_MISS
