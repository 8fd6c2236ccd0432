"""Rule 2: money trouble for voluntary providers (001:733-800, 001:756, 001:794; 004:135).

Three conditions, each its own alert rule so each can be acknowledged on its own:

* funding gap - the latest ``funding`` figure has committed short of required by more than
  the tolerance (a fraction of the required amount);
* contract ending - the latest ``contract_end`` figure has the contract ending within N days
  (or already ended) and no renewal recorded on that figure;
* payment overdue - the latest ``payment_overdue`` figure, in days overdue as at the end of its
  period, carried forward to today while it stays unpaid (a later figure of 0 clears it).

Each function takes the provider's latest record for the indicator and decides; which
providers are watched is ``FundingThresholds.sectors`` (voluntary by default).
"""

from __future__ import annotations

from datetime import date

from contracts.vocabulary import Indicator, ProviderSector

from ..records import PerformanceRecord, RuleOutcome, provider_facts, provider_outcome
from ..thresholds import FundingThresholds
from ._text import day, number, plural


def _watched(record: PerformanceRecord, indicator: Indicator, t: FundingThresholds) -> bool:
    return record.data.indicator is indicator and record.data.provider_sector in t.sectors


def _who(record: PerformanceRecord) -> str:
    d = record.data
    sector = "VCSE" if d.provider_sector is ProviderSector.VOLUNTARY else d.provider_sector.value
    return f"{d.provider_name}, a {sector} provider,"


def shortfall_fraction(committed: float, required: float) -> float:
    """How far committed falls short of required, as a fraction of required (0 if none)."""
    if required <= 0:
        return 0.0
    return max(0.0, (required - committed) / required)


def funding_gap(record: PerformanceRecord, t: FundingThresholds) -> RuleOutcome | None:
    """Fires when the shortfall is more than ``shortfall_tolerance`` of the required amount."""
    if not _watched(record, Indicator.FUNDING, t):
        return None
    d = record.data
    committed, required = d.funding_committed_gbp or 0.0, d.funding_required_gbp or 0.0
    gap = shortfall_fraction(committed, required)
    if gap <= t.shortfall_tolerance:
        return None
    evidence = {
        **provider_facts(record),
        "funding_committed_gbp": committed,
        "funding_required_gbp": required,
        "shortfall_gbp": round(required - committed, 2),
        "shortfall_fraction": round(gap, 4),
        "shortfall_tolerance": t.shortfall_tolerance,
        "red_shortfall": t.red_shortfall,
    }
    detail = (
        f"Funding gap at {_who(record)[:-1]}: £{committed:,.0f} "
        f"committed against £{required:,.0f} required for the period to "
        f"{day(d.period_end)}, a shortfall of {gap:.0%} "
        f"(tolerance {t.shortfall_tolerance:.0%})."
    )
    return provider_outcome(record, red=gap > t.red_shortfall, detail=detail, evidence=evidence)


def contract_ending(record: PerformanceRecord, today: date, t: FundingThresholds) -> RuleOutcome | None:
    """Fires when the contract ends within ``contract_ending_days`` and no renewal is recorded."""
    if not _watched(record, Indicator.CONTRACT_END, t):
        return None
    d = record.data
    end = d.contract_end_date
    if end is None or d.renewal_recorded:
        return None
    days_left = (end - today).days
    if days_left > t.contract_ending_days:
        return None
    red = days_left <= t.red_contract_ending_days
    evidence = {
        **provider_facts(record),
        "contract_end_date": end.isoformat(),
        "days_left": days_left,
        "renewal_recorded": d.renewal_recorded,
        "contract_ending_days": t.contract_ending_days,
        "red_contract_ending_days": t.red_contract_ending_days,
    }
    when = f"ended on {day(end)}" if days_left < 0 else f"ends on {day(end)}, in {plural(days_left, 'day')}"
    detail = f"Contract with {_who(record)} {when}, and no renewal is recorded."
    return provider_outcome(record, red=red, detail=detail, evidence=evidence)


def days_overdue(reported_days: float, as_at: date, today: date) -> float:
    """Days overdue today: the reported figure carried forward while the payment stays unpaid."""
    if reported_days <= 0:
        return 0.0
    return reported_days + max(0, (today - as_at).days)


def payment_overdue(record: PerformanceRecord, today: date, t: FundingThresholds) -> RuleOutcome | None:
    """Fires when a payment is overdue by more than ``payment_overdue_days``."""
    if not _watched(record, Indicator.PAYMENT_OVERDUE, t):
        return None
    d = record.data
    overdue = days_overdue(d.value, d.period_end, today)
    if overdue <= t.payment_overdue_days:
        return None
    red = overdue > t.red_payment_overdue_days
    evidence = {
        **provider_facts(record),
        "reported_days_overdue": d.value,
        "as_at": d.period_end.isoformat(),
        "days_overdue_now": overdue,
        "payment_overdue_days": t.payment_overdue_days,
        "red_payment_overdue_days": t.red_payment_overdue_days,
    }
    detail = (
        f"Payment to {_who(record)} is {number(overdue)} days "
        f"overdue ({number(d.value)} days as at {day(d.period_end)}; alert beyond "
        f"{t.payment_overdue_days} days)."
    )
    return provider_outcome(record, red=red, detail=detail, evidence=evidence)
