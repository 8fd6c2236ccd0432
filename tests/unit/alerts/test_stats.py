"""Statistics against published and closed-form values."""

from __future__ import annotations

from fractions import Fraction
from math import comb

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.alerts.domain.stats import (
    Interval,
    binomial_upper_tail,
    rise_p_value,
    share_ratio_interval,
    significant_rise,
    wilson_interval,
)


def r4(interval: Interval) -> tuple[float, float]:
    return round(interval.lower, 4), round(interval.upper, 4)


# Newcombe RG (1998) "Two-sided confidence intervals for the single proportion: comparison of
# seven methods", Stat Med 17:857-872, Table I, method 3 (Wilson score, no continuity correction).
@pytest.mark.parametrize(
    "x, n, expected",
    [
        (81, 263, (0.2553, 0.3662)),
        (15, 148, (0.0624, 0.1605)),
        (0, 20, (0.0, 0.1611)),
        (1, 29, (0.0061, 0.1718)),
    ],
)
def test_wilson_matches_newcombe_1998(x, n, expected):
    assert r4(wilson_interval(x, n)) == expected


# Closed forms: for 0/n the upper bound is z^2/(n+z^2) = 3.8416/13.8416 = 0.27754; 5/10 is
# symmetric about 0.5 with half-width 1.96*sqrt(0.025+0.009604)/1.38416 = 0.26336.
@pytest.mark.parametrize(
    "x, n, expected",
    [
        (0, 10, (0.0, 0.2775)),
        (5, 10, (0.2366, 0.7634)),
        (10, 10, (0.7225, 1.0)),
    ],
)
def test_wilson_closed_forms(x, n, expected):
    assert r4(wilson_interval(x, n)) == expected


def test_wilson_bounds_are_exact_at_the_extremes():
    assert wilson_interval(0, 7).lower == 0.0
    assert wilson_interval(7, 7).upper == 1.0


def test_wilson_widens_with_a_higher_z():
    wide, narrow = wilson_interval(30, 100, z=2.576), wilson_interval(30, 100, z=1.96)
    assert wide.lower < narrow.lower and wide.upper > narrow.upper


@pytest.mark.parametrize("x, n, z", [(1, 0, 1.96), (-1, 10, 1.96), (11, 10, 1.96), (1, 10, 0)])
def test_wilson_refuses_nonsense(x, n, z):
    with pytest.raises(ValueError):
        wilson_interval(x, n, z)


@given(n=st.integers(1, 5000), data=st.data())
def test_wilson_contains_estimate_and_is_symmetric(n, data):
    x = data.draw(st.integers(0, n))
    w = wilson_interval(x, n)
    assert 0.0 <= w.lower <= w.estimate <= w.upper <= 1.0
    mirror = wilson_interval(n - x, n)
    assert w.lower == pytest.approx(1 - mirror.upper, abs=1e-12)
    assert w.upper == pytest.approx(1 - mirror.lower, abs=1e-12)


@given(x=st.integers(1, 50), n=st.integers(51, 500))
def test_wilson_narrows_with_more_data(x, n):
    small, large = wilson_interval(x, n), wilson_interval(4 * x, 4 * n)
    assert large.upper - large.lower < small.upper - small.lower


def test_share_ratio_is_wilson_over_population_share():
    ratio = share_ratio_interval(81, 263, 0.5)
    share = wilson_interval(81, 263)
    assert (ratio.lower, ratio.upper) == pytest.approx((share.lower / 0.5, share.upper / 0.5))
    assert (round(ratio.lower, 3), round(ratio.upper, 3)) == (0.511, 0.732)  # Newcombe x 2
    assert ratio.estimate == pytest.approx((81 / 263) / 0.5)
    assert ratio.excludes(1.0)


def test_interval_including_parity_at_its_edge_does_not_exclude_it():
    assert not Interval(0.8, 0.6, 1.0).excludes(1.0)
    assert Interval(0.8, 0.6, 0.999).excludes(1.0)


@pytest.mark.parametrize("share", [0.0, -0.1, 1.5])
def test_share_ratio_refuses_impossible_population_share(share):
    with pytest.raises(ValueError):
        share_ratio_interval(5, 10, share)


@pytest.mark.parametrize(
    "current, previous, expected",
    [
        (5, 0, 1 / 32),  # 0.5^5
        (4, 0, 1 / 16),
        (10, 2, Fraction(66 + 12 + 1, 4096)),  # P(X >= 10 | n = 12, p = 1/2)
        (0, 7, 1.0),
        (3, 3, Fraction(sum(comb(6, k) for k in range(3, 7)), 64)),
    ],
)
def test_rise_p_value_exact(current, previous, expected):
    assert rise_p_value(current, previous) == pytest.approx(float(expected), rel=1e-9)


def test_rise_p_value_weights_window_lengths():
    # p = 3/4 when the current window is three times as long: P(X >= 2 | n = 2) = 0.5625.
    assert rise_p_value(2, 0, current_length=3, previous_length=1) == pytest.approx(0.5625)


def test_significant_rise_at_five_percent():
    assert significant_rise(5, 0)
    assert not significant_rise(4, 0)
    assert significant_rise(10, 2)
    assert not significant_rise(6, 4)


def test_large_counts_do_not_overflow():
    assert 0 < rise_p_value(600, 400) < 1e-9
    assert rise_p_value(5000, 5000) == pytest.approx(0.5, abs=0.01)


@given(n=st.integers(0, 60), data=st.data(), p=st.sampled_from([0.25, 0.5, 0.6]))
def test_binomial_tail_matches_exact_sum(n, data, p):
    k = data.draw(st.integers(0, n + 1))
    q = Fraction(p).limit_denominator(100)
    exact = sum(comb(n, i) * q**i * (1 - q) ** (n - i) for i in range(k, n + 1))
    assert binomial_upper_tail(k, n, p) == pytest.approx(float(exact), rel=1e-9, abs=1e-300)


def test_rise_refuses_nonsense():
    with pytest.raises(ValueError):
        rise_p_value(-1, 0)
    with pytest.raises(ValueError):
        rise_p_value(1, 0, current_length=0)
    with pytest.raises(ValueError):
        significant_rise(1, 0, alpha=1.5)
