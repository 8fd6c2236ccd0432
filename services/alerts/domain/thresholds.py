"""Per-area alert thresholds, with defaults and where each default comes from.

Every field carries its source in ``json_schema_extra["source"]``: a seed line
(``file:line`` into ``docs/seeds/``) where the seeds give the figure or the reason for it, or
"platform default" where the seeds give none and the figure is ours to defend.
:func:`threshold_sources` lists them for the API and the docs.

A threshold that makes no sense (a negative window, a tolerance of 1 or more, amber beyond red)
is refused with a message that names the field, so the API can answer 422.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contracts.vocabulary import INDICATORS, Indicator, ProviderSector, Unit

CDW_GUIDE = "000_7e844ea1bcdc73dd.txt"
PEER_REVIEW = "001_93a630ca1a6a1dee.txt"
COMMISSIONING_FRIEND = "002_82c4fd005c265713.txt"
BME_NETWORK = "003_91cb6e705136cded.txt"
KEEP_THINKING = "004_c03c14da175a4187.txt"

#: Indicators rule 2 (funding) and rule 4 (race equality data) read; rule 3 reads the rest.
FUNDING_INDICATORS = frozenset({Indicator.FUNDING, Indicator.CONTRACT_END,
                                Indicator.PAYMENT_OVERDUE})
RACE_EQUALITY_INDICATORS = frozenset({Indicator.ETHNICITY_RECORDING_COMPLETENESS,
                                      Indicator.UTILISATION_BY_ETHNIC_GROUP})
PERFORMANCE_INDICATORS = frozenset(INDICATORS) - FUNDING_INDICATORS - RACE_EQUALITY_INDICATORS

_COMPLETENESS = INDICATORS[Indicator.ETHNICITY_RECORDING_COMPLETENESS]
_UTILISATION = INDICATORS[Indicator.UTILISATION_BY_ETHNIC_GROUP]


def _sourced(default: Any, source: str, description: str, **constraints: Any) -> Any:
    return Field(default, description=description, json_schema_extra={"source": source},
                 **constraints)


class _Thresholds(BaseModel):
    # NaN and the infinities are refused: none is a threshold, and JSON cannot store them.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class UnmetNeedThresholds(_Thresholds):
    """Rule 1: findings of unmet need or a service gap, per community, in a rolling window."""

    window_days: int = _sourced(
        30, f"platform default (issue 5); a month, the reporting cycle the peer review describes "
            f"({PEER_REVIEW}:940)",
        "Length of the rolling window, in days of the findings' own occurred_at.", ge=1, le=366)
    amber_score: float = _sourced(
        15.0, "platform default: e.g. two high-severity findings each about 100 people (2 x 9)",
        "Weighted score at or above which the rule fires amber.", gt=0)
    red_score: float = _sourced(
        40.0, "platform default: e.g. three critical findings each about 1,000 people (3 x 16)",
        "Weighted score at or above which the rule fires red.", gt=0)
    rise_alpha: float = _sourced(
        0.05, "platform default: the conventional 5% level, matching the 95% intervals of rule 4",
        "One-sided significance level for a rise in the number of findings against the "
        "previous window.", gt=0, lt=0.5)

    @model_validator(mode="after")
    def _amber_below_red(self) -> "UnmetNeedThresholds":
        if self.red_score < self.amber_score:
            raise ValueError(f"red_score ({self.red_score}) must be at or above amber_score "
                             f"({self.amber_score})")
        return self


class FundingThresholds(_Thresholds):
    """Rule 2: funding gaps, ending contracts and overdue payments for voluntary providers."""

    sectors: frozenset[ProviderSector] = _sourced(
        frozenset({ProviderSector.VOLUNTARY}),
        f"{KEEP_THINKING}:42 (transformation money is for contracting the VCSE sector); "
        f"{KEEP_THINKING}:135 (VCSE funding is competitive and was hit by COVID-19); "
        f"{PEER_REVIEW}:756 (small sums matter to small providers)",
        "Provider sectors the funding rules watch.", min_length=1)
    shortfall_tolerance: float = _sourced(
        0.10, "platform default",
        "Fires amber when committed funding falls short of required funding by more than this "
        "fraction of the required amount.", ge=0, lt=1)
    red_shortfall: float = _sourced(
        0.25, "platform default",
        "Fires red when the shortfall is more than this fraction of the required amount.",
        ge=0, lt=1)
    contract_ending_days: int = _sourced(
        90, f"platform default (issue 5); time to re-tender, which the peer review found slow "
            f"({PEER_REVIEW}:794)",
        "Fires amber when a contract ends within this many days and no renewal is recorded.",
        ge=1, le=730)
    red_contract_ending_days: int = _sourced(
        30, "platform default",
        "Fires red when a contract ends within this many days (or has ended) with no renewal.",
        ge=0, le=730)
    payment_overdue_days: int = _sourced(
        14, f"platform default, kept short because small voluntary providers live on small sums "
            f"({PEER_REVIEW}:756)",
        "Fires amber when a payment is overdue by more than this many days.", ge=0, le=365)
    red_payment_overdue_days: int = _sourced(
        30, "platform default",
        "Fires red when a payment is overdue by more than this many days.", ge=0, le=365)

    @model_validator(mode="after")
    def _amber_before_red(self) -> "FundingThresholds":
        if self.red_shortfall < self.shortfall_tolerance:
            raise ValueError(f"red_shortfall ({self.red_shortfall}) must be at or above "
                             f"shortfall_tolerance ({self.shortfall_tolerance})")
        if self.red_contract_ending_days > self.contract_ending_days:
            raise ValueError(f"red_contract_ending_days ({self.red_contract_ending_days}) must "
                             f"not exceed contract_ending_days ({self.contract_ending_days})")
        if self.red_payment_overdue_days < self.payment_overdue_days:
            raise ValueError(f"red_payment_overdue_days ({self.red_payment_overdue_days}) must be "
                             f"at or above payment_overdue_days ({self.payment_overdue_days})")
        return self


class PerformanceThresholds(_Thresholds):
    """Rule 3: a provider indicator below its target for N consecutive periods, with hysteresis."""

    consecutive_periods: int = _sourced(
        3, "platform default: a quarter of monthly returns",
        "Periods in a row below target before the rule fires (N).", ge=1, le=24)
    resolve_periods: int = _sourced(
        2, "platform default",
        "Periods in a row at or better than target before a firing rule resolves (M).",
        ge=1, le=24)
    red_periods: int = _sourced(
        6, "platform default",
        "Periods in a row below target at which the alert turns red.", ge=1, le=60)
    significance_z: float = _sourced(
        1.96, "platform default: 95%, as for rule 4 (issue 5)",
        "z for the Wilson interval of a percentage; a latest period whose whole interval is on "
        "the wrong side of the target turns the alert red.", gt=0, le=4)
    targets: dict[Indicator, float] = _sourced(
        {}, f"defaults come from contracts.vocabulary.INDICATORS (e.g. four-week wait "
            f"{KEEP_THINKING}:623)",
        "Area overrides of indicator targets. Precedence: this map, then the target on the "
        "event, then the indicator's default target.")
    history_periods: int = _sourced(
        36, "platform default: three years of monthly returns",
        "Periods judged per provider and indicator.", ge=2, le=60)

    @field_validator("targets")
    @classmethod
    def _targets_make_sense(cls, targets: dict[Indicator, float]) -> dict[Indicator, float]:
        for indicator, target in targets.items():
            if indicator not in PERFORMANCE_INDICATORS:
                raise ValueError(f"targets: '{indicator.value}' is not a performance indicator "
                                 f"(its thresholds live with the funding or race equality rules)")
            if target < 0:
                raise ValueError(f"targets: '{indicator.value}' target must not be negative")
            if INDICATORS[indicator].unit is Unit.PERCENT and target > 100:
                raise ValueError(f"targets: '{indicator.value}' is a percentage; "
                                 f"target must be at most 100")
        return targets

    @model_validator(mode="after")
    def _periods_coherent(self) -> "PerformanceThresholds":
        if self.red_periods < self.consecutive_periods:
            raise ValueError(f"red_periods ({self.red_periods}) must be at or above "
                             f"consecutive_periods ({self.consecutive_periods})")
        if self.history_periods < max(self.red_periods, self.resolve_periods):
            raise ValueError(f"history_periods ({self.history_periods}) must hold at least "
                             f"red_periods and resolve_periods")
        return self


class RaceEqualityThresholds(_Thresholds):
    """Rule 4: ethnicity recording completeness, and under-use by an ethnic group."""

    completeness_below: float = _sourced(
        _COMPLETENESS.default_target,
        f"contracts.vocabulary.INDICATORS target; {PEER_REVIEW}:685 (no baseline data), "
        f"{PEER_REVIEW}:709 ('White other' and dual heritage)",
        "Fires amber when the percentage of records with a valid ethnic category is below this.",
        ge=0, le=100)
    red_completeness_below: float = _sourced(
        75.0, "platform default",
        "Fires red when completeness is below this percentage.", ge=0, le=100)
    under_use_ratio: float = _sourced(
        _UTILISATION.default_target,
        f"parity, contracts.vocabulary.INDICATORS target; Reverse Commissioning "
        f"{BME_NETWORK}:66-87",
        "Fires amber when the upper confidence bound of (share of users) / (share of "
        "population) is below this ratio.", gt=0, le=1)
    red_under_use_ratio: float = _sourced(
        0.5, "platform default: the group uses the service at most half as much as its share",
        "Fires red when the upper confidence bound is below this ratio.", gt=0, le=1)
    z: float = _sourced(
        1.96, "issue 5: 'the Wilson 95% interval'",
        "z of the Wilson interval (1.96 for 95%).", gt=0, le=4)

    @model_validator(mode="after")
    def _amber_before_red(self) -> "RaceEqualityThresholds":
        if self.red_completeness_below > self.completeness_below:
            raise ValueError(f"red_completeness_below ({self.red_completeness_below}) must not "
                             f"exceed completeness_below ({self.completeness_below})")
        if self.red_under_use_ratio > self.under_use_ratio:
            raise ValueError(f"red_under_use_ratio ({self.red_under_use_ratio}) must not exceed "
                             f"under_use_ratio ({self.under_use_ratio})")
        return self


class SilenceThresholds(_Thresholds):
    """Rule 5: a provider that normally reports has sent nothing for a while."""

    silent_after_days: int = _sourced(
        45, f"platform default: a monthly return ({PEER_REVIEW}:940; {COMMISSIONING_FRIEND}:965) "
            f"plus a fortnight's grace",
        "Days without any event from a provider before it counts as silent.", ge=1, le=730)
    min_reports: int = _sourced(
        3, "platform default",
        "Reports (distinct times) a provider must have sent to count as one that normally "
        "reports.", ge=2, le=100)
    cadence_multiplier: float = _sourced(
        1.5, "platform default: one missed return and half an interval's grace, which for a "
             "monthly reporter is the same 45 days",
        "A provider whose usual interval (median gap) is long is silent only after this many "
        "of its intervals, if that is longer than silent_after_days.", ge=1, le=10)
    red_factor: float = _sourced(
        2.0, "platform default",
        "Silence turns red after this multiple of the amber threshold.", gt=1, le=10)


class AreaThresholds(_Thresholds):
    """All thresholds of one commissioning area. Unset sections take their defaults."""

    unmet_need: UnmetNeedThresholds = Field(default_factory=UnmetNeedThresholds)
    funding: FundingThresholds = Field(default_factory=FundingThresholds)
    performance: PerformanceThresholds = Field(default_factory=PerformanceThresholds)
    race_equality: RaceEqualityThresholds = Field(default_factory=RaceEqualityThresholds)
    silence: SilenceThresholds = Field(default_factory=SilenceThresholds)

    @property
    def retention_days(self) -> int:
        """Days of findings to keep: the current and the previous unmet-need window."""
        return 2 * self.unmet_need.window_days


DEFAULT_THRESHOLDS = AreaThresholds()

def threshold_sources(model: type[BaseModel] = AreaThresholds, prefix: str = "") -> dict[str, str]:
    """Every threshold's dotted name with the source of its default."""
    out: dict[str, str] = {}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, _Thresholds):
            out.update(threshold_sources(annotation, f"{prefix}{name}."))
        elif isinstance(field.json_schema_extra, dict) and "source" in field.json_schema_extra:
            out[f"{prefix}{name}"] = str(field.json_schema_extra["source"])
    return out
