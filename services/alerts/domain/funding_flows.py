"""Funding flow rules: money that stalls on its way to voluntary providers. Pure.

The seeds describe a chain, "funding flowed from the CCG, to the Trust and then to Rethink Mental
Illness as the accountable organisation for the VCSE alliance. This was then shared out depending
on which partner is leading on delivering which part of the co-produced model" (004:282), and
small grants "ranging from \u00a3500 to 10,000" (001:739) that were paid late or left unspent:
"A large proportion had not completed the work by the December 2006 as expected" (001:737).

Five rules, each its own alert rule so each is acknowledged on its own:

* payment stuck in the chain - a trust or lead body paid for an alliance has paid nothing onward
  under the same reference after N days; an onward payment resolves it;
* alliance member unpaid - the lead body was paid for a period, and a member due a share
  (organisation registry) has received nothing for that period after N days;
* grant not paid - a grant is not paid in full by its start date (plus a grace);
* grant unspent - near (or past) its spend-by date, more than a tolerance of a paid grant is
  unspent by the latest spend report;
* CQUIN at risk - a provider paid under CQUIN has CQUIN indicators below target in their latest
  period ("a CQUIN scheme with specific quality goals linked to a proportion of contract value",
  002:765; which indicators is a local configuration, the seeds name none).

Each rule takes the flows (or series), the time and the thresholds, and returns outcomes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime


from contracts.events import AlertRule, AlertSeverity
from contracts.funding import INTERMEDIARIES, FlowKind, FundingData
from contracts.vocabulary import INDICATORS

from .conditions import Condition
from .records import PerformanceRecord, RuleOutcome, _EventRecord, latest
from .rules._text import day, number, plural
from .rules.performance import target_for
from .thresholds import FundingFlowThresholds, PerformanceThresholds

#: Lead body id -> member id -> the share of the alliance's money that member is due.
AllianceShares = Mapping[str, Mapping[str, float]]
#: Flows whose period ended (and grants whose spend-by date passed) this long ago are forgotten.
FLOW_RETENTION_DAYS = 730
#: The rules that read funding flows (and CQUIN, which reads performance series).
FUNDING_FLOW_RULES = frozenset(
    {
        AlertRule.PAYMENT_STUCK_IN_CHAIN,
        AlertRule.ALLIANCE_MEMBER_UNPAID,
        AlertRule.GRANT_NOT_PAID,
        AlertRule.GRANT_UNSPENT,
        AlertRule.CQUIN_AT_RISK,
    }
)


class FlowRecord(_EventRecord):
    """One funding flow as the rules read it."""

    data: FundingData

    @property
    def last_day(self) -> date:
        """The last day the flow matters: its period's end, or its grant's spend-by date."""
        d = self.data
        return max(d.period_end, d.grant.spend_by) if d.grant is not None else d.period_end


def _overlap(a: FundingData, b: FundingData) -> bool:
    return a.period_start <= b.period_end and b.period_start <= a.period_end


def _of(flows: Iterable[FlowRecord], kind: FlowKind) -> list[FlowRecord]:
    return sorted((f for f in flows if f.data.kind is kind), key=lambda f: (f.occurred_at, str(f.event_id)))


def _gbp(x: float) -> str:
    return f"\u00a3{x:,.0f}"


def _party(p) -> str:
    return p.name or p.organisation_id


def _days(now: datetime, since: datetime) -> int:
    return int((now - since).total_seconds() // 86400)


def _flow_facts(f: FlowRecord) -> dict:
    d = f.data
    return {
        "reference": d.reference,
        "kind": d.kind.value,
        "payer": d.payer.organisation_id,
        "payer_role": d.payer.role.value,
        "payee": d.payee.organisation_id,
        "payee_role": d.payee.role.value,
        "amount_gbp": d.amount_gbp,
        "period_start": d.period_start.isoformat(),
        "period_end": d.period_end.isoformat(),
        "alliance_id": d.alliance_id,
        "event_id": str(f.event_id),
        "occurred_at": f.occurred_at.isoformat(),
    }


def stuck_payments(flows: Sequence[FlowRecord], now: datetime, t: FundingFlowThresholds) -> list[RuleOutcome]:
    """A trust or lead body paid for an alliance that has paid nothing onward, under the same
    reference for an overlapping period, more than ``onward_payment_days`` after it was paid."""
    payments = _of(flows, FlowKind.PAYMENT)
    found: dict[str, RuleOutcome] = {}
    for p in payments:
        d = p.data
        if d.payee.role not in INTERMEDIARIES or d.alliance_id is None:
            continue
        holder = d.payee.organisation_id
        if any(
            q.data.payer.organisation_id == holder and q.data.reference == d.reference and _overlap(q.data, d)
            for q in payments
        ):
            continue
        waited = _days(now, p.occurred_at)
        if waited <= t.onward_payment_days:
            continue
        subject = f"payment:{d.reference}:{holder}:{d.period_start.isoformat()}"
        if subject in found:  # the earliest payment of the period speaks for it
            continue
        onward = "the alliance's lead body" if d.payee.role.value == "trust" else "the alliance's members"
        detail = (
            f"{_party(d.payee)} was paid {_gbp(d.amount_gbp)} by {_party(d.payer)} on "
            f"{day(p.occurred_at)} for the alliance (reference {d.reference}), and has paid "
            f"nothing on to {onward} after {plural(waited, 'day')} (alert beyond "
            f"{t.onward_payment_days})."
        )
        found[subject] = RuleOutcome(
            severity=AlertSeverity.RED if waited > t.red_onward_payment_days else AlertSeverity.AMBER,
            subject=subject,
            detail=detail,
            evidence={
                **_flow_facts(p),
                "days_waiting": waited,
                "expected_onward_to": onward,
                "onward_payment_days": t.onward_payment_days,
                "red_onward_payment_days": t.red_onward_payment_days,
            },
            event_ids=(p.event_id,),
        )
    return [found[s] for s in sorted(found)]


def unpaid_members(
    flows: Sequence[FlowRecord], alliances: AllianceShares, now: datetime, t: FundingFlowThresholds
) -> list[RuleOutcome]:
    """A member due a share of an alliance received nothing for a period its lead body was paid
    for, more than ``member_payment_days`` after the lead body was paid."""
    payments = _of(flows, FlowKind.PAYMENT)
    to_lead: dict[tuple[str, date], list[FlowRecord]] = defaultdict(list)
    for p in payments:
        d = p.data
        if d.alliance_id is not None and d.payee.organisation_id == d.alliance_id and d.alliance_id in alliances:
            to_lead[(d.alliance_id, d.period_start)].append(p)
    out: list[RuleOutcome] = []
    for (lead, start), paid in sorted(to_lead.items()):
        first = paid[0]
        waited = _days(now, first.occurred_at)
        if waited <= t.member_payment_days:
            continue
        received = sum(p.data.amount_gbp for p in paid)
        for member, share in sorted(alliances[lead].items()):
            if share <= 0:
                continue
            if any(
                q.data.payee.organisation_id == member
                and lead in (q.data.alliance_id, q.data.payer.organisation_id)
                and _overlap(q.data, first.data)
                for q in payments
            ):
                continue
            due = round(share * received, 2)
            detail = (
                f"{member}, a member of the alliance led by {_party(first.data.payee)}, has "
                f"received nothing for the period from {day(start)} although the lead body "
                f"was paid {_gbp(received)} on {day(first.occurred_at)}; its share is "
                f"{share:.0%}, {_gbp(due)} ({plural(waited, 'day')}; alert beyond "
                f"{t.member_payment_days})."
            )
            out.append(
                RuleOutcome(
                    severity=AlertSeverity.RED if waited > t.red_member_payment_days else AlertSeverity.AMBER,
                    subject=f"member:{lead}:{member}:{start.isoformat()}",
                    detail=detail,
                    evidence={
                        **_flow_facts(first),
                        "member": member,
                        "share": share,
                        "lead_paid_gbp": received,
                        "share_due_gbp": due,
                        "days_waiting": waited,
                        "member_payment_days": t.member_payment_days,
                        "red_member_payment_days": t.red_member_payment_days,
                    },
                    event_ids=tuple(p.event_id for p in paid),
                )
            )
    return out


def _awards(flows: Sequence[FlowRecord]) -> list[FlowRecord]:
    """Each grant's award (a restated award of the same reference and payee: the latest wins)."""
    latest_award: dict[tuple[str, str], FlowRecord] = {}
    for a in _of(flows, FlowKind.GRANT_AWARD):
        latest_award[(a.data.reference, a.data.payee.organisation_id)] = a
    return [latest_award[k] for k in sorted(latest_award)]


def _paid_on(award: FlowRecord, flows: Sequence[FlowRecord]) -> list[FlowRecord]:
    d = award.data
    return [
        f
        for f in _of(flows, FlowKind.PAYMENT)
        if f.data.reference == d.reference and f.data.payee.organisation_id == d.payee.organisation_id
    ]


def _grant_facts(a: FlowRecord) -> dict:
    g = a.data.grant
    assert g is not None  # an award carries its terms (contracts.funding)
    return {
        **_flow_facts(a),
        "scheme": g.scheme,
        "start_date": g.start_date.isoformat(),
        "spend_by": g.spend_by.isoformat(),
        "conditions": list(g.conditions),
    }


def grants_not_paid(flows: Sequence[FlowRecord], today: date, t: FundingFlowThresholds) -> list[RuleOutcome]:
    """A grant not paid in full ``grant_payment_grace_days`` after its start date."""
    out = []
    for a in _awards(flows):
        d, g = a.data, a.data.grant
        assert g is not None
        late = (today - g.start_date).days
        if late <= t.grant_payment_grace_days:
            continue
        payments = _paid_on(a, flows)
        paid = sum(p.data.amount_gbp for p in payments)
        if paid >= d.amount_gbp - 0.005:
            continue
        detail = (
            f"A grant of {_gbp(d.amount_gbp)} from {_party(d.payer)} to {_party(d.payee)} "
            f"(reference {d.reference}) started on {day(g.start_date)} and "
            f"{_gbp(paid)} of it is paid, {plural(late, 'day')} later."
        )
        out.append(
            RuleOutcome(
                severity=AlertSeverity.RED if late > t.red_grant_unpaid_days else AlertSeverity.AMBER,
                subject=f"grant:{g.scheme}:{d.reference}:{d.payee.organisation_id}",
                detail=detail,
                evidence={
                    **_grant_facts(a),
                    "paid_gbp": paid,
                    "days_after_start": late,
                    "grant_payment_grace_days": t.grant_payment_grace_days,
                    "red_grant_unpaid_days": t.red_grant_unpaid_days,
                },
                event_ids=(a.event_id, *(p.event_id for p in payments)),
            )
        )
    return out


def grants_unspent(flows: Sequence[FlowRecord], today: date, t: FundingFlowThresholds) -> list[RuleOutcome]:
    """A paid grant with more than ``unspent_tolerance`` of it unspent (by the latest spend
    report) when its spend-by date is ``unspent_warning_days`` away or fewer; red once past."""
    reports = _of(flows, FlowKind.SPEND_REPORT)
    out = []
    for a in _awards(flows):
        d, g = a.data, a.data.grant
        assert g is not None
        days_left = (g.spend_by - today).days
        if days_left > t.unspent_warning_days or not _paid_on(a, flows) or d.amount_gbp <= 0:
            continue
        mine = [
            r
            for r in reports
            if r.data.reference == d.reference and r.data.payee.organisation_id == d.payee.organisation_id
        ]
        spent = mine[-1].data.amount_gbp if mine else 0.0
        unspent = max(0.0, d.amount_gbp - spent)
        share = unspent / d.amount_gbp
        if share <= t.unspent_tolerance:
            continue
        when = (
            f"was to be spent by {day(g.spend_by)}"
            if days_left < 0
            else f"is to be spent by {day(g.spend_by)}, in {plural(days_left, 'day')}"
        )
        detail = (
            f"A grant of {_gbp(d.amount_gbp)} to {_party(d.payee)} (reference {d.reference}) "
            f"{when}, and {_gbp(unspent)} ({share:.0%}) is unspent by "
            f"{'its latest spend report' if mine else 'any spend report (none sent)'}."
        )
        out.append(
            RuleOutcome(
                severity=AlertSeverity.RED if days_left < 0 else AlertSeverity.AMBER,
                subject=f"grant:{g.scheme}:{d.reference}:{d.payee.organisation_id}",
                detail=detail,
                evidence={
                    **_grant_facts(a),
                    "spent_gbp": spent,
                    "unspent_gbp": round(unspent, 2),
                    "unspent_share": round(share, 4),
                    "days_to_spend_by": days_left,
                    "unspent_warning_days": t.unspent_warning_days,
                    "unspent_tolerance": t.unspent_tolerance,
                },
                event_ids=(a.event_id, *(r.event_id for r in mine[-1:])),
            )
        )
    return out


def cquin_at_risk(
    records: Sequence[PerformanceRecord], t: FundingFlowThresholds, performance: PerformanceThresholds
) -> RuleOutcome | None:
    """One provider's CQUIN indicators (``cquin_indicators``) whose latest period is below its
    target (the area's, the event's or the indicator's default, as the performance rule reads
    it); amber when any is, red when at least ``red_cquin_share`` of them are."""
    by_indicator: dict = defaultdict(list)
    for r in records:
        if r.data.indicator in t.cquin_indicators and r.data.provider_sector in t.cquin_sectors:
            by_indicator[r.data.indicator].append(r)
    judged, below = [], []
    for indicator in sorted(by_indicator, key=lambda i: i.value):
        last = latest(by_indicator[indicator])
        target = target_for(last, performance)
        if target is None:
            continue
        figure = {
            "indicator": indicator.value,
            "value": last.data.measured,
            "target": target[0],
            "target_source": target[1],
            "period_end": last.data.period_end.isoformat(),
            "event_id": str(last.event_id),
        }
        judged.append(figure)
        if not INDICATORS[indicator].meets(last.data.measured, target[0]):
            below.append((figure, last))
    if not below:
        return None
    d = below[0][1].data
    share = len(below) / len(judged)
    names = ", ".join(
        f"{INDICATORS[r.data.indicator].title.lower()} {number(f['value'])} against {number(f['target'])}"
        for f, r in below
    )
    detail = (
        f"CQUIN at risk at {d.provider_name}: {len(below)} of its {len(judged)} CQUIN "
        f"indicators below target in their latest period ({names})."
    )
    return RuleOutcome(
        severity=AlertSeverity.RED if share >= t.red_cquin_share else AlertSeverity.AMBER,
        subject=f"provider:{d.provider_id}",
        detail=detail,
        evidence={
            "provider_id": d.provider_id,
            "provider_name": d.provider_name,
            "provider_sector": d.provider_sector.value,
            "below_target": [f for f, _ in below],
            "judged": judged,
            "red_cquin_share": t.red_cquin_share,
            "cquin_indicators": sorted(i.value for i in t.cquin_indicators),
        },
        event_ids=tuple(r.event_id for _, r in below),
        provider_id=d.provider_id,
    )


def flow_conditions(
    area: str, flows: Sequence[FlowRecord], alliances: AllianceShares, now: datetime, t: FundingFlowThresholds
) -> list[Condition]:
    """The funding flow conditions that hold at ``now`` in ``area``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    today = now.date()
    out = [Condition.of(AlertRule.PAYMENT_STUCK_IN_CHAIN, area, o) for o in stuck_payments(flows, now, t)]
    out += [Condition.of(AlertRule.ALLIANCE_MEMBER_UNPAID, area, o) for o in unpaid_members(flows, alliances, now, t)]
    out += [Condition.of(AlertRule.GRANT_NOT_PAID, area, o) for o in grants_not_paid(flows, today, t)]
    out += [Condition.of(AlertRule.GRANT_UNSPENT, area, o) for o in grants_unspent(flows, today, t)]
    return out
