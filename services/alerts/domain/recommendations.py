"""Community recommendations and their follow-up: pure, for the worker and the API.

A finding that carries a recommendation opens a :class:`Recommendation` for its area. A
commissioner of the area answers it (accepted, partly accepted, not accepted with the reason)
and later reports progress on the action until it is completed. Two rules watch the silence the
seeds complain of, "there was not adequate involvement of commissioners in following up
recommendations" (001:348): a recommendation with no response within the area's response window
is not followed up, and an accepted action past its due date and not completed is overdue. Each
holds as a :class:`~.conditions.Condition`, so the alert lifecycle opens, notifies and resolves
it like any other; a response or a completion clears it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from statistics import median
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict

from contracts.events import (
    ACTION_OUTCOMES,
    ActionProgress,
    AlertRule,
    AlertSeverity,
    CommunityEngagementFinding,
    MappedEvent,
    RecommendationOutcome,
    RecommendationResponse,
)
from contracts.places import Region
from contracts.taxonomy import CDWRole, Competency, Stage
from contracts.vocabulary import Community, Theme

from .conditions import Condition
from .records import RuleOutcome
from .thresholds import RecommendationThresholds

#: The rules that read recommendations rather than an area's event state.
FOLLOW_UP_RULES = frozenset({AlertRule.RECOMMENDATION_NOT_FOLLOWED_UP, AlertRule.RECOMMENDATION_ACTION_OVERDUE})
Status = Literal["awaiting_response", "accepted", "partly_accepted", "not_accepted", "completed"]


class RecommendationError(ValueError):
    """An answer that does not fit the recommendation's state (progress before acceptance)."""


class Recommendation(BaseModel):
    """What a community recommended, by whom, for whom, where it sits in the commissioning
    cycle, and how the commissioners answered it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: UUID  # the finding's event id
    area: str
    region: Region
    organisation_id: str
    cdw_roles: tuple[CDWRole, ...]
    community: Community
    service: str | None
    theme: Theme
    text: str
    finding_summary: str
    stages: tuple[Stage, ...]
    competencies: tuple[Competency, ...]
    made_at: AwareDatetime
    recorded_at: AwareDatetime
    outcome: RecommendationOutcome | None = None
    reason: str | None = None
    action: str | None = None
    owner: str | None = None
    due_date: date | None = None
    responded_by: str | None = None
    first_responded_at: AwareDatetime | None = None
    responded_at: AwareDatetime | None = None
    progress: ActionProgress | None = None
    progress_note: str | None = None
    completed_at: AwareDatetime | None = None
    #: The peer review return that made it, when it came from one rather than from a finding.
    peer_review_id: UUID | None = None

    @classmethod
    def of(cls, mapped: MappedEvent, now: datetime) -> "Recommendation | None":
        """The recommendation a mapped finding carries, or None (no finding, no recommendation)."""
        event = mapped.event
        if not isinstance(event, CommunityEngagementFinding) or not (event.data.recommendation or "").strip():
            return None
        d = event.data
        roles = tuple(mapped.cdw_roles) or ((d.cdw_role,) if d.cdw_role else ())
        return cls(
            id=event.event_id,
            area=event.area,
            region=event.region,
            organisation_id=event.source,
            cdw_roles=roles,
            community=d.community,
            service=d.service,
            theme=d.theme,
            text=str(d.recommendation),
            finding_summary=d.summary,
            stages=tuple(mapped.stages),
            competencies=tuple(mapped.competencies),
            made_at=event.occurred_at,
            recorded_at=now,
        )

    @property
    def status(self) -> Status:
        if self.progress is ActionProgress.COMPLETED:
            return "completed"
        return self.outcome.value if self.outcome is not None else "awaiting_response"

    @property
    def open(self) -> bool:
        """Still watched: awaiting a response, or an action promised and not completed."""
        return self.outcome is None or (
            self.outcome in ACTION_OUTCOMES and self.progress is not ActionProgress.COMPLETED
        )


def answer(rec: Recommendation, response: RecommendationResponse) -> Recommendation:
    """The recommendation after one answer. Raises :class:`RecommendationError` when the answer
    does not fit: anything after completion, or progress on an action never accepted."""
    d = response.data
    if d.recommendation_id != rec.id or response.area != rec.area:
        raise RecommendationError(
            f"the answer is for recommendation {d.recommendation_id} in '{response.area}', not {rec.id} in '{rec.area}'"
        )
    if rec.progress is ActionProgress.COMPLETED:
        raise RecommendationError("the recommendation's action is completed; it takes no further answer")
    at = response.occurred_at
    if d.outcome is not None:
        acting = d.outcome in ACTION_OUTCOMES
        return rec.model_copy(
            update=dict(
                outcome=d.outcome,
                reason=d.reason,
                action=d.action if acting else None,
                owner=d.owner if acting else None,
                due_date=d.due_date if acting else None,
                responded_by=response.source,
                responded_at=at,
                first_responded_at=rec.first_responded_at or at,
            )
        )
    if rec.outcome not in ACTION_OUTCOMES:
        raise RecommendationError(
            "progress is reported on an accepted or partly accepted recommendation; record that response first"
        )
    return rec.model_copy(
        update=dict(
            progress=d.progress,
            progress_note=d.note or rec.progress_note,
            action=d.action or rec.action,
            owner=d.owner or rec.owner,
            due_date=d.due_date or rec.due_date,
            completed_at=at if d.progress is ActionProgress.COMPLETED else None,
        )
    )


def subject(rec_id: UUID) -> str:
    return f"recommendation:{rec_id}"


def _evidence(rec: Recommendation, **extra: object) -> dict[str, object]:
    return {
        "recommendation_id": str(rec.id),
        "organisation_id": rec.organisation_id,
        "community": rec.community.value,
        "service": rec.service,
        "made_at": rec.made_at.isoformat(),
        "recommendation": rec.text[:500],
        "stages": [int(s) for s in rec.stages],
        "competencies": [int(c) for c in rec.competencies],
        **extra,
    }


def not_followed_up(rec: Recommendation, now: datetime, t: RecommendationThresholds) -> RuleOutcome | None:
    """A recommendation with no response after ``response_days`` (red after ``red_response_days``)."""
    if rec.outcome is not None:
        return None
    waited = (now - rec.made_at).days
    if waited < t.response_days:
        return None
    severity = AlertSeverity.RED if waited >= t.red_response_days else AlertSeverity.AMBER
    who = f" for the {rec.service} service" if rec.service else ""
    return RuleOutcome(
        severity=severity,
        subject=subject(rec.id),
        detail=(
            f"a recommendation from {rec.organisation_id} about the {rec.community.value.replace('_', ' ')} "
            f"community{who} has had no response from commissioners for {waited} days "
            f"(the area expects one within {t.response_days})."
        ),
        evidence=_evidence(rec, days_waiting=waited, response_days=t.response_days),
        event_ids=(rec.id,),
    )


def action_overdue(rec: Recommendation, now: datetime, t: RecommendationThresholds) -> RuleOutcome | None:
    """An accepted action past its due date and not completed (red ``red_overdue_days`` past)."""
    if (
        rec.outcome not in ACTION_OUTCOMES
        or rec.progress is ActionProgress.COMPLETED
        or rec.due_date is None
        or now.date() <= rec.due_date
    ):
        return None
    late = (now.date() - rec.due_date).days
    severity = AlertSeverity.RED if late >= t.red_overdue_days else AlertSeverity.AMBER
    return RuleOutcome(
        severity=severity,
        subject=subject(rec.id),
        detail=(
            f"the action promised on a recommendation from {rec.organisation_id} about the "
            f"{rec.community.value.replace('_', ' ')} community ({rec.owner}) was due "
            f"{rec.due_date.isoformat()} and is {late} days overdue."
        ),
        evidence=_evidence(
            rec, due_date=rec.due_date.isoformat(), days_overdue=late, owner=rec.owner, action=(rec.action or "")[:500]
        ),
        event_ids=(rec.id,),
    )


def follow_up_conditions(recs: Iterable[Recommendation], now: datetime, t: RecommendationThresholds) -> list[Condition]:
    """The follow-up conditions that hold at ``now`` for an area's open recommendations."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    out = []
    for rec in recs:
        for rule, decide in (
            (AlertRule.RECOMMENDATION_NOT_FOLLOWED_UP, not_followed_up),
            (AlertRule.RECOMMENDATION_ACTION_OVERDUE, action_overdue),
        ):
            outcome = decide(rec, now, t)
            if outcome is not None:
                out.append(Condition.of(rule, rec.area, outcome))
    return sorted(out, key=lambda c: c.fingerprint)


def follow_up_summary(
    recs: Iterable[Recommendation], now: datetime, window_days: int, t: RecommendationThresholds
) -> dict[str, object]:
    """How an area follows up recommendations made in the last ``window_days``: how many were
    answered and how fast (median days from the recommendation to its first response), the
    outcomes, and how many are not followed up or have an overdue action at ``now``."""
    since = now - timedelta(days=window_days)
    made = [r for r in recs if since < r.made_at <= now]
    answered = [r for r in made if r.first_responded_at is not None]
    days = [
        (r.first_responded_at - r.made_at).total_seconds() / 86400 for r in answered if r.first_responded_at is not None
    ]
    outcomes = Counter(r.outcome.value for r in answered if r.outcome is not None)
    return {
        "window_days": window_days,
        "made": len(made),
        "answered": len(answered),
        "response_rate": round(len(answered) / len(made), 4) if made else None,
        "median_days_to_response": round(median(days), 1) if days else None,
        "outcomes": {o.value: outcomes.get(o.value, 0) for o in RecommendationOutcome},
        "completed": sum(r.progress is ActionProgress.COMPLETED for r in made),
        "awaiting_response": sum(r.outcome is None for r in made),
        "not_followed_up": sum(not_followed_up(r, now, t) is not None for r in made),
        "overdue_actions": sum(action_overdue(r, now, t) is not None for r in made),
        "response_days": t.response_days,
    }


# --- who sees what -----------------------------------------------------------------------------


def _answer_shown(answer: RecommendationResponse) -> dict[str, object]:
    d = answer.data
    return {
        "response_id": str(answer.event_id),
        "at": answer.occurred_at.isoformat(),
        "by": answer.source,
        "outcome": d.outcome.value if d.outcome else None,
        "reason": d.reason,
        "action": d.action,
        "owner": d.owner,
        "due_date": d.due_date.isoformat() if d.due_date else None,
        "progress": d.progress.value if d.progress else None,
        "note": d.note,
    }


def partner_view(rec: Recommendation, answers: Iterable[RecommendationResponse]) -> dict[str, object]:
    """A recommendation as the organisation that made it reads it: what it recommended, the
    state of the answer (outcome, action, owner, due date, progress, what changed) and every
    answer in order, by the answering organisation; never the key that gave it."""
    return {
        "id": str(rec.id),
        "area": rec.area,
        "community": rec.community.value,
        "service": rec.service,
        "theme": rec.theme.value,
        "recommendation": rec.text,
        "made_at": rec.made_at.isoformat(),
        "peer_review_id": str(rec.peer_review_id) if rec.peer_review_id else None,
        "status": rec.status,
        "open": rec.open,
        "outcome": rec.outcome.value if rec.outcome else None,
        "reason": rec.reason,
        "action": rec.action,
        "owner": rec.owner,
        "due_date": rec.due_date.isoformat() if rec.due_date else None,
        "progress": rec.progress.value if rec.progress else None,
        "what_changed": rec.progress_note,
        "first_responded_at": rec.first_responded_at.isoformat() if rec.first_responded_at else None,
        "completed_at": rec.completed_at.isoformat() if rec.completed_at else None,
        "responses": [_answer_shown(a) for a in sorted(answers, key=lambda a: a.occurred_at)],
    }


def _day(moment: datetime | None) -> str | None:
    return moment.date().isoformat() if moment else None


def public_view(rec: Recommendation) -> dict[str, object]:
    """A recommendation as the public "you said, we did" page shows it: the community, the
    service, what was recommended and the commissioners' outcome, action and what changed, with
    dates only. Left out: who recommended it and who answered (organisations can be small
    enough to name people), the action's owner (a role, but possibly a person's name), the
    finding's own summary, key ids and times of day. The texts shown passed the privacy guard
    when they were posted (the recommendation at intake, the answers at the alerts API)."""
    return {
        "community": rec.community.value,
        "service": rec.service,
        "theme": rec.theme.value,
        "you_said": rec.text,
        "said_on": rec.made_at.date().isoformat(),
        "from_peer_review": rec.peer_review_id is not None,
        "status": rec.status,
        "outcome": rec.outcome.value if rec.outcome else None,
        "reason": rec.reason,
        "we_will": rec.action,
        "due_date": rec.due_date.isoformat() if rec.due_date else None,
        "progress": rec.progress.value if rec.progress else None,
        "we_did": rec.progress_note if rec.progress is ActionProgress.COMPLETED else None,
        "answered_on": _day(rec.first_responded_at),
        "completed_on": _day(rec.completed_at),
    }
