"""Peer review returns in the alerts service: the recommendations a return opens, and what the
public page shows of it. Pure.

Each recommendation of a return (contracts.peer_review) becomes a :class:`Recommendation` of the
site's area, with an id derived from the return's id and its place in the list, so a replayed
return opens the same records and nothing more. From then on it is followed up like a finding's:
answered by the area's commissioners, watched by the two follow-up rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from contracts.peer_review import QUESTIONS, RATING_WORDS, MappedPeerReview, PanelMember, recommendation_id

from .recommendations import Recommendation, public_view


def recommendations_of(mapped: MappedPeerReview, now: datetime) -> list[Recommendation]:
    """The recommendations a mapped return opens, in the return's order."""
    review = mapped.event
    d = review.data
    about = f"Peer review of {d.site_name or review.area} on {d.reviewed_on.isoformat()}"
    return [
        Recommendation(
            id=recommendation_id(review.event_id, i),
            area=review.area,
            region=review.region,
            organisation_id=review.source,
            cdw_roles=(),
            community=r.community,
            service=r.service,
            theme=r.theme,
            text=r.recommendation,
            finding_summary=about,
            stages=tuple(mapped.stages),
            competencies=tuple(mapped.competencies),
            made_at=review.occurred_at,
            recorded_at=now,
            peer_review_id=review.event_id,
        )
        for i, r in enumerate(d.recommendations)
    ]


def public_review(mapped: MappedPeerReview, recs: Iterable[Recommendation]) -> dict[str, object]:
    """A return as the public page shows it: the day, the panel by kind (numbers, never names),
    each question in the form's words with the panel's answer and rating, where the rule set
    placed it, and its recommendations with their progress (as :func:`public_view` shows any)."""
    review = mapped.event
    d = review.data
    return {
        "id": str(review.event_id),
        "reviewed_on": d.reviewed_on.isoformat(),
        "site_name": d.site_name,
        "panel": {k.value: d.panel.get(k, 0) for k in PanelMember},
        "answers": [
            {
                "question": a.question.value,
                "asks": QUESTIONS[a.question].quote,
                "answer": a.answer,
                "rating": a.rating,
                "rating_words": RATING_WORDS[a.rating],
            }
            for a in d.answers
        ],
        "stages": [int(s) for s in mapped.stages],
        "competencies": [int(c) for c in mapped.competencies],
        "recommendations": [public_view(r) for r in sorted(recs, key=lambda r: str(r.id))],
    }
