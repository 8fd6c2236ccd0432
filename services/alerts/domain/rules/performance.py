"""Rule 3: a provider indicator worse than its target for N consecutive periods, with hysteresis.

The rule reads one series (one provider, one indicator, one community or none) in period
order. A period "meets" its target when its value is at or better than the target, where
better follows the indicator's direction (``IndicatorSpec.higher_is_better``). The series is
scanned from its oldest kept period: the alert starts after ``consecutive_periods`` periods in a
row miss the target and, once started, ends only after ``resolve_periods`` periods in a row
meet it. One good month inside a bad run does not resolve it, and one bad month inside a good
run does not fire it, so the alert does not flap.

The target of a period is, in order: the area's override, the target on the event, the
indicator's default target (``contracts.vocabulary.INDICATORS``). A period with none of these is
not judged. A restated period (same period, later event) replaces the earlier statement. The
alert names the target as its source has it: an area's override or a default the seeds do not
give (the four-week wait's 95%, for one) is a "local target", one sent with the figures a
"reported target".

Red: the run of missed periods reaches ``red_periods``, or the latest period is significantly
worse than target (for a percentage with numerator and denominator, the whole Wilson interval
is on the wrong side of the target).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from contracts.events import AlertSeverity
from contracts.vocabulary import INDICATORS, LOCAL_TARGET, REPORTED_TARGET, Unit, default_target_label

from ..records import PerformanceRecord, RuleOutcome
from ..stats import Interval, wilson_interval
from ..thresholds import PerformanceThresholds
from ._text import day, number, plural


@dataclass(frozen=True)
class BreachState:
    """Where a hysteresis scan ends: firing or not, and the current runs."""

    breached: bool
    missed_run: int
    met_run: int


def breach_scan(met: Sequence[bool], fire_after: int, resolve_after: int) -> BreachState:
    """Fire after ``fire_after`` misses in a row; once firing, clear after ``resolve_after``
    hits in a row."""
    if fire_after < 1 or resolve_after < 1:
        raise ValueError("fire_after and resolve_after must be at least 1")
    breached, missed_run, met_run = False, 0, 0
    for ok in met:
        missed_run, met_run = (0, met_run + 1) if ok else (missed_run + 1, 0)
        if not breached and missed_run >= fire_after:
            breached = True
        elif breached and met_run >= resolve_after:
            breached = False
    return BreachState(breached, missed_run, met_run)


def target_for(record: PerformanceRecord, t: PerformanceThresholds) -> tuple[float, str] | None:
    """The period's target and where it came from: area, event or indicator default."""
    d = record.data
    if d.indicator in t.targets:
        return t.targets[d.indicator], "area threshold"
    if d.target is not None:
        return d.target, "event"
    default = INDICATORS[d.indicator].default_target
    return (default, "indicator default") if default is not None else None


def target_label(record: PerformanceRecord, source: str) -> str:
    """What the alert calls a target from ``source`` (as :func:`target_for` names it)."""
    if source == "area threshold":
        return LOCAL_TARGET
    if source == "event":
        return REPORTED_TARGET
    return default_target_label(INDICATORS[record.data.indicator]) or LOCAL_TARGET


def by_period(history: Sequence[PerformanceRecord]) -> list[PerformanceRecord]:
    """One record per period (the latest statement), oldest period first."""
    chosen: dict[str, PerformanceRecord] = {}
    for r in history:
        kept = chosen.get(r.period_key)
        if kept is None or r.recency > kept.recency:
            chosen[r.period_key] = r
    return sorted(chosen.values(), key=lambda r: (r.data.period_end, r.data.period_start))


def percent_interval(record: PerformanceRecord, z: float) -> Interval | None:
    """Wilson interval in percent, for a percentage with a positive denominator."""
    d = record.data
    if INDICATORS[d.indicator].unit is not Unit.PERCENT or not d.denominator:
        return None
    return wilson_interval(d.numerator or 0, d.denominator, z).scaled(100.0)


def significantly_worse(interval: Interval | None, target: float, higher_is_better: bool) -> bool:
    if interval is None:
        return False
    return interval.upper < target if higher_is_better else interval.lower > target


def performance_below_target(history: Sequence[PerformanceRecord], t: PerformanceThresholds) -> RuleOutcome | None:
    """Fires while the series' hysteresis scan is in breach; see the module docstring."""
    if len({r.series_key for r in history}) > 1:
        raise ValueError("performance_below_target reads one series (provider, indicator, community) at a time")
    judged = [(r, tg) for r in by_period(history)[-t.history_periods :] if (tg := target_for(r, t)) is not None]
    if not judged:
        return None
    first = judged[0][0].data
    spec = INDICATORS[first.indicator]
    met = [spec.meets(r.data.value, tg[0]) for r, tg in judged]
    state = breach_scan(met, t.consecutive_periods, t.resolve_periods)
    if not state.breached:
        return None
    latest, (target, target_source) = judged[-1]
    interval = percent_interval(latest, t.significance_z)
    worse = significantly_worse(interval, target, spec.higher_is_better)
    red = state.missed_run >= t.red_periods or (not met[-1] and worse)
    shown = judged[-max(t.red_periods, t.consecutive_periods + t.resolve_periods) :]
    d = latest.data
    evidence = {
        "provider_id": d.provider_id,
        "provider_name": d.provider_name,
        "provider_sector": d.provider_sector.value,
        "indicator": d.indicator.value,
        "indicator_title": spec.title,
        "unit": spec.unit.value,
        "community": d.community.value if d.community else None,
        "higher_is_better": spec.higher_is_better,
        "target": target,
        "target_source": target_source,
        "target_label": target_label(latest, target_source),
        "missed_run": state.missed_run,
        "met_run": state.met_run,
        "consecutive_periods": t.consecutive_periods,
        "resolve_periods": t.resolve_periods,
        "red_periods": t.red_periods,
        "latest_interval": None
        if interval is None
        else {"lower": round(interval.lower, 2), "upper": round(interval.upper, 2), "z": t.significance_z},
        "significantly_worse": worse,
        "periods": [
            {
                "period_start": r.data.period_start.isoformat(),
                "period_end": r.data.period_end.isoformat(),
                "value": r.data.value,
                "target": tg[0],
                "met": ok,
                "event_id": str(r.event_id),
            }
            for (r, tg), ok in zip(shown, met[-len(shown) :])
        ],
    }
    direction = "above" if not spec.higher_is_better else "below"
    who = d.provider_name + (f", {d.community.value.replace('_', ' ')} community" if d.community else "")
    if state.missed_run:
        status = f"{direction} target for {plural(state.missed_run, 'period')} in a row"
    else:
        status = f"back at target for {state.met_run} of the {t.resolve_periods} periods in a row needed to clear"
    detail = (
        f"{spec.title} at {who}: {status} (latest {number(d.value)} against a "
        f"{target_label(latest, target_source)} of {number(target)}, period to "
        f"{day(d.period_end)})."
    )
    return RuleOutcome(
        severity=AlertSeverity.RED if red else AlertSeverity.AMBER,
        subject=f"provider:{d.provider_id}/indicator:{d.indicator.value}"
        + (f"/community:{d.community.value}" if d.community else ""),
        detail=detail,
        evidence=evidence,
        event_ids=tuple(r.event_id for r, _ in shown),
        provider_id=d.provider_id,
    )
