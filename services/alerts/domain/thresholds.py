"""Per-area alert thresholds, with defaults and where each default comes from.

Every field carries its sources in ``json_schema_extra``: ``cites``, citations as
:mod:`contracts.citations` writes them (a seed's lines with a verbatim quote where the seeds give
the figure or the reason for it, a local default with its reason where they give none and the
figure is ours to defend), and ``source``, the same in one line. :func:`threshold_sources` lists
the lines for the API and the docs, :func:`threshold_citations` the citations.

A threshold that makes no sense (a negative window, a tolerance of 1 or more, amber beyond red)
is refused with a message that names the field, so the API can answer 422.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self, cast

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contracts.citations import LocalDefault, SeedRef, as_json, local, parse_citations, render, seed
from contracts.vocabulary import (
    FUNDING_INDICATORS,
    INDICATORS,
    RACE_EQUALITY_INDICATORS,
    Indicator,
    IndicatorSpec,
    ProviderSector,
    Unit,
)

#: A month is the platform's reporting cadence, which the windows and silences follow. No seed
#: gives a cadence: the peer review found "the monthly progress reports required for each
#: meeting were too onerous" (001:940) and a seed's model is "record light and report once"
#: (004:268), so a month is a local default an area changes to suit its partners.
MONTHLY_CADENCE = local(
    "a month is the platform's default reporting cadence, set by the area; "
    "no seed gives one, and the seeds warn against onerous reporting"
)
#: Small sums matter to small voluntary providers.
SMALL_SUMS = seed("001", 756, "small amounts of funding can release the potential of projects")

#: Rule 2 (funding) reads the funding indicators, rule 4 (race equality data) the race equality
#: ones (both from contracts.vocabulary); rule 3 reads the rest.
PERFORMANCE_INDICATORS = frozenset(INDICATORS) - FUNDING_INDICATORS - RACE_EQUALITY_INDICATORS

_COMPLETENESS = INDICATORS[Indicator.ETHNICITY_RECORDING_COMPLETENESS]
_UTILISATION = INDICATORS[Indicator.UTILISATION_BY_ETHNIC_GROUP]
_COERCIVE = INDICATORS[Indicator.COERCIVE_CARE_BY_ETHNIC_GROUP]


def _target_source(spec: IndicatorSpec) -> SeedRef | LocalDefault:
    """Where an indicator's default target comes from; a threshold defaulting to it must cite it."""
    if spec.target_source is None:
        raise ValueError(f"{spec.indicator.value} has a default target but no target_source")
    return spec.target_source


def _sourced(
    default: Any,
    source: SeedRef | LocalDefault | tuple[SeedRef | LocalDefault, ...],
    description: str,
    **constraints: Any,
) -> Any:
    cites = source if isinstance(source, tuple) else (source,)
    return Field(
        default,
        description=description,
        json_schema_extra={"source": render(cites), "cites": as_json(cites)},
        **constraints,
    )


class _Thresholds(BaseModel):
    # NaN and the infinities are refused: none is a threshold, and JSON cannot store them.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    #: (amber, red) settings where red must be at or above amber (a larger score, a longer wait).
    red_at_or_above: ClassVar[tuple[tuple[str, str], ...]] = ()
    #: (amber, red) settings where red must not exceed amber (fewer days left, a smaller share).
    red_at_or_below: ClassVar[tuple[tuple[str, str], ...]] = ()

    @model_validator(mode="after")
    def _amber_before_red(self) -> Self:
        """Red is the stricter setting of each pair: amber fires first."""
        for amber, red in self.red_at_or_above:
            if getattr(self, red) < getattr(self, amber):
                raise ValueError(f"{red} ({getattr(self, red)}) must be at or above {amber} ({getattr(self, amber)})")
        for amber, red in self.red_at_or_below:
            if getattr(self, red) > getattr(self, amber):
                raise ValueError(f"{red} ({getattr(self, red)}) must not exceed {amber} ({getattr(self, amber)})")
        return self


class UnmetNeedThresholds(_Thresholds):
    """Rule 1: findings of unmet need or a service gap, per community, in a rolling window."""

    window_days: int = _sourced(
        30, MONTHLY_CADENCE, "Length of the rolling window, in days of the findings' own occurred_at.", ge=1, le=366
    )
    amber_score: float = _sourced(
        15.0,
        local("e.g. two high-severity findings each about 100 people (2 x 9)"),
        "Weighted score at or above which the rule fires amber.",
        gt=0,
    )
    red_score: float = _sourced(
        40.0,
        local("e.g. three critical findings each about 1,000 people (3 x 16)"),
        "Weighted score at or above which the rule fires red.",
        gt=0,
    )
    rise_alpha: float = _sourced(
        0.05,
        local("the conventional 5% level, matching the 95% intervals of rule 4"),
        "One-sided significance level for a rise in the number of findings against the previous window.",
        gt=0,
        lt=0.5,
    )

    red_at_or_above = (("amber_score", "red_score"),)


class FundingThresholds(_Thresholds):
    """Rule 2: funding gaps, ending contracts and overdue payments for voluntary providers."""

    sectors: frozenset[ProviderSector] = _sourced(
        frozenset({ProviderSector.VOLUNTARY}),
        (
            seed(
                "004",
                42,
                "the vast majority of the transformation funding should go to provider "
                "staff and contracting the VCSE sector",
            ),
            seed(
                "004",
                135,
                "VCSE organisations are, in particular, used to operating in a competitive funding environment",
            ),
            SMALL_SUMS,
        ),
        "Provider sectors the funding rules watch.",
        min_length=1,
    )
    shortfall_tolerance: float = _sourced(
        0.10,
        local("a tenth of the required amount; the seeds give no figure"),
        "Fires amber when committed funding falls short of required funding by more than this "
        "fraction of the required amount.",
        ge=0,
        lt=1,
    )
    red_shortfall: float = _sourced(
        0.25,
        local("a quarter of the required amount; the seeds give no figure"),
        "Fires red when the shortfall is more than this fraction of the required amount.",
        ge=0,
        lt=1,
    )
    contract_ending_days: int = _sourced(
        90,
        (
            local("a quarter (issue 5): time to re-tender, which the peer review found slow"),
            seed("001", 794, "adequate time is needed to engage stakeholders and successfully tender for projects"),
        ),
        "Fires amber when a contract ends within this many days and no renewal is recorded.",
        ge=1,
        le=730,
    )
    red_contract_ending_days: int = _sourced(
        30,
        local("a month; the seeds give no figure"),
        "Fires red when a contract ends within this many days (or has ended) with no renewal.",
        ge=0,
        le=730,
    )
    payment_overdue_days: int = _sourced(
        14,
        (
            local(
                "a fortnight, kept short because small voluntary providers live on small sums; "
                "no seed speaks of overdue payments"
            ),
            SMALL_SUMS,
        ),
        "Fires amber when a payment is overdue by more than this many days.",
        ge=0,
        le=365,
    )
    red_payment_overdue_days: int = _sourced(
        30,
        local("a month; the seeds give no figure"),
        "Fires red when a payment is overdue by more than this many days.",
        ge=0,
        le=365,
    )

    red_at_or_above = (("shortfall_tolerance", "red_shortfall"), ("payment_overdue_days", "red_payment_overdue_days"))
    red_at_or_below = (("contract_ending_days", "red_contract_ending_days"),)


class PerformanceThresholds(_Thresholds):
    """Rule 3: a provider indicator below its target for N consecutive periods, with hysteresis."""

    consecutive_periods: int = _sourced(
        3,
        (local("a quarter of monthly returns"), MONTHLY_CADENCE),
        "Periods in a row below target before the rule fires (N).",
        ge=1,
        le=24,
    )
    resolve_periods: int = _sourced(
        2,
        local("two periods, so one good period does not end an alert"),
        "Periods in a row at or better than target before a firing rule resolves (M).",
        ge=1,
        le=24,
    )
    red_periods: int = _sourced(
        6,
        local("half a year of monthly returns"),
        "Periods in a row below target at which the alert turns red.",
        ge=1,
        le=60,
    )
    significance_z: float = _sourced(
        1.96,
        local("95%, as for rule 4 (issue 5)"),
        "z for the Wilson interval of a percentage; a latest period whose whole interval is on "
        "the wrong side of the target turns the alert red.",
        gt=0,
        le=4,
    )
    targets: dict[Indicator, float] = _sourced(
        {},
        local(
            "the area's own local targets; unset, each indicator's default in "
            "contracts.vocabulary.INDICATORS applies, a local default wherever the seeds "
            "give no figure"
        ),
        "Area overrides of indicator targets (local targets). Precedence: this map, then the "
        "target on the event, then the indicator's default target.",
    )
    history_periods: int = _sourced(
        36, local("three years of monthly returns"), "Periods judged per provider and indicator.", ge=2, le=60
    )

    @field_validator("targets")
    @classmethod
    def _targets_make_sense(cls, targets: dict[Indicator, float]) -> dict[Indicator, float]:
        for indicator, target in targets.items():
            if indicator not in PERFORMANCE_INDICATORS:
                raise ValueError(
                    f"targets: '{indicator.value}' is not a performance indicator "
                    f"(its thresholds live with the funding or race equality rules)"
                )
            if target < 0:
                raise ValueError(f"targets: '{indicator.value}' target must not be negative")
            if INDICATORS[indicator].unit is Unit.PERCENT and target > 100:
                raise ValueError(f"targets: '{indicator.value}' is a percentage; target must be at most 100")
        return targets

    red_at_or_above = (("consecutive_periods", "red_periods"),)

    @model_validator(mode="after")
    def _history_holds_the_periods(self) -> "PerformanceThresholds":
        if self.history_periods < max(self.red_periods, self.resolve_periods):
            raise ValueError(
                f"history_periods ({self.history_periods}) must hold at least red_periods and resolve_periods"
            )
        return self


class RaceEqualityThresholds(_Thresholds):
    """Rule 4: ethnicity recording completeness, under-use of services by an ethnic group, and its
    over-representation in coercive care."""

    completeness_below: float = _sourced(
        _COMPLETENESS.default_target,
        _target_source(_COMPLETENESS),
        "Local target: fires amber when the percentage of records whose ethnicity is known (a "
        'valid code other than "not stated") is below this.',
        ge=0,
        le=100,
    )
    red_completeness_below: float = _sourced(
        75.0,
        local("three records in four; the seeds give no figure"),
        "Fires red when completeness is below this percentage.",
        ge=0,
        le=100,
    )
    under_use_ratio: float = _sourced(
        _UTILISATION.default_target,
        _target_source(_UTILISATION),
        "Fires amber when the upper confidence bound of (share of users) / (share of population) is below this ratio.",
        gt=0,
        le=1,
    )
    red_under_use_ratio: float = _sourced(
        0.5,
        local("the group uses the service at most half as much as its share"),
        "Fires red when the upper confidence bound is below this ratio.",
        gt=0,
        le=1,
    )
    over_representation_ratio: float = _sourced(
        _COERCIVE.default_target,
        _target_source(_COERCIVE),
        "Fires amber when the lower confidence bound of (share of the people detained, admitted "
        "compulsorily or secluded) / (share of population) is above this ratio.",
        ge=1,
        le=100,
    )
    red_over_representation_ratio: float = _sourced(
        2.0,
        local("the group is detained or secluded at least twice as often as its share; the seeds give no figure"),
        "Fires red when the lower confidence bound is above this ratio.",
        ge=1,
        le=100,
    )
    z: float = _sourced(
        1.96, local("issue 5: 'the Wilson 95% interval'"), "z of the Wilson interval (1.96 for 95%).", gt=0, le=4
    )

    red_at_or_above = (("over_representation_ratio", "red_over_representation_ratio"),)
    red_at_or_below = (("completeness_below", "red_completeness_below"), ("under_use_ratio", "red_under_use_ratio"))


class SilenceThresholds(_Thresholds):
    """Rule 5: a provider that normally reports has sent nothing for a while."""

    silent_after_days: int = _sourced(
        45,
        (local("a monthly return plus a fortnight's grace"), MONTHLY_CADENCE),
        "Days without any event from a provider before it counts as silent.",
        ge=1,
        le=730,
    )
    min_reports: int = _sourced(
        3,
        local("three reports before a provider's silence means anything"),
        "Reports (distinct times) a provider must have sent to count as one that normally reports.",
        ge=2,
        le=100,
    )
    cadence_multiplier: float = _sourced(
        1.5,
        local("one missed return and half an interval's grace, which for a monthly reporter is the same 45 days"),
        "A provider whose usual interval (median gap) is long is silent only after this many "
        "of its intervals, if that is longer than silent_after_days.",
        ge=1,
        le=10,
    )
    red_factor: float = _sourced(
        2.0,
        local("twice the amber threshold"),
        "Silence turns red after this multiple of the amber threshold.",
        gt=1,
        le=10,
    )


class RecommendationThresholds(_Thresholds):
    """Follow-up of community recommendations: a response is due, then the action it promised."""

    response_days: int = _sourced(
        60,
        (
            local("about two months to answer; the seeds give no response time"),
            seed("001", 348, "there was not adequate involvement of commissioners in following up recommendations"),
        ),
        "Days after a recommendation was made with no response before it counts as not followed up.",
        ge=1,
        le=730,
    )
    red_response_days: int = _sourced(
        120,
        local("twice the response window; the seeds give no figure"),
        "Days with no response at which the alert turns red.",
        ge=1,
        le=1460,
    )
    red_overdue_days: int = _sourced(
        30,
        local("a month past the due date; the seeds give no figure"),
        "Days past an action's due date, not completed, at which the alert turns red.",
        ge=0,
        le=730,
    )

    red_at_or_above = (("response_days", "red_response_days"),)


#: "funding flowed from the CCG, to the Trust and then to Rethink Mental Illness" (004:282).
FUNDING_CHAIN = seed(
    "004",
    282,
    "funding flowed from the CCG, to the Trust and then to Rethink Mental "
    "Illness as the accountable organisation for the VCSE alliance",
)
#: The seeds name CQUIN but no CQUIN indicator: a local configuration.
CQUIN_GOALS = seed("002", 765, "a CQUIN scheme with specific quality goals linked to a proportion of contract value")


class FundingFlowThresholds(_Thresholds):
    """Funding flows (contracts.funding): money stuck in the chain, alliance members unpaid,
    grants paid late or left unspent, and CQUIN at risk."""

    onward_payment_days: int = _sourced(
        14,
        (
            local(
                "a fortnight for a trust or a lead body to pass money on; the seeds give no "
                "figure, and small voluntary providers live on small sums"
            ),
            FUNDING_CHAIN,
            SMALL_SUMS,
        ),
        "Fires amber when a trust or lead body paid for an alliance has paid nothing onward under "
        "the same reference after this many days.",
        ge=1,
        le=365,
    )
    red_onward_payment_days: int = _sourced(
        30,
        local("a month; the seeds give no figure"),
        "Fires red after this many days with nothing paid onward.",
        ge=1,
        le=730,
    )
    member_payment_days: int = _sourced(
        30,
        (
            local("a month after the lead body was paid for the period; the seeds give no figure"),
            seed(
                "004",
                282,
                "This was then shared out depending on which partner is leading on "
                "delivering which part of the co-produced model",
            ),
        ),
        "Fires amber when an alliance member due a share has received nothing for a period this "
        "many days after the lead body was paid for it.",
        ge=1,
        le=365,
    )
    red_member_payment_days: int = _sourced(
        60,
        local("two months; the seeds give no figure"),
        "Fires red after this many days with nothing paid to the member.",
        ge=1,
        le=730,
    )
    grant_payment_grace_days: int = _sourced(
        0,
        (
            local("a grant is paid by its start date; the seeds give no grace"),
            seed("001", 737, "A large proportion had not completed the work by the December 2006 as expected"),
        ),
        "Fires amber when a grant is not paid in full this many days after its start date.",
        ge=0,
        le=365,
    )
    red_grant_unpaid_days: int = _sourced(
        30,
        local("a month past the start date; the seeds give no figure"),
        "Fires red when a grant is still not paid in full this many days after its start date.",
        ge=0,
        le=730,
    )
    unspent_warning_days: int = _sourced(
        60,
        (
            local(
                "two months before the spend-by date, time to help a group spend or re-plan; the seeds give no figure"
            ),
            seed("001", 797, "Measuring FI sites on whether funds have been spent according to a particular timescale"),
        ),
        "Fires amber when a grant's spend-by date is this many days away or fewer and more than "
        "unspent_tolerance of it is unspent.",
        ge=0,
        le=730,
    )
    unspent_tolerance: float = _sourced(
        0.25,
        local("a quarter of the grant; the seeds give no figure"),
        "The fraction of a grant that may remain unspent near its spend-by date.",
        ge=0,
        lt=1,
    )
    cquin_indicators: frozenset[Indicator] = _sourced(
        frozenset({Indicator.SEVEN_DAY_FOLLOW_UP, Indicator.FOUR_WEEK_WAIT, Indicator.SMI_PHYSICAL_HEALTH_CHECK}),
        (
            local(
                "the seeds give no list of CQUIN indicators, only CQUIN itself; these are a local "
                "configuration an area replaces with its own scheme's goals"
            ),
            CQUIN_GOALS,
        ),
        "The indicators a provider's CQUIN payment depends on, in this area.",
    )
    cquin_sectors: frozenset[ProviderSector] = _sourced(
        frozenset({ProviderSector.STATUTORY}),
        seed("002", 774, "stimulate improvements in quality from local NHS providers"),
        "Provider sectors paid under CQUIN.",
        min_length=1,
    )
    red_cquin_share: float = _sourced(
        0.5,
        local("half of a provider's CQUIN indicators; the seeds give no figure"),
        "Fires red when at least this share of a provider's CQUIN indicators is below target.",
        gt=0,
        le=1,
    )

    @field_validator("cquin_indicators")
    @classmethod
    def _performance_indicators(cls, indicators: frozenset[Indicator]) -> frozenset[Indicator]:
        wrong = sorted(i.value for i in indicators - PERFORMANCE_INDICATORS)
        if wrong:
            raise ValueError(f"cquin_indicators: {', '.join(wrong)} are not performance indicators")
        return indicators

    red_at_or_above = (
        ("onward_payment_days", "red_onward_payment_days"),
        ("member_payment_days", "red_member_payment_days"),
        ("grant_payment_grace_days", "red_grant_unpaid_days"),
    )


class AreaThresholds(_Thresholds):
    """All thresholds of one commissioning area. Unset sections take their defaults."""

    unmet_need: UnmetNeedThresholds = Field(default_factory=UnmetNeedThresholds)
    funding: FundingThresholds = Field(default_factory=FundingThresholds)
    performance: PerformanceThresholds = Field(default_factory=PerformanceThresholds)
    race_equality: RaceEqualityThresholds = Field(default_factory=RaceEqualityThresholds)
    silence: SilenceThresholds = Field(default_factory=SilenceThresholds)
    recommendations: RecommendationThresholds = Field(default_factory=RecommendationThresholds)
    funding_flows: FundingFlowThresholds = Field(default_factory=FundingFlowThresholds)

    @property
    def retention_days(self) -> int:
        """Days of findings to keep: the current and the previous unmet-need window."""
        return 2 * self.unmet_need.window_days


DEFAULT_THRESHOLDS = AreaThresholds()


def threshold_sources() -> dict[str, str]:
    """Every threshold's dotted name with the sources of its default, in one line each."""
    return {name: render(cites) for name, cites in threshold_citations().items()}


def threshold_citations(
    model: type[BaseModel] = AreaThresholds, prefix: str = ""
) -> dict[str, tuple[SeedRef | LocalDefault, ...]]:
    """Every threshold's dotted name with the citations of its default."""
    out: dict[str, tuple[SeedRef | LocalDefault, ...]] = {}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, _Thresholds):
            out.update(threshold_citations(annotation, f"{prefix}{name}."))
        elif isinstance(field.json_schema_extra, dict) and "cites" in field.json_schema_extra:
            # _sourced wrote them with as_json: a list of citation objects.
            out[f"{prefix}{name}"] = parse_citations(cast("list[dict[str, Any]]", field.json_schema_extra["cites"]))
    return out
