"""Per-area alert state: the facts the rules read, folded from events, and its evaluation.

The state is plain data (a frozen pydantic model) so it can be stored as JSON in PostgreSQL or a
faust table and read back equal. Folding is idempotent and order-free: a finding is kept by its
event id, a performance figure by its series and period (a later statement of the same period
wins), so applying the same event twice, or a batch in any order, gives the same state. Late
events are kept like punctual ones; the rules place them by their own ``occurred_at``.

Evaluation runs the five rules at a given ``now`` and returns the conditions that hold. A
silent provider's other conditions come back marked ``inhibited_by`` the silence alert's
fingerprint: they describe stale data, so the lifecycle neither opens nor notifies them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, field_validator

from contracts.events import AlertRule, CommunityEngagementFinding, MappedEvent, ProviderPerformanceEvent
from contracts.funding import FundingFlowEvent
from contracts.places import AREAS
from contracts.vocabulary import UNMET_NEED_THEMES, Community, Indicator

from .conditions import SEVERITY_RANK, Condition
from .records import FindingRecord, PerformanceRecord, RuleOutcome, latest
from .rules import (
    contract_ending,
    ethnicity_recording_gap,
    funding_gap,
    over_representation,
    payment_overdue,
    performance_below_target,
    provider_silence,
    under_use,
    unmet_need,
)
from .thresholds import DEFAULT_THRESHOLDS, PERFORMANCE_INDICATORS, AreaThresholds
from .funding_flows import FLOW_RETENTION_DAYS, AllianceShares, FlowRecord, cquin_at_risk, flow_conditions

#: Periods kept per series; PerformanceThresholds.history_periods may not exceed it.
KEEP_PERIODS = 60
#: A series with no event for this long is dropped by :func:`prune` (its provider has gone).
SERIES_RETENTION_DAYS = 730

Event = CommunityEngagementFinding | ProviderPerformanceEvent | FundingFlowEvent | MappedEvent


class AreaState(BaseModel):
    """What one area's alert rules need to remember."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    area: str
    #: community -> event id -> finding (only themes in UNMET_NEED_THEMES)
    findings: dict[str, dict[str, FindingRecord]] = {}
    #: "provider|indicator|community" -> "period_start/period_end" -> figure
    series: dict[str, dict[str, PerformanceRecord]] = {}
    #: event id -> funding flow (contracts.funding)
    flows: dict[str, FlowRecord] = {}

    @field_validator("area")
    @classmethod
    def _known_area(cls, area: str) -> str:
        if area not in AREAS:
            raise ValueError(f"unknown area code '{area}'")
        return area

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> "AreaState":
        return cls.model_validate_json(text)


def new_state(area: str) -> AreaState:
    return AreaState(area=area)


def _apply_finding(state: AreaState, event: CommunityEngagementFinding) -> AreaState:
    if event.data.theme not in UNMET_NEED_THEMES:
        return state
    record = FindingRecord.of(event)
    key, event_id = record.community.value, str(record.event_id)
    bucket = state.findings.get(key, {})
    if event_id in bucket:
        return state
    return state.model_copy(update={"findings": {**state.findings, key: {**bucket, event_id: record}}})


def _apply_figure(state: AreaState, event: ProviderPerformanceEvent) -> AreaState:
    record = PerformanceRecord.of(event)
    series = state.series.get(record.series_key, {})
    kept = series.get(record.period_key)
    if kept is not None and kept.recency >= record.recency:
        return state
    updated = {**series, record.period_key: record}
    if len(updated) > KEEP_PERIODS:
        oldest = min(updated.values(), key=lambda r: (r.data.period_end, r.data.period_start))
        if oldest is record:
            return state
        del updated[oldest.period_key]
    return state.model_copy(update={"series": {**state.series, record.series_key: updated}})


def _apply_flow(state: AreaState, event: FundingFlowEvent) -> AreaState:
    event_id = str(event.event_id)
    if event_id in state.flows:
        return state
    return state.model_copy(update={"flows": {**state.flows, event_id: FlowRecord.of(event)}})


def apply(state: AreaState, event: Event) -> AreaState:
    """Fold one event in. Returns ``state`` itself (the same object) when nothing changes."""
    if isinstance(event, MappedEvent):
        event = event.event
    if event.area != state.area:
        raise ValueError(f"event {event.event_id} is for area '{event.area}', not '{state.area}'")
    if isinstance(event, CommunityEngagementFinding):
        return _apply_finding(state, event)
    if isinstance(event, FundingFlowEvent):
        return _apply_flow(state, event)
    return _apply_figure(state, event)


def apply_all(state: AreaState, events: Iterable[Event]) -> AreaState:
    for event in events:
        state = apply(state, event)
    return state


def prune(state: AreaState, now: datetime, thresholds: AreaThresholds = DEFAULT_THRESHOLDS) -> AreaState:
    """Forget findings older than two unmet-need windows, series silent for two years, and
    funding flows whose period (or grant) ended two years ago."""
    finding_horizon = now - timedelta(days=thresholds.retention_days)
    series_horizon = now - timedelta(days=SERIES_RETENTION_DAYS)
    flow_horizon = (now - timedelta(days=FLOW_RETENTION_DAYS)).date()
    flows = {k: f for k, f in state.flows.items() if f.last_day > flow_horizon}
    findings = {
        k: kept
        for k, bucket in state.findings.items()
        if (kept := {i: f for i, f in bucket.items() if f.occurred_at > finding_horizon})
    }
    series = {
        k: periods
        for k, periods in state.series.items()
        if max(r.occurred_at for r in periods.values()) > series_horizon
    }
    if findings == state.findings and series == state.series and len(flows) == len(state.flows):
        return state
    return state.model_copy(update={"findings": findings, "series": series, "flows": flows})


def _series_outcome(
    records: list[PerformanceRecord], now: datetime, t: AreaThresholds
) -> tuple[AlertRule, RuleOutcome | None] | None:
    last = latest(records)
    indicator, today = last.data.indicator, now.date()
    if indicator is Indicator.FUNDING:
        return AlertRule.FUNDING_GAP, funding_gap(last, t.funding)
    if indicator is Indicator.CONTRACT_END:
        return AlertRule.CONTRACT_ENDING, contract_ending(last, today, t.funding)
    if indicator is Indicator.PAYMENT_OVERDUE:
        return AlertRule.PAYMENT_OVERDUE, payment_overdue(last, today, t.funding)
    if indicator is Indicator.ETHNICITY_RECORDING_COMPLETENESS:
        return AlertRule.ETHNICITY_DATA_GAP, ethnicity_recording_gap(last, t.race_equality)
    if indicator is Indicator.UTILISATION_BY_ETHNIC_GROUP:
        return AlertRule.UNDER_USE_BY_COMMUNITY, under_use(last, t.race_equality)
    if indicator is Indicator.COERCIVE_CARE_BY_ETHNIC_GROUP:
        return AlertRule.OVER_REPRESENTATION_IN_COERCIVE_CARE, over_representation(last, t.race_equality)
    if indicator in PERFORMANCE_INDICATORS:
        return (AlertRule.PERFORMANCE_BELOW_TARGET, performance_below_target(records, t.performance))
    return None


def _worse(a: Condition, b: Condition) -> Condition:
    """Of two conditions with one fingerprint, the more severe (then the later evidence)."""
    return max(a, b, key=lambda c: (SEVERITY_RANK[c.severity], sorted(map(str, c.event_ids))))


def evaluate(
    state: AreaState,
    now: datetime,
    thresholds: AreaThresholds = DEFAULT_THRESHOLDS,
    alliances: AllianceShares | None = None,
) -> list[Condition]:
    """The conditions that hold at ``now``, sorted by fingerprint. ``alliances``: each alliance
    lead's members and their shares (the organisation registry), for the funding flow rules.

    ``now`` must carry its offset; contract and payment dates are compared with its own date.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    found: dict[str, Condition] = {}

    def keep(condition: Condition) -> None:
        held = found.get(condition.fingerprint)
        found[condition.fingerprint] = condition if held is None else _worse(held, condition)

    by_provider: dict[str, list[PerformanceRecord]] = defaultdict(list)
    for periods in state.series.values():
        records = list(periods.values())
        by_provider[records[0].data.provider_id].extend(records)
    silent: dict[str, str] = {}
    for provider_id in sorted(by_provider):
        outcome = provider_silence(by_provider[provider_id], now, thresholds.silence)
        if outcome is not None:
            condition = Condition.of(AlertRule.PROVIDER_SILENCE, state.area, outcome)
            silent[provider_id] = condition.fingerprint
            keep(condition)
    for key in sorted(state.series):
        decided = _series_outcome(list(state.series[key].values()), now, thresholds)
        if decided is None:
            continue
        rule, outcome = decided
        if outcome is None:
            continue
        keep(Condition.of(rule, state.area, outcome, inhibited_by=silent.get(outcome.provider_id or "")))
    for key in sorted(state.findings):
        outcome = unmet_need(Community(key), list(state.findings[key].values()), now, thresholds.unmet_need)
        if outcome is not None:
            keep(Condition.of(AlertRule.UNMET_NEED, state.area, outcome))
    for provider_id in sorted(by_provider):
        cquin = cquin_at_risk(by_provider[provider_id], thresholds.funding_flows, thresholds.performance)
        if cquin is not None:
            keep(Condition.of(AlertRule.CQUIN_AT_RISK, state.area, cquin, inhibited_by=silent.get(provider_id)))
    for condition in flow_conditions(
        state.area, list(state.flows.values()), alliances or {}, now, thresholds.funding_flows
    ):
        keep(condition)
    return [found[f] for f in sorted(found)]
