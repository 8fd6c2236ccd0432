"""Map a peer review return to commissioning cycle stages and competencies. Pure.

Every return fires the rule set's panel rules (no question); each answer fires its question's
rules. The placement is their union, sorted, as for any event (:mod:`.mapper`).
"""

from __future__ import annotations

from datetime import datetime

from contracts.peer_review import MappedPeerReview, PeerReviewReturn

from .mapper import Explanation, Unplaceable, rule_firing
from .ruleset import RuleSet


def explain_review(review: PeerReviewReturn, rules: RuleSet) -> Explanation | Unplaceable:
    out = Explanation()
    for question in (None, *(a.question for a in review.data.answers)):
        for rule in rules.peer_review_rules(question):
            out.firings.append(rule_firing(rule))
    if not out.firings:
        return Unplaceable(f"no rule for peer review returns in rule set {rules.version}")
    return out


def map_review(review: PeerReviewReturn, rules: RuleSet, mapped_at: datetime) -> MappedPeerReview | Unplaceable:
    result = explain_review(review, rules)
    if isinstance(result, Unplaceable):
        return result
    placed = result.union()
    return MappedPeerReview(
        event=review,
        stages=placed.stages,
        competencies=placed.competencies,
        rule_ids=sorted({f.rule_id for f in result.firings}),
        rules_version=rules.version,
        mapped_at=mapped_at,
    )
