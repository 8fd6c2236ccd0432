"""Interval estimates and tests the alert rules use to decide whether a difference is real.

Stdlib only. The methods are the ones public health analysts use (OHID Fingertips publishes
Wilson score intervals for proportions; an exact conditional test is the standard way to
compare two Poisson counts):

* :func:`wilson_interval` - Wilson score interval for a proportion, without continuity
  correction (Newcombe 1998, method 3).
* :func:`share_ratio_interval` - a group's share of service users divided by its share of the
  population. The population share is treated as known (it comes from the census), so the
  interval is the Wilson interval of the observed share divided by the population share.
* :func:`rise_p_value` - one-sided exact conditional test that a count is higher than the count
  of an earlier window: given ``n = current + previous`` events, under "no change" the current
  count is Binomial(n, e1 / (e1 + e0)) where e1, e0 are the windows' lengths.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from services.common.stats import wilson_bounds

#: Two-sided 95% confidence (issue 5: "the Wilson 95% interval").
Z_95 = 1.96


class Interval(NamedTuple):
    """A point estimate with its lower and upper confidence limits."""

    estimate: float
    lower: float
    upper: float

    def excludes(self, value: float) -> bool:
        """True when ``value`` lies strictly outside the closed interval."""
        return value < self.lower or value > self.upper

    def scaled(self, factor: float) -> "Interval":
        """The interval with every bound multiplied by a positive ``factor``."""
        if factor <= 0:
            raise ValueError(f"scale factor must be positive, got {factor}")
        return Interval(self.estimate * factor, self.lower * factor, self.upper * factor)


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> Interval:
    """Wilson score interval for ``successes / trials`` (no continuity correction).

    The formula is services.common.stats.wilson_bounds, shared with the reports.
    """
    lower, upper = wilson_bounds(successes, trials, z)
    return Interval(successes / trials, lower, upper)


def share_ratio_interval(group_users: int, total_users: int, population_share: float, z: float = Z_95) -> Interval:
    """Service-use share over population share, with the Wilson interval of the share scaled.

    1.0 is parity; an upper bound below 1.0 means the group uses the service less than its share
    of the population would predict, beyond what chance explains (Reverse Commissioning,
    003:66-87).
    """
    if not 0 < population_share <= 1:
        raise ValueError(f"population_share must be in (0, 1], got {population_share}")
    share = wilson_interval(group_users, total_users, z)
    return Interval(share.estimate / population_share, share.lower / population_share, share.upper / population_share)


def _log_binomial_pmf(k: int, n: int, p: float) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p) + (n - k) * math.log1p(-p)


def binomial_upper_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed in log space so large n do not overflow."""
    if not 0 < p < 1:
        raise ValueError(f"p must be in (0, 1), got {p}")
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    logs = [_log_binomial_pmf(i, n, p) for i in range(k, n + 1)]
    top = max(logs)
    return min(1.0, math.exp(top) * math.fsum(math.exp(v - top) for v in logs))


def rise_p_value(current: int, previous: int, current_length: float = 1.0, previous_length: float = 1.0) -> float:
    """One-sided p-value that the current window's rate of events exceeds the previous one's.

    Exact conditional test for two Poisson counts: conditional on the total, the current count
    is binomial with p = current_length / (current_length + previous_length). Small p-values
    mean a rise that chance is unlikely to explain. A current count of zero gives 1.0.
    """
    if current < 0 or previous < 0:
        raise ValueError(f"counts must not be negative, got {current} and {previous}")
    if current_length <= 0 or previous_length <= 0:
        raise ValueError("window lengths must be positive")
    p = current_length / (current_length + previous_length)
    return binomial_upper_tail(current, current + previous, p)


def significant_rise(
    current: int, previous: int, alpha: float = 0.05, current_length: float = 1.0, previous_length: float = 1.0
) -> bool:
    """True when :func:`rise_p_value` is below ``alpha``."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    return rise_p_value(current, previous, current_length, previous_length) < alpha
