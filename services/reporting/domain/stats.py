"""Statistics for the reporting dashboards: Wilson intervals, benchmarking, funnel limits, SPC.

Pure functions over plain numbers; no I/O. Proportions are fractions in 0..1 throughout; the
caller scales to percentages for display.

Sources, cited again where each rule is implemented:

- Wilson score interval: E. B. Wilson (1927), "Probable inference, the law of succession, and
  statistical inference", JASA 22:209-212; worked examples in R. G. Newcombe (1998), "Two-sided
  confidence intervals for the single proportion: comparison of seven methods", Statistics in
  Medicine 17:857-872 (method 3). The formula as Fingertips uses it is
  ``wilson_lower``/``wilson_upper`` in PHEindicatormethods (R/Wilson.R,
  github.com/ukhsa-collaboration/PHEindicatormethods).
- Benchmarking: OHID Fingertips technical guidance (fingertips.phe.org.uk/profile/guidance):
  an area is significantly different from its benchmark when the area's confidence interval
  does not contain the benchmark's value; polarity turns "higher"/"lower" into
  "better"/"worse". Same logic in FingertipsNext's ``getBenchmarkType``
  (github.com/dhsc-govuk/FingertipsNext).
- Funnel plot limits for proportions: D. J. Spiegelhalter (2005), "Funnel plots for comparing
  institutional performance", Statistics in Medicine 24:1185-1202; Fingertips' 95% (0.025) and
  99.8% (0.001) limits, ``sigma_adjustment`` and ``phe_funnel_significance`` in
  PHEindicatormethods (R/Funnels.R).
- SPC: NHS England "Making Data Count" (MDC), "Making data count: strengthening your decisions"
  and the MDC SPC Excel tools (england.nhs.uk/publication/making-data-count/), as implemented by
  the NHS-R community's NHSRplotthedots (github.com/nhs-r-community/NHSRplotthedots:
  R/ptd_spc_standard.R, R/ptd_calculate_point_type.R, R/ptd_calculate_assurance_type.R).
  XmR constants from D. J. Wheeler, "Understanding Variation" (2.66 = 3 / d2, d2 = 1.128).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import Enum
from statistics import NormalDist

from contracts.vocabulary import INDICATORS, Indicator
from services.common.stats import wilson_bounds

CONFIDENCE_95 = 0.95
CONFIDENCE_998 = 0.998


def z_for(confidence: float) -> float:
    """The two-sided standard normal quantile: 1.95996 for 0.95, 3.09023 for 0.998."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


# ---------------------------------------------------------------------------------------------
# Wilson score interval
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """A confidence interval for a proportion, both ends in 0..1."""

    lower: float
    upper: float
    confidence: float

    def contains(self, value: float) -> bool:
        return self.lower <= value <= self.upper


def _check_counts(numerator: int, denominator: int) -> None:
    if denominator <= 0:
        raise ValueError(f"denominator must be positive, not {denominator}")
    if numerator < 0 or numerator > denominator:
        raise ValueError(f"numerator must be between 0 and the denominator ({denominator}), not {numerator}")


def wilson_interval(numerator: int, denominator: int, confidence: float = CONFIDENCE_95) -> Interval:
    """Wilson score interval for ``numerator / denominator``.

    Wilson (1927); Newcombe (1998) method 3, whose worked examples the unit tests reproduce
    (81/263 gives 0.2553 to 0.3662; 0/10 gives 0 to 0.2775). Fingertips computes proportions'
    intervals this way (PHEindicatormethods R/Wilson.R):
    ``(2x + z^2 -/+ z * sqrt(z^2 + 4x(1 - x/n))) / (2(n + z^2))``.
    The interval never leaves 0..1 and is defined at 0 and at n, unlike the Wald interval.
    """
    _check_counts(numerator, denominator)
    lower, upper = wilson_bounds(numerator, denominator, z_for(confidence))
    return Interval(lower, upper, confidence)


def proportion(numerator: int | None, denominator: int | None) -> float | None:
    """``numerator / denominator``, or None when there is nothing to divide."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def pooled_proportion(pairs: Sequence[tuple[int, int]]) -> float | None:
    """A benchmark (region or England) as sum of numerators over sum of denominators."""
    total = sum(d for _, d in pairs)
    return None if total <= 0 else sum(x for x, _ in pairs) / total


# ---------------------------------------------------------------------------------------------
# Polarity and benchmarking (Fingertips)
# ---------------------------------------------------------------------------------------------


class Polarity(str, Enum):
    """Which direction is good for an indicator (Fingertips "polarity")."""

    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"
    NO_JUDGEMENT = "no_judgement"  # compared as higher/lower, never better/worse

    @property
    def direction(self) -> int:
        """+1 when higher is better, -1 when lower is better, 0 with no judgement."""
        return {Polarity.HIGHER_IS_BETTER: 1, Polarity.LOWER_IS_BETTER: -1, Polarity.NO_JUDGEMENT: 0}[self]


def polarity_of(indicator: Indicator) -> Polarity:
    """The polarity contracts.vocabulary.INDICATORS gives an indicator."""
    return Polarity.HIGHER_IS_BETTER if INDICATORS[indicator].higher_is_better else Polarity.LOWER_IS_BETTER


class Significance(str, Enum):
    """Fingertips comparison categories."""

    BETTER = "better"
    SIMILAR = "similar"
    WORSE = "worse"
    HIGHER = "higher"  # for indicators with no polarity
    LOWER = "lower"
    NOT_COMPARED = "not compared"


@dataclass(frozen=True)
class BenchmarkComparison:
    """An area's proportion against a benchmark value.

    ``level`` is the highest confidence level at which the difference holds (0.998 or 0.95),
    None when similar or not compared.
    """

    significance: Significance
    level: float | None
    value: float | None
    benchmark: float | None
    interval_95: Interval | None
    interval_998: Interval | None
    reason: str | None = None  # why it was not compared


def _side(interval: Interval, benchmark: float) -> int:
    """+1 when the whole interval is above the benchmark, -1 when below, 0 when it contains it.

    Strict, as in FingertipsNext: an interval that touches the benchmark counts as similar.
    """
    if interval.lower > benchmark:
        return 1
    if interval.upper < benchmark:
        return -1
    return 0


def _category(side: int, polarity: Polarity) -> Significance:
    if side == 0:
        return Significance.SIMILAR
    if polarity is Polarity.NO_JUDGEMENT:
        return Significance.HIGHER if side > 0 else Significance.LOWER
    return Significance.BETTER if side * polarity.direction > 0 else Significance.WORSE


def compare_with_benchmark(
    numerator: int | None,
    denominator: int | None,
    benchmark: float | None,
    polarity: Polarity,
    *,
    use_998: bool = False,
) -> BenchmarkComparison:
    """Compare an area's proportion with a benchmark (region or England) value, Fingertips-style.

    The area's Wilson interval (95%, and 99.8% when ``use_998``) is tested against the
    benchmark's point value, not against the benchmark's own interval: Fingertips technical
    guidance, "comparison with benchmark"; FingertipsNext ``getBenchmarkType``. Polarity turns
    a significant difference into "better" or "worse" (contracts.vocabulary.INDICATORS
    ``higher_is_better``); with no polarity it is "higher" or "lower".
    With ``use_998`` the 99.8% result is reported when it is significant, else the 95% one, and
    ``level`` says which.
    """
    if numerator is None or denominator is None or denominator <= 0:
        return BenchmarkComparison(Significance.NOT_COMPARED, None, None, benchmark, None, None, "no denominator")
    if benchmark is None or not 0.0 <= benchmark <= 1.0:
        return BenchmarkComparison(
            Significance.NOT_COMPARED, None, numerator / denominator, benchmark, None, None, "no benchmark value"
        )
    ci95 = wilson_interval(numerator, denominator, CONFIDENCE_95)
    ci998 = wilson_interval(numerator, denominator, CONFIDENCE_998) if use_998 else None
    value = numerator / denominator
    level: float | None
    if ci998 is not None and _side(ci998, benchmark) != 0:
        side, level = _side(ci998, benchmark), CONFIDENCE_998
    else:
        side = _side(ci95, benchmark)
        level = CONFIDENCE_95 if side != 0 else None
    return BenchmarkComparison(_category(side, polarity), level, value, benchmark, ci95, ci998)


# ---------------------------------------------------------------------------------------------
# Funnel plot limits (Spiegelhalter 2005; Fingertips)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelLimits:
    """Control limits around ``target`` for a proportion with ``denominator`` cases, in 0..1."""

    denominator: int
    target: float
    lower_95: float
    upper_95: float
    lower_998: float
    upper_998: float


def _funnel_half_width(target: float, denominator: int, confidence: float) -> float:
    return z_for(confidence) * math.sqrt(target * (1.0 - target) / denominator)


def funnel_limits(target: float, denominator: int) -> FunnelLimits:
    """95% and 99.8% funnel limits for a proportion at ``denominator``.

    ``target +/- z * sqrt(target * (1 - target) / n)``, clipped to 0..1 (Spiegelhalter 2005,
    normal approximation). This is exactly the observed proportion whose Wilson interval just
    touches the target, which is what Fingertips' ``sigma_adjustment`` solves for
    (PHEindicatormethods R/Funnels.R; the unit tests check the two agree). The target is
    usually the pooled proportion of all areas plotted (``pooled_proportion``).
    """
    if denominator <= 0:
        raise ValueError(f"denominator must be positive, not {denominator}")
    if not 0.0 <= target <= 1.0:
        raise ValueError(f"target must be a proportion in 0..1, not {target}")
    w95 = _funnel_half_width(target, denominator, CONFIDENCE_95)
    w998 = _funnel_half_width(target, denominator, CONFIDENCE_998)
    return FunnelLimits(
        denominator,
        target,
        max(0.0, target - w95),
        min(1.0, target + w95),
        max(0.0, target - w998),
        min(1.0, target + w998),
    )


class FunnelPosition(str, Enum):
    """Where a point lies in the funnel (PHEindicatormethods ``phe_funnel_significance``)."""

    HIGH_998 = "high_998"
    HIGH_95 = "high_95"
    WITHIN = "within"
    LOW_95 = "low_95"
    LOW_998 = "low_998"


def funnel_position(numerator: int, denominator: int, target: float) -> FunnelPosition:
    """Which funnel band ``numerator / denominator`` falls in; on a limit counts as within."""
    _check_counts(numerator, denominator)
    limits = funnel_limits(target, denominator)
    value = numerator / denominator
    if value < limits.lower_998:
        return FunnelPosition.LOW_998
    if value < limits.lower_95:
        return FunnelPosition.LOW_95
    if value > limits.upper_998:
        return FunnelPosition.HIGH_998
    if value > limits.upper_95:
        return FunnelPosition.HIGH_95
    return FunnelPosition.WITHIN


# ---------------------------------------------------------------------------------------------
# SPC: XmR chart, Making Data Count rules, icons
# ---------------------------------------------------------------------------------------------

#: Wheeler's XmR scaling constant: 3 / d2 with d2 = 1.128 for moving ranges of two points.
XMR_LIMIT = 2.66
#: Two sigma: two thirds of the way from the mean to a process limit (NHSRplotthedots
#: ``limitclose <- 2 * (limit / 3)``).
XMR_NEAR_LIMIT = 2.0 * XMR_LIMIT / 3.0
#: Moving ranges above 3.267 times the mean moving range are screened out when asked
#: (Nelson 1982; NHSRplotthedots ``screen_outliers``). The MDC Excel tools do not screen.
MR_SCREEN = 3.267
#: MDC: a shift is a run of 7 or more points all above or all below the mean.
SHIFT_RUN = 7
#: MDC: a trend is a run of 7 or more points each higher (or each lower) than the one before.
#: Nelson and Western Electric rule sets, and the Health Care Data Guide's run charts, use 6
#: (or 5) instead; MDC's tools use 7 (NHSRplotthedots ``ptd_seven_point_trend``).
TREND_RUN = 7
#: Fewer points than this give trial limits only (NHSRplotthedots short group warning; the
#: Health Care Data Guide asks for 20 to 30).
MIN_POINTS_FOR_LIMITS = 12


@dataclass(frozen=True)
class XmRLimits:
    """Centre line and limits of an XmR (individuals) chart."""

    mean: float
    mean_moving_range: float
    lower_process_limit: float
    upper_process_limit: float
    lower_near_limit: float  # two sigma below the mean
    upper_near_limit: float  # two sigma above the mean
    points_used: int

    @property
    def sigma(self) -> float:
        """The process sigma, as the limits use it: a third of the distance to a limit."""
        return XMR_LIMIT * self.mean_moving_range / 3.0

    @property
    def trial(self) -> bool:
        """True when too few points were used for limits to be locked."""
        return self.points_used < MIN_POINTS_FOR_LIMITS


def moving_ranges(values: Sequence[float]) -> list[float]:
    """Absolute differences between consecutive values (one fewer than the values)."""
    return [abs(b - a) for a, b in zip(values, values[1:])]


def xmr_limits(values: Sequence[float], *, screen_outliers: bool = False) -> XmRLimits:
    """Mean, mean moving range and process limits ``mean +/- 2.66 * mean moving range``.

    MDC and NHSRplotthedots ``ptd_spc_standard``: the process limits are three sigma, sigma
    being the mean moving range over 1.128; the near limits are two sigma. With
    ``screen_outliers`` moving ranges above 3.267 times their mean are dropped before the mean
    moving range is recomputed (NHSRplotthedots' default; the MDC Excel tools do not).
    """
    if len(values) < 2:
        raise ValueError("an XmR chart needs at least two values")
    if not all(math.isfinite(v) for v in values):
        raise ValueError("an XmR chart needs finite values")
    mean = math.fsum(values) / len(values)
    ranges = moving_ranges(values)
    mr_bar = math.fsum(ranges) / len(ranges)
    if screen_outliers:
        kept = [r for r in ranges if r < MR_SCREEN * mr_bar]
        mr_bar = math.fsum(kept) / len(kept) if kept else mr_bar
    return XmRLimits(
        mean=mean,
        mean_moving_range=mr_bar,
        lower_process_limit=mean - XMR_LIMIT * mr_bar,
        upper_process_limit=mean + XMR_LIMIT * mr_bar,
        lower_near_limit=mean - XMR_NEAR_LIMIT * mr_bar,
        upper_near_limit=mean + XMR_NEAR_LIMIT * mr_bar,
        points_used=len(values),
    )


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def _flag_runs(keys: Sequence[int], run: int) -> list[bool]:
    """Flag every element of each maximal run of equal, non-zero keys at least ``run`` long."""
    flags = [False] * len(keys)
    start = 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            if keys[start] != 0 and i - start >= run:
                flags[start:i] = [True] * (i - start)
            start = i
    return flags


def outside_limits(values: Sequence[float], limits: XmRLimits) -> list[bool]:
    """MDC rule: a single point above the upper or below the lower process limit.

    Strictly outside: a point on a limit is not flagged (NHSRplotthedots ``outside_limits``).
    """
    return [v > limits.upper_process_limit or v < limits.lower_process_limit for v in values]


def shift_points(values: Sequence[float], mean: float, run: int = SHIFT_RUN) -> list[bool]:
    """MDC rule: a run of ``run`` (7) or more consecutive points all above or all below the mean.

    Every point of the run is flagged; a point exactly on the mean breaks the run
    (NHSRplotthedots ``ptd_seven_point_one_side_mean`` with ``ptd_part_of_seven_trend``).
    """
    return _flag_runs([_sign(v - mean) for v in values], run)


def trend_points(values: Sequence[float], run: int = TREND_RUN) -> list[bool]:
    """MDC rule: ``run`` (7) or more consecutive points each higher, or each lower, than the last.

    Seven points are six consecutive rises (or falls); an equal neighbour breaks the trend.
    Every point of the trend is flagged (NHSRplotthedots ``ptd_seven_point_trend``). Note MDC
    counts points, not steps: a rule of "6 increasing" elsewhere (Nelson) differs by design.
    """
    if run < 2:
        raise ValueError("a trend has at least two points")
    flags = [False] * len(values)
    steps = [_sign(b - a) for a, b in zip(values, values[1:])]
    # A run of k equal non-zero steps covers k + 1 points.
    for i, flagged in enumerate(_flag_runs(steps, run - 1)):
        if flagged:
            flags[i] = flags[i + 1] = True
    return flags


def trend_directions(values: Sequence[float], run: int = TREND_RUN) -> list[int]:
    """For each point in a trend, +1 if the trend rises and -1 if it falls; 0 elsewhere."""
    directions = [0] * len(values)
    steps = [_sign(b - a) for a, b in zip(values, values[1:])]
    for i, flagged in enumerate(_flag_runs(steps, run - 1)):
        if flagged:
            directions[i] = directions[i + 1] = steps[i]
    return directions


def near_limits(values: Sequence[float], limits: XmRLimits) -> list[bool]:
    """Beyond two sigma, inside the process limits (NHSRplotthedots ``close_to_limits``)."""
    return [
        (v > limits.upper_near_limit or v < limits.lower_near_limit)
        and limits.lower_process_limit <= v <= limits.upper_process_limit
        for v in values
    ]


def two_of_three_points(values: Sequence[float], limits: XmRLimits) -> list[bool]:
    """MDC rule: two out of three consecutive points near a process limit, on the same side.

    In any three consecutive points all on the same side of the mean, when at least two are
    beyond two sigma (and inside the process limits, a point outside being rule one), those
    near points are flagged (NHSRplotthedots ``ptd_two_in_three`` and
    ``ptd_part_of_two_in_three``).
    """
    near = near_limits(values, limits)
    sides = [_sign(v - limits.mean) for v in values]
    flags = [False] * len(values)
    for i in range(len(values) - 2):
        window = range(i, i + 3)
        same_side = sides[i] != 0 and all(sides[j] == sides[i] for j in window)
        if same_side and sum(near[j] for j in window) >= 2:
            for j in window:
                flags[j] = flags[j] or near[j]
    return flags


class Rule(str, Enum):
    """The four MDC special-cause rules."""

    OUTSIDE_LIMITS = "outside_limits"
    SHIFT = "shift"
    TREND = "trend"
    TWO_OF_THREE = "two_of_three"

    @property
    def title(self) -> str:  # type: ignore[override]  # a display title, shadowing str.title on purpose
        return RULE_TITLES[self]


RULE_TITLES: dict[Rule, str] = {
    Rule.OUTSIDE_LIMITS: "outside the process limits",
    Rule.SHIFT: f"run of {SHIFT_RUN} or more on one side of the mean",
    Rule.TREND: f"{TREND_RUN} or more points rising or falling",
    Rule.TWO_OF_THREE: "two of three points near a process limit",
}


class PointType(str, Enum):
    COMMON_CAUSE = "common_cause"
    IMPROVEMENT = "special_cause_improvement"
    CONCERN = "special_cause_concern"
    NEUTRAL = "special_cause_neutral"


class VariationIcon(str, Enum):
    """MDC variation icons, read from the latest point."""

    COMMON_CAUSE = "common_cause"
    IMPROVEMENT_HIGH = "improvement_high"
    IMPROVEMENT_LOW = "improvement_low"
    CONCERN_HIGH = "concern_high"
    CONCERN_LOW = "concern_low"
    NEUTRAL_HIGH = "neutral_high"
    NEUTRAL_LOW = "neutral_low"


class AssuranceIcon(str, Enum):
    """MDC assurance icons: can the process be relied on to meet its target?"""

    CONSISTENTLY_PASS = "consistently_pass"
    HIT_AND_MISS = "hit_and_miss"
    CONSISTENTLY_FAIL = "consistently_fail"
    NOT_ASSESSED = "not_assessed"  # no target, or no polarity to say which side passes


@dataclass(frozen=True)
class SpcPoint:
    index: int
    value: float
    rules: frozenset[Rule]
    point_type: PointType
    direction: int  # +1 a high signal, -1 a low one, 0 common cause

    @property
    def special_cause(self) -> bool:
        return bool(self.rules)


@dataclass(frozen=True)
class SpcResult:
    limits: XmRLimits
    points: tuple[SpcPoint, ...]
    polarity: Polarity
    target: float | None
    variation: VariationIcon
    assurance: AssuranceIcon

    @property
    def special_cause_count(self) -> int:
        return sum(1 for p in self.points if p.special_cause)


def point_type(direction: int, polarity: Polarity) -> PointType:
    """Improvement when the signal goes the good way, concern when it goes the bad way.

    NHSRplotthedots ``ptd_calculate_point_type``; with no polarity every signal is neutral.
    """
    if direction == 0:
        return PointType.COMMON_CAUSE
    if polarity is Polarity.NO_JUDGEMENT:
        return PointType.NEUTRAL
    return PointType.IMPROVEMENT if direction == polarity.direction else PointType.CONCERN


def _direction(rules: frozenset[Rule], side: int, trend: int) -> int:
    """Which way a special-cause point signals.

    By its side of the mean, as NHSRplotthedots does, except for a point flagged by the trend
    rule alone: that signals the way the trend runs, so a rising run that starts below the mean
    is not shown as a concern where higher is better.
    """
    if not rules:
        return 0
    if rules == {Rule.TREND} or side == 0:
        return trend or side
    return side


def variation_icon(points: Sequence[SpcPoint]) -> VariationIcon:
    """The MDC variation icon for the latest point (NHSRplotthedots ``summary`` reads the last)."""
    if not points or not points[-1].special_cause:
        return VariationIcon.COMMON_CAUSE
    last = points[-1]
    high = last.direction > 0
    return {
        PointType.IMPROVEMENT: (VariationIcon.IMPROVEMENT_HIGH, VariationIcon.IMPROVEMENT_LOW),
        PointType.CONCERN: (VariationIcon.CONCERN_HIGH, VariationIcon.CONCERN_LOW),
        PointType.NEUTRAL: (VariationIcon.NEUTRAL_HIGH, VariationIcon.NEUTRAL_LOW),
    }[last.point_type][0 if high else 1]


def assurance_icon(limits: XmRLimits, target: float | None, polarity: Polarity) -> AssuranceIcon:
    """MDC assurance: where the target sits against the process limits.

    Target between the limits (inclusive): hit and miss. Beyond the limits on the bad side:
    consistently fail; on the good side: consistently pass (NHSRplotthedots
    ``ptd_calculate_assurance_type``).
    """
    if target is None or polarity is Polarity.NO_JUDGEMENT:
        return AssuranceIcon.NOT_ASSESSED
    if target > limits.upper_process_limit:
        return (
            AssuranceIcon.CONSISTENTLY_FAIL
            if polarity is Polarity.HIGHER_IS_BETTER
            else AssuranceIcon.CONSISTENTLY_PASS
        )
    if target < limits.lower_process_limit:
        return (
            AssuranceIcon.CONSISTENTLY_PASS
            if polarity is Polarity.HIGHER_IS_BETTER
            else AssuranceIcon.CONSISTENTLY_FAIL
        )
    return AssuranceIcon.HIT_AND_MISS


def clamp_limits(limits: XmRLimits, bounds: tuple[float, float]) -> XmRLimits:
    """The limits held inside the scale the measure can take (a percentage: 0 to 100).

    A process limit past the end of the scale says nothing a reader can use (a value cannot be
    below 0% or above 100%); the limit is drawn at the end of the scale instead, the mean is
    left as it is."""
    lo, hi = bounds
    if lo > hi:
        raise ValueError(f"bounds {bounds} are the wrong way round")

    def held(v: float) -> float:
        return min(hi, max(lo, v))

    return replace(
        limits,
        lower_process_limit=held(limits.lower_process_limit),
        upper_process_limit=held(limits.upper_process_limit),
        lower_near_limit=held(limits.lower_near_limit),
        upper_near_limit=held(limits.upper_near_limit),
    )


def spc(
    values: Sequence[float],
    polarity: Polarity,
    target: float | None = None,
    *,
    baseline_points: int | None = None,
    screen_outliers: bool = False,
    shift_run: int = SHIFT_RUN,
    trend_run: int = TREND_RUN,
    bounds: tuple[float, float] | None = None,
) -> SpcResult:
    """An MDC XmR chart: limits, the four special-cause rules per point, and the two icons.

    ``baseline_points`` fixes the limits on the first n values and applies them to all
    (NHSRplotthedots ``fix_after_n_points``). ``bounds`` is the scale the measure can take
    (0 to 100 for a percentage): limits beyond it are held at its ends (``clamp_limits``).
    Rules: a point outside the process limits; a shift of 7 on one side of the mean; a trend
    of 7 rising or falling; two of three near a limit on the same side. Sources as cited on
    each rule's function.
    """
    if baseline_points is not None and baseline_points < 2:
        raise ValueError("a baseline needs at least two values")
    base = values[:baseline_points] if baseline_points else values
    limits = xmr_limits(base, screen_outliers=screen_outliers)
    if bounds is not None:
        limits = clamp_limits(limits, bounds)
    fired: dict[Rule, list[bool]] = {
        Rule.OUTSIDE_LIMITS: outside_limits(values, limits),
        Rule.SHIFT: shift_points(values, limits.mean, shift_run),
        Rule.TREND: trend_points(values, trend_run),
        Rule.TWO_OF_THREE: two_of_three_points(values, limits),
    }
    trends = trend_directions(values, trend_run)
    points = []
    for i, v in enumerate(values):
        rules = frozenset(rule for rule, flags in fired.items() if flags[i])
        direction = _direction(rules, _sign(v - limits.mean), trends[i])
        points.append(SpcPoint(i, float(v), rules, point_type(direction, polarity), direction))
    return SpcResult(
        limits, tuple(points), polarity, target, variation_icon(points), assurance_icon(limits, target, polarity)
    )
