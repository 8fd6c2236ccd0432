"""Rule 4: race equality data gaps (001:685, 001:709), under-use (Reverse Commissioning,
003:66-87) and over-representation in coercive care (001:650, 001:722).

* Ethnicity recording completeness: the latest percentage of records whose ethnicity is known
  is below the area's threshold. With the valid, not stated and missing counts (contract
  1.1.0) a record coded "not stated" is not known, since a high share of valid codes "could be
  misleading as some of the codes may be under the category ‘not stated’" (001:685);
  without them the percentage sent is read as the completeness, as before.
* Under-use: a provider's users from a community, as a share of all its users, against the
  community's share of the area population. The figure needs the counts (``numerator`` =
  users from the group, ``denominator`` = all users) and ``population_share``. The interval is
  the Wilson interval of the users' share divided by the population share (``stats.
  share_ratio_interval``); the rule fires only when the interval's upper bound is below the
  ratio threshold (parity, 1.0, by default), i.e. the 95% interval excludes parity. Without
  counts the difference cannot be judged, so the rule stays quiet rather than guess.
* Over-representation in coercive care (detention, compulsory admission, seclusion): the same
  ratio for the people a provider detained or secluded, read the other way: the rule fires only
  when the interval's lower bound is above the ratio threshold (parity by default). Access
  indicators keep measuring under-use; coercive care measures over-representation.
"""

from __future__ import annotations

import math

from contracts.vocabulary import LOCAL_TARGET, Indicator

from ..records import PerformanceRecord, RuleOutcome, provider_facts, provider_outcome
from ..stats import Interval, share_ratio_interval
from ..thresholds import RaceEqualityThresholds
from ._text import day, label, number


def ethnicity_recording_gap(record: PerformanceRecord, t: RaceEqualityThresholds) -> RuleOutcome | None:
    """Fires when completeness is below ``completeness_below`` (red below the red threshold)."""
    d = record.data
    if d.indicator is not Indicator.ETHNICITY_RECORDING_COMPLETENESS:
        return None
    completeness = d.measured
    if completeness >= t.completeness_below:
        return None
    red = completeness < t.red_completeness_below
    numerator, denominator = d.measured_counts
    evidence = {
        **provider_facts(record),
        "completeness_percent": completeness,
        "reported_value": d.value,
        "numerator": numerator,
        "denominator": denominator,
        "completeness_below": t.completeness_below,
        "target_label": LOCAL_TARGET,
        "red_completeness_below": t.red_completeness_below,
    }
    counts = d.ethnicity
    if counts is None:
        found = f"{number(d.value)}% of records have a valid ethnic category"
    else:
        evidence.update(
            valid=counts.valid,
            not_stated=counts.not_stated,
            missing=counts.missing,
            valid_percent=round(counts.valid_percent, 2),
        )
        found = (
            f"{number(completeness)}% of records have a known ethnic category "
            f"({number(counts.valid_percent)}% have a valid code, but "
            f'{counts.not_stated} of those {counts.valid} are "not stated")'
        )
    detail = (
        f"Ethnicity recording at {d.provider_name}: {found} in the period to "
        f"{day(d.period_end)} (local target {number(t.completeness_below)}%). Without it, "
        f"needs cannot be assessed by community."
    )
    return provider_outcome(record, red=red, detail=detail, evidence=evidence)


def _share_ratio(record: PerformanceRecord, indicator: Indicator, t: RaceEqualityThresholds) -> Interval | None:
    """The group's share over its population share, with its Wilson interval, for a record of
    ``indicator`` that carries the group, its population share and both counts; else None (the
    difference cannot be judged without them, so the rules stay quiet rather than guess)."""
    d = record.data
    if (
        d.indicator is not indicator
        or d.community is None
        or not d.population_share
        or not d.denominator
        or d.numerator is None
    ):
        return None
    return share_ratio_interval(d.numerator, d.denominator, d.population_share, t.z)


def _ratio_facts(record: PerformanceRecord, ratio: Interval, t: RaceEqualityThresholds) -> dict:
    return {
        "population_share": record.data.population_share,
        "ratio": round(ratio.estimate, 4),
        "ratio_lower": round(ratio.lower, 4),
        "ratio_upper": round(ratio.upper, 4),
        "z": t.z,
    }


def under_use(record: PerformanceRecord, t: RaceEqualityThresholds) -> RuleOutcome | None:
    """Fires when the Wilson interval of the use ratio lies wholly below ``under_use_ratio``."""
    ratio = _share_ratio(record, Indicator.UTILISATION_BY_ETHNIC_GROUP, t)
    if ratio is None or ratio.upper >= t.under_use_ratio:
        return None
    d = record.data
    assert d.community is not None and d.numerator is not None and d.denominator  # _share_ratio
    red = ratio.upper < t.red_under_use_ratio
    confidence = math.erf(t.z / math.sqrt(2))
    evidence = {
        **provider_facts(record),
        "community": d.community.value,
        "group_users": d.numerator,
        "all_users": d.denominator,
        "use_share": round(d.numerator / d.denominator, 4),
        **_ratio_facts(record, ratio, t),
        "under_use_ratio": t.under_use_ratio,
        "red_under_use_ratio": t.red_under_use_ratio,
        "reported_value": d.value,
    }
    detail = (
        f"Under-use of {d.provider_name} by the {label(d.community)} community: "
        f"{d.numerator} of {d.denominator} users ({d.numerator / d.denominator:.1%}) "
        f"against {d.population_share:.1%} of the population, a use ratio of "
        f"{ratio.estimate:.2f} ({confidence:.0%} interval {ratio.lower:.2f} to "
        f"{ratio.upper:.2f}, wholly below the local target of {number(t.under_use_ratio)}; "
        f"1 is parity), "
        f"period to {day(d.period_end)}."
    )
    return provider_outcome(record, red=red, detail=detail, evidence=evidence, about=f"/community:{d.community.value}")


def over_representation(record: PerformanceRecord, t: RaceEqualityThresholds) -> RuleOutcome | None:
    """Fires when the Wilson interval of the ratio (the group's share of the people detained,
    admitted compulsorily or secluded, over its share of the population) lies wholly above
    ``over_representation_ratio``: the direction the seeds are concerned with for coercive care
    (001:650, 001:722), the opposite of under-use."""
    ratio = _share_ratio(record, Indicator.COERCIVE_CARE_BY_ETHNIC_GROUP, t)
    if ratio is None or ratio.lower <= t.over_representation_ratio:
        return None
    d = record.data
    assert d.community is not None and d.numerator is not None and d.denominator  # _share_ratio
    red = ratio.lower > t.red_over_representation_ratio
    confidence = math.erf(t.z / math.sqrt(2))
    evidence = {
        **provider_facts(record),
        "community": d.community.value,
        "group_people": d.numerator,
        "all_people": d.denominator,
        "group_share": round(d.numerator / d.denominator, 4),
        **_ratio_facts(record, ratio, t),
        "over_representation_ratio": t.over_representation_ratio,
        "red_over_representation_ratio": t.red_over_representation_ratio,
        "target_label": LOCAL_TARGET,
        "reported_value": d.value,
    }
    detail = (
        f"Over-representation of the {label(d.community)} community in coercive care at "
        f"{d.provider_name}: {d.numerator} of {d.denominator} people detained, admitted "
        f"compulsorily or secluded ({d.numerator / d.denominator:.1%}) against "
        f"{d.population_share:.1%} of the population, a rate ratio of {ratio.estimate:.2f} "
        f"({confidence:.0%} interval {ratio.lower:.2f} to {ratio.upper:.2f}, wholly above the "
        f"local target of {number(t.over_representation_ratio)}; 1 is parity), period to "
        f"{day(d.period_end)}."
    )
    return provider_outcome(
        record, red=red, detail=detail, evidence=evidence, about=f"/community:{d.community.value}/coercive"
    )
