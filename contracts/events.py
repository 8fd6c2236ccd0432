"""Versioned event models (pydantic v2) for everything that crosses a topic or the intake API.

Envelope attributes follow CloudEvents 1.0 where they fit: ``specversion``, ``source`` and
``type`` keep their CloudEvents names; ``event_id`` is CloudEvents ``id`` and ``occurred_at`` is
CloudEvents ``time`` (the names the partners already use). :func:`cloudevent_headers` gives the
Kafka binding's ``ce_*`` headers.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from enum import Enum
from typing import Annotated, Any, Final, Literal, Union
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .places import AREAS, Region
from .taxonomy import CDWRole, Competency, Destination, Plan, Stage
from .vocabulary import (
    GROUP_SHARE_INDICATORS,
    INDICATORS,
    MAX_COUNT,
    MAX_GBP,
    Community,
    FindingSource,
    Indicator,
    ProviderSector,
    Severity,
    Theme,
    Unit,
    outside_range,
)

#: The contract's version, in every schema's ``$id`` and the AsyncAPI document. A minor version
#: adds optional fields only, so every event valid under an earlier minor version of the same
#: major version is still valid and is handled as before (1.1.0 added ``data.ethnicity``, the
#: counts behind ethnicity recording completeness; 1.2.0 the indicator
#: ``coercive_care_by_ethnic_group`` and its alert rule, and the recommendation response contract
#: and its two follow-up alert rules; 1.3.0 funding flow events, contracts.funding, and their
#: alert rules, and peer review returns, contracts.peer_review); a change that could refuse or reread an
#: existing event is a new major version and a new ``type`` (``...performance.v2``).
SCHEMA_VERSION = "1.3.0"
FINDING_TYPE: Final = "uk.nhs.commissioning.finding.v1"
PERFORMANCE_TYPE: Final = "uk.nhs.commissioning.performance.v1"
RECOMMENDATION_RESPONSE_TYPE: Final = "uk.nhs.commissioning.recommendation-response.v1"

Slug = Annotated[
    str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", description="Lower-case identifier: letters, digits and hyphens.")
]
FreeText = Annotated[str, Field(min_length=1, max_length=4000)]

#: The earliest date any event may carry, and the latest a contract may end. Local defaults, not
#: from the seeds: the seeds' own figures start in 2004/5 (000:130), so a date before 2000 is a
#: typo or a placeholder such as 0001-01-01; a contract ending after 2100 is one too. How far
#: ahead of the clock an event may be is intake's clock check (services.common.admission.admission).
EARLIEST_DATE = date(2000, 1, 1)
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST_CONTRACT_END = date(2100, 12, 31)

_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date_as_text(value: Any) -> Any:
    """A date is JSON text, YYYY-MM-DD: not a number, not a time (a Python date passes)."""
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DAY.fullmatch(value)):
        return value
    raise ValueError("a date is written as text, YYYY-MM-DD")


def _time_as_text(value: Any) -> Any:
    """A time is JSON text in RFC 3339 (a Python datetime passes): a number is not read as
    seconds since 1970, nor is text of digits."""
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_DAY.match(value)):
        return value
    raise ValueError("a time is written as RFC 3339 text, such as 2026-10-31T09:00:00Z")


EventDate = Annotated[date, BeforeValidator(_date_as_text), Field(ge=EARLIEST_DATE, le=LATEST_CONTRACT_END)]
EventTime = Annotated[AwareDatetime, BeforeValidator(_time_as_text), Field(ge=EARLIEST_TIME)]
#: Numbers are JSON numbers and booleans JSON booleans: "12" is not 12 (strict), and NaN and the
#: infinities are no measure (allow_inf_nan=False on the models). Counts and money stay below
#: the bounds in contracts.vocabulary, so every total the reports add up stays finite.
Count = Annotated[int, Field(strict=True, ge=0, le=MAX_COUNT)]
Number = Annotated[float, Field(strict=True)]
Money = Annotated[float, Field(strict=True, ge=0, le=MAX_GBP)]
Flag = Annotated[bool, Field(strict=True)]


class _Strict(BaseModel):
    """Unknown fields are refused, not dropped: a typo must not lose data silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False, allow_inf_nan=False)


class FindingData(_Strict):
    """A community engagement finding: about a community and services, never about a patient."""

    community: Community
    theme: Theme
    severity: Severity
    people_affected: Count | None = Field(None, description="Approximate number of people the finding concerns.")
    finding_source: FindingSource
    cdw_role: CDWRole | None = Field(None, description="The CDW role under which the finding was gathered, if known.")
    service: Annotated[str, Field(max_length=200)] | None = Field(
        None, description="The service or pathway the finding concerns."
    )
    summary: FreeText = Field(description="What was found, in plain words. No personal data.")
    recommendation: Annotated[str, Field(max_length=4000)] | None = None


class EthnicityRecording(_Strict):
    """The counts behind ethnicity recording completeness (contract 1.1.0).

    A valid code may be "not stated", so a high share of valid codes can hide records whose
    ethnicity is not known: "98.8% valid ethnicity codes recorded against the patient records.
    This could be misleading as some of the codes may be under the category ‘not stated’"
    (001:685). ``not_stated`` is counted within ``valid``, as that figure counted it."""

    valid: Count = Field(description='Records with a valid ethnic category code, "not stated" among them.')
    not_stated: Count = Field(description='Of the valid records, those coded "not stated".')
    missing: Count = Field(description="Records with no ethnic category code or an invalid one.")

    @model_validator(mode="after")
    def _coherent(self) -> "EthnicityRecording":
        if self.not_stated > self.valid:
            raise ValueError("not_stated is counted within valid, so it cannot be larger")
        if self.valid + self.missing == 0:
            raise ValueError("valid and missing count no records")
        return self

    @property
    def records(self) -> int:
        return self.valid + self.missing

    @property
    def known(self) -> int:
        """Records whose ethnicity is known: a valid code other than "not stated"."""
        return self.valid - self.not_stated

    @property
    def completeness_percent(self) -> float:
        """Known records as a percentage of all records: "not stated" is not known."""
        return 100.0 * self.known / self.records

    @property
    def valid_percent(self) -> float:
        """Valid codes as a percentage of all records, the figure 001:685 calls misleading."""
        return 100.0 * self.valid / self.records


class PerformanceData(_Strict):
    """A provider performance event: one indicator, one provider, one period."""

    provider_id: Slug
    provider_name: Annotated[str, Field(min_length=1, max_length=200)]
    provider_sector: ProviderSector
    indicator: Indicator
    period_start: EventDate
    period_end: EventDate
    value: Number = Field(
        description="The measured value, in the indicator's unit (a percentage "
        "0 to 100; counts, money and ratios not negative)."
    )
    target: Number | None = Field(
        None, description="The contracted or national target, if any, in the same unit as the value."
    )
    unit: Unit | None = Field(None, description="Defaults to the indicator's own unit.")
    numerator: Count | None = None
    denominator: Count | None = None
    community: Community | None = Field(
        None, description="For utilisation and coercive care by ethnic group: the group measured."
    )
    population_share: Annotated[float, Field(strict=True, ge=0, le=1)] | None = Field(
        None,
        description="The group's share of the area population (0..1), for utilisation and "
        "coercive care by ethnic group.",
    )
    funding_committed_gbp: Money | None = None
    funding_required_gbp: Money | None = None
    contract_end_date: EventDate | None = None
    renewal_recorded: Flag | None = None
    notes: Annotated[str, Field(max_length=2000)] | None = None
    ethnicity: EthnicityRecording | None = Field(
        None,
        description="For ethnicity recording completeness (since 1.1.0): the valid, not "
        "stated and missing counts. When given, completeness is the share of "
        'records whose ethnicity is known ("not stated" is not), whatever '
        "value says; without them, value is the completeness.",
    )

    @field_validator("value", "target")
    @classmethod
    def _in_the_indicators_range(cls, number: float | None, info: ValidationInfo) -> float | None:
        indicator = info.data.get("indicator")
        if number is not None and indicator is not None:
            reason = outside_range(INDICATORS[indicator].unit, number)
            if reason:
                raise ValueError(f"{reason} ({indicator.value})")
        return number

    @model_validator(mode="after")
    def _coherent(self) -> "PerformanceData":
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        if (self.numerator is None) != (self.denominator is None):
            raise ValueError("numerator and denominator go together")
        if self.numerator is not None and self.denominator is not None and self.numerator > self.denominator:
            raise ValueError("numerator is larger than denominator")
        if self.indicator is Indicator.FUNDING and (
            self.funding_committed_gbp is None or self.funding_required_gbp is None
        ):
            raise ValueError("indicator 'funding' needs funding_committed_gbp and funding_required_gbp")
        if self.indicator is Indicator.CONTRACT_END and self.contract_end_date is None:
            raise ValueError("indicator 'contract_end' needs contract_end_date")
        if self.indicator in GROUP_SHARE_INDICATORS and (self.community is None or self.population_share is None):
            raise ValueError(f"indicator '{self.indicator.value}' needs community and population_share")
        if self.ethnicity is not None and self.indicator is not Indicator.ETHNICITY_RECORDING_COMPLETENESS:
            raise ValueError("ethnicity counts go with indicator 'ethnicity_recording_completeness' only")
        unit = INDICATORS[self.indicator].unit
        if self.unit is not None and self.unit is not unit:
            raise ValueError(f"indicator '{self.indicator.value}' is measured in '{unit.value}'")
        return self

    @property
    def measured(self) -> float:
        """The figure the platform judges and reports: the completeness the ethnicity counts
        give when they are present, otherwise the value as sent."""
        return self.ethnicity.completeness_percent if self.ethnicity is not None else self.value

    @property
    def measured_counts(self) -> tuple[int | None, int | None]:
        """The numerator and denominator behind :attr:`measured` (known and all records when
        the ethnicity counts are present)."""
        if self.ethnicity is not None:
            return self.ethnicity.known, self.ethnicity.records
        return self.numerator, self.denominator


class _Envelope(_Strict):
    specversion: Literal["1.0"] = "1.0"
    event_id: UUID = Field(description="Chosen by the sender; the idempotency key (CloudEvents id).")
    source: Slug = Field(description="The sending organisation's id (CloudEvents source).")
    occurred_at: EventTime = Field(description="When it happened (CloudEvents time), with offset; not before 2000.")
    area: str = Field(pattern=r"^[A-Z]{2,5}$", description="Commissioning area code.")
    region: Region

    @model_validator(mode="after")
    def _area_in_region(self):
        area = AREAS.get(self.area)
        if area is None:
            raise ValueError(f"unknown area code '{self.area}'")
        if area.region is not self.region:
            raise ValueError(f"area '{self.area}' is in region '{area.region.value}', not '{self.region.value}'")
        return self

    @property
    def partition_key(self) -> bytes:
        return self.area.encode()


class CommunityEngagementFinding(_Envelope):
    type: Literal["uk.nhs.commissioning.finding.v1"] = FINDING_TYPE
    data: FindingData


class ProviderPerformanceEvent(_Envelope):
    type: Literal["uk.nhs.commissioning.performance.v1"] = PERFORMANCE_TYPE
    data: PerformanceData


# Funding flows (contracts.funding) build on the envelope above, so they are imported here, once
# it is defined; contracts/__init__ imports this module first, whichever is asked for.
from .funding import FundingFlowEvent  # noqa: E402

PartnerEvent = Annotated[
    Union[CommunityEngagementFinding, ProviderPerformanceEvent, FundingFlowEvent], Field(discriminator="type")
]
partner_event_adapter: TypeAdapter[CommunityEngagementFinding | ProviderPerformanceEvent | FundingFlowEvent] = (
    TypeAdapter(PartnerEvent)
)


class RecommendationOutcome(str, Enum):
    """A commissioner's answer to a community's recommendation."""

    ACCEPTED = "accepted"
    PARTLY_ACCEPTED = "partly_accepted"
    NOT_ACCEPTED = "not_accepted"


class ActionProgress(str, Enum):
    """Where the action taken on an accepted recommendation stands."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


ACTION_OUTCOMES = frozenset({RecommendationOutcome.ACCEPTED, RecommendationOutcome.PARTLY_ACCEPTED})


class RecommendationResponseData(_Strict):
    """One answer to a recommendation: a response (``outcome``) or, later, progress on its action
    (``progress``). Each check names its field: a refused answer says which field and why."""

    recommendation_id: UUID = Field(description="The recommendation: the event id of the finding that carried it.")
    outcome: RecommendationOutcome | None = Field(
        None, description="A response: accepted, partly accepted or not accepted."
    )
    reason: FreeText | None = Field(
        None, validate_default=True, description="Why not (required when not accepted), or which part."
    )
    action: FreeText | None = Field(
        None, validate_default=True, description="What will be done (required when accepted or partly accepted)."
    )
    owner: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None,
        validate_default=True,
        description="Who answers for the action: a role or a team, not a patient (required with an action).",
    )
    due_date: EventDate | None = Field(
        None,
        validate_default=True,
        description="When the action is due (required with an action; a progress update may move it).",
    )
    progress: ActionProgress | None = Field(None, validate_default=True, description="A later update on the action.")
    note: FreeText | None = Field(
        None, validate_default=True, description="What changed (required when the action is completed)."
    )

    @field_validator("reason")
    @classmethod
    def _reason_when_not_accepted(cls, reason: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("outcome") is RecommendationOutcome.NOT_ACCEPTED and reason is None:
            raise ValueError("a recommendation not accepted needs the reason")
        return reason

    @field_validator("action", "owner", "due_date")
    @classmethod
    def _action_when_accepted(cls, value: Any, info: ValidationInfo) -> Any:
        outcome, name = info.data.get("outcome"), str(info.field_name).replace("_", " ")
        if outcome in ACTION_OUTCOMES and value is None:
            raise ValueError(f"a recommendation {outcome.value.replace('_', ' ')} needs {name}")
        if outcome is RecommendationOutcome.NOT_ACCEPTED and value is not None:
            raise ValueError(f"a recommendation not accepted has no {name}")
        return value

    @field_validator("progress")
    @classmethod
    def _response_or_progress(cls, progress: ActionProgress | None, info: ValidationInfo) -> ActionProgress | None:
        has_outcome = info.data.get("outcome") is not None
        if progress is None and not has_outcome and "outcome" in info.data:
            raise ValueError("an answer gives an outcome (a response) or progress (an update)")
        if progress is not None and has_outcome:
            raise ValueError("an answer is a response (outcome) or an update (progress), not both")
        return progress

    @field_validator("note")
    @classmethod
    def _note_when_completed(cls, note: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("progress") is ActionProgress.COMPLETED and note is None:
            raise ValueError("a completed action needs a note of what changed")
        return note


class RecommendationResponse(_Envelope):
    """A commissioner's answer to a recommendation, published by the alerts service once it is
    recorded. ``event_id`` is the response id (the idempotency key); ``source`` the
    commissioner's organisation."""

    type: Literal["uk.nhs.commissioning.recommendation-response.v1"] = "uk.nhs.commissioning.recommendation-response.v1"
    data: RecommendationResponseData


class _Mapped(_Strict):
    """A record the mapping service publishes: an admitted event and its place in the cycle,
    identified and keyed by that event."""

    event: Any  # each record narrows it to the event type it carries

    @property
    def event_id(self) -> UUID:
        return self.event.event_id

    @property
    def partition_key(self) -> bytes:
        return self.event.partition_key


class MappedEvent(_Mapped):
    """An intake event with its place in the commissioning cycle, and the reasons."""

    event: PartnerEvent
    cdw_roles: list[CDWRole]
    stages: list[Stage]
    competencies: list[Competency]
    plans: list[Plan]
    # Where else the CDW guide sends the evidence (LIT, JSNA, LSP/LAA, ...); absent on records
    # mapped before destinations existed.
    destinations: list[Destination] = []
    rule_ids: list[str]
    rules_version: str
    mapped_at: AwareDatetime


class DeadLetter(_Strict):
    """What could not be mapped or processed, with the reason and the original bytes."""

    reason: str
    stage: Literal["decode", "validate", "map", "process"]
    source_topic: str
    partition: int
    offset: int
    event_id: str | None = None
    area: str | None = None
    original: str = Field(description="The original record value, as UTF-8 text (replaced if invalid).")
    failed_at: AwareDatetime
    rules_version: str | None = None


class AlertSeverity(str, Enum):
    AMBER = "amber"
    RED = "red"


class AlertStatus(str, Enum):
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class AlertRule(str, Enum):
    UNMET_NEED = "unmet_need"
    FUNDING_GAP = "funding_gap"
    CONTRACT_ENDING = "contract_ending"
    PAYMENT_OVERDUE = "payment_overdue"
    PERFORMANCE_BELOW_TARGET = "performance_below_target"
    ETHNICITY_DATA_GAP = "ethnicity_data_gap"
    UNDER_USE_BY_COMMUNITY = "under_use_by_community"
    OVER_REPRESENTATION_IN_COERCIVE_CARE = "over_representation_in_coercive_care"
    PROVIDER_SILENCE = "provider_silence"
    RECOMMENDATION_NOT_FOLLOWED_UP = "recommendation_not_followed_up"
    RECOMMENDATION_ACTION_OVERDUE = "recommendation_action_overdue"
    PAYMENT_STUCK_IN_CHAIN = "payment_stuck_in_chain"
    ALLIANCE_MEMBER_UNPAID = "alliance_member_unpaid"
    GRANT_NOT_PAID = "grant_not_paid"
    GRANT_UNSPENT = "grant_unspent"
    CQUIN_AT_RISK = "cquin_at_risk"


class AlertFacts(_Strict):
    """What an alert says about one subject in one area, declared once: the alerts service's rule
    conditions and its stored records extend it, and every store of alerts carries its fields."""

    fingerprint: Annotated[str, Field(pattern=r"^[0-9a-f]{16,64}$")]
    rule: AlertRule
    area: str
    region: Region
    subject: str = Field(description="What the alert is about: a community, a provider, an indicator.")
    severity: AlertSeverity
    summary: str
    stages: tuple[Stage, ...]
    competencies: tuple[Competency, ...]
    evidence: dict[str, Any]
    event_ids: tuple[UUID, ...]


class Alert(AlertFacts):
    """A risk alert for the commissioners of an area. ``fingerprint`` = hash(rule, area, subject)."""

    status: AlertStatus
    starts_at: AwareDatetime
    updated_at: AwareDatetime
    ends_at: AwareDatetime | None = None
