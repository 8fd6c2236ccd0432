"""Rule 5: a provider that normally reports has sent nothing for a while.

"Normally reports" means at least ``min_reports`` distinct reporting days on record. A
provider's usual interval is the median gap between its last reporting days, so a quarterly
reporter is not called silent after six weeks: the silence threshold is the larger of
``silent_after_days`` and ``cadence_multiplier`` usual intervals. Time is the events' own
``occurred_at``, as for every rule. Silence at or beyond the threshold fires; a silent
provider's other alerts are inhibited (no alert is computed on missing data).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import date, datetime, timezone


from ..records import PerformanceRecord, RuleOutcome, provider_outcome
from ..thresholds import SilenceThresholds
from ._text import day, number

#: Reporting days used for the usual interval: a year of monthly returns.
CADENCE_REPORTS = 12


def reporting_days(records: Sequence[PerformanceRecord]) -> list[date]:
    """Distinct days (UTC) on which the provider's events occurred, oldest first."""
    return sorted({r.occurred_at.astimezone(timezone.utc).date() for r in records})


def usual_interval_days(days: Sequence[date]) -> float | None:
    """Median gap, in days, between the last reporting days; None with fewer than two."""
    recent = list(days)[-CADENCE_REPORTS:]
    gaps = [(b - a).days for a, b in zip(recent, recent[1:])]
    return float(statistics.median(gaps)) if gaps else None


def silence_threshold_days(days: Sequence[date], t: SilenceThresholds) -> float:
    interval = usual_interval_days(days)
    return max(float(t.silent_after_days), t.cadence_multiplier * (interval or 0.0))


def provider_silence(records: Sequence[PerformanceRecord], now: datetime, t: SilenceThresholds) -> RuleOutcome | None:
    """Fires when a provider with ``min_reports`` reporting days has been quiet long enough."""
    if not records:
        return None
    providers = {r.data.provider_id for r in records}
    if len(providers) != 1:
        raise ValueError(f"provider_silence reads one provider at a time, got {sorted(providers)}")
    days = reporting_days(records)
    if len(days) < t.min_reports:
        return None
    last = max(records, key=lambda r: (r.occurred_at, str(r.event_id)))
    quiet_days = (now - last.occurred_at).total_seconds() / 86400
    threshold = silence_threshold_days(days, t)
    if quiet_days < threshold:
        return None
    red = quiet_days >= t.red_factor * threshold
    d = last.data
    evidence = {
        "provider_id": d.provider_id,
        "provider_name": d.provider_name,
        "provider_sector": d.provider_sector.value,
        "last_event_id": str(last.event_id),
        "last_report_at": last.occurred_at.isoformat(),
        "days_quiet": int(quiet_days),  # whole days: stable between evaluations
        "threshold_days": round(threshold, 2),
        "usual_interval_days": usual_interval_days(days),
        "reporting_days": len(days),
        "silent_after_days": t.silent_after_days,
        "red_after_days": round(t.red_factor * threshold, 2),
    }
    detail = (
        f"No data from {d.provider_name} for {number(int(quiet_days))} days (last report "
        f"{day(last.occurred_at)}; it usually reports every "
        f"{number(usual_interval_days(days) or 0)} days). Its other alerts are held "
        f"until it reports again."
    )
    return provider_outcome(last, red=red, detail=detail, evidence=evidence)
