"""Pure domain of the alerts service: rules, statistics, thresholds, state and lifecycle.

Nothing here does I/O: no Kafka, no PostgreSQL, no HTTP, no clock. Time comes in as ``now``.
"""

from .conditions import CONCERNS, Concern, Condition, fingerprint, summary
from .lifecycle import (
    DEFAULT_POLICY,
    AlertRecord,
    AuditEntry,
    GroupRecord,
    LifecycleError,
    LifecycleResult,
    NotificationIntent,
    NotificationPolicy,
    Silence,
    acknowledge,
    flush,
    resolve_by_hand,
    step,
    transition,
)
from .records import FindingRecord, PerformanceRecord, RuleOutcome
from .state import AreaState, apply, apply_all, evaluate, new_state, prune
from .stats import Interval, rise_p_value, share_ratio_interval, significant_rise, wilson_interval
from .thresholds import (
    DEFAULT_THRESHOLDS,
    AreaThresholds,
    FundingThresholds,
    PerformanceThresholds,
    RaceEqualityThresholds,
    SilenceThresholds,
    UnmetNeedThresholds,
    threshold_sources,
)

__all__ = [
    "CONCERNS",
    "Concern",
    "Condition",
    "fingerprint",
    "summary",
    "DEFAULT_POLICY",
    "AlertRecord",
    "AuditEntry",
    "GroupRecord",
    "LifecycleError",
    "LifecycleResult",
    "NotificationIntent",
    "NotificationPolicy",
    "Silence",
    "acknowledge",
    "flush",
    "resolve_by_hand",
    "step",
    "transition",
    "FindingRecord",
    "PerformanceRecord",
    "RuleOutcome",
    "AreaState",
    "apply",
    "apply_all",
    "evaluate",
    "new_state",
    "prune",
    "Interval",
    "rise_p_value",
    "share_ratio_interval",
    "significant_rise",
    "wilson_interval",
    "DEFAULT_THRESHOLDS",
    "AreaThresholds",
    "FundingThresholds",
    "PerformanceThresholds",
    "RaceEqualityThresholds",
    "SilenceThresholds",
    "UnmetNeedThresholds",
    "threshold_sources",
]
