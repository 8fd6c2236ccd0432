"""The five alert rules, each a pure function from records to a decision (or None)."""

from .funding import contract_ending, days_overdue, funding_gap, payment_overdue, shortfall_fraction
from .performance import BreachState, breach_scan, by_period, performance_below_target, target_for
from .race_equality import ethnicity_recording_gap, over_representation, under_use
from .silence import provider_silence, reporting_days, usual_interval_days
from .unmet_need import finding_weight, people_factor, unmet_need

__all__ = [
    "contract_ending",
    "days_overdue",
    "funding_gap",
    "payment_overdue",
    "shortfall_fraction",
    "BreachState",
    "breach_scan",
    "by_period",
    "performance_below_target",
    "target_for",
    "ethnicity_recording_gap",
    "under_use",
    "over_representation",
    "provider_silence",
    "reporting_days",
    "usual_interval_days",
    "finding_weight",
    "people_factor",
    "unmet_need",
]
