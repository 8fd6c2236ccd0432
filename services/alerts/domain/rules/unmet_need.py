"""Rule 1: unmet need or a service gap reported for a community, in a rolling window.

Findings are placed by their own ``occurred_at``, so a late finding whose time falls inside
the window counts the same as a punctual one. The window is ``(now - window_days, now]``; the
previous window is the same length just before it.

Each finding weighs ``severity weight x people factor``. Severity weights are the contract's
(``contracts.vocabulary.SEVERITY_WEIGHTS``: low 1 .. critical 4). The people factor is
``1 + log10(people_affected)``, and 1 when the number is unknown or zero: 10 people count 2,
100 count 3, 1,000 count 4. The logarithm keeps the ordering (more people, more weight) while
one rough estimate of thousands cannot outweigh several independent reports; numbers of
people in findings are approximate by design (the contract says so).

The rule fires when the window's score reaches a threshold, or when the number of findings
rises significantly against the previous window (exact conditional Poisson test, see
``stats.rise_p_value``). Counts, not scores, are tested: findings arrive as events, scores do not.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from contracts.events import AlertSeverity
from contracts.vocabulary import UNMET_NEED_THEMES, Community, Severity

from ..records import FindingRecord, RuleOutcome
from ..stats import rise_p_value
from ..thresholds import UnmetNeedThresholds
from ._text import day, label, number, plural


def people_factor(people_affected: int | None) -> float:
    """1 + log10(people); 1 when unknown or zero."""
    if not people_affected:
        return 1.0
    return 1.0 + math.log10(people_affected)


def finding_weight(severity: Severity, people_affected: int | None) -> float:
    """Severity weight (contracts.vocabulary.SEVERITY_WEIGHTS) times the people factor."""
    return severity.weight * people_factor(people_affected)


def in_window(findings: Sequence[FindingRecord], start: datetime, end: datetime) -> tuple[FindingRecord, ...]:
    """Findings with ``start < occurred_at <= end``, oldest first."""
    return tuple(sorted((f for f in findings if start < f.occurred_at <= end), key=lambda f: f.sort_key))


def window_score(findings: Sequence[FindingRecord]) -> float:
    return math.fsum(finding_weight(f.severity, f.people_affected) for f in findings)


def unmet_need(
    community: Community, findings: Sequence[FindingRecord], now: datetime, t: UnmetNeedThresholds
) -> RuleOutcome | None:
    """Fires amber/red on the window's score, or amber on a significant rise in findings."""
    relevant = [f for f in findings if f.community is community and f.theme in UNMET_NEED_THEMES]
    width = timedelta(days=t.window_days)
    current = in_window(relevant, now - width, now)
    previous = in_window(relevant, now - 2 * width, now - width)
    if not current:
        return None
    score, previous_score = window_score(current), window_score(previous)
    p_value = rise_p_value(len(current), len(previous))
    rise = p_value < t.rise_alpha
    if score >= t.red_score:
        severity = AlertSeverity.RED
    elif score >= t.amber_score or rise:
        severity = AlertSeverity.AMBER
    else:
        return None
    triggers = [name for name, hit in (("score", score >= t.amber_score), ("rise", rise)) if hit]
    evidence = {
        "community": community.value,
        # Dates, not instants: evidence must not change with every evaluation's clock.
        "window": {"from": (now - width).date().isoformat(), "to": now.date().isoformat(), "days": t.window_days},
        "findings": len(current),
        "score": round(score, 2),
        "people_affected": sum(f.people_affected or 0 for f in current),
        "by_theme": dict(sorted(Counter(f.theme.value for f in current).items())),
        "by_severity": dict(sorted(Counter(f.severity.value for f in current).items())),
        "previous_window": {
            "from": (now - 2 * width).date().isoformat(),
            "to": (now - width).date().isoformat(),
            "days": t.window_days,
        },
        "previous_findings": len(previous),
        "previous_score": round(previous_score, 2),
        "amber_score": t.amber_score,
        "red_score": t.red_score,
        "rise_p_value": round(p_value, 6),
        "rise_alpha": t.rise_alpha,
        "significant_rise": rise,
        "triggers": triggers,
        "contributions": [
            {
                "event_id": str(f.event_id),
                "occurred_at": f.occurred_at.isoformat(),
                "theme": f.theme.value,
                "severity": f.severity.value,
                "people_affected": f.people_affected,
                "weight": round(finding_weight(f.severity, f.people_affected), 2),
            }
            for f in current
        ],
    }
    detail = (
        f"Unmet need (community: {label(community)}): "
        f"{plural(len(current), 'finding')} of unmet need or a service gap in the "
        f"{t.window_days} days to {day(now)}, weighted score {number(round(score, 1))} "
        f"(amber from {number(t.amber_score)}, red from {number(t.red_score)})."
    )
    if rise:
        detail += (
            f" That is up from {len(previous)} in the previous {t.window_days} days, "
            f"a rise unlikely to be chance (p = {p_value:.3f})."
        )
    return RuleOutcome(
        severity=severity,
        subject=f"community:{community.value}",
        detail=detail,
        evidence=evidence,
        event_ids=tuple(f.event_id for f in current),
    )
