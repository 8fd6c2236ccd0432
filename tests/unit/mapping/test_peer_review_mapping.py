"""Peer review returns through the mapping rule set: every return fires the panel rule, each of
the five answers its question's rule; the record goes to mapped.peer-reviews.v1, and a return
that breaks the contract is dead-lettered with the field named."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

from contracts.citations import SeedRef, misquoted
from contracts.peer_review import EXAMPLE, PeerReviewReturn, ReviewQuestion
from contracts.taxonomy import Stage
from contracts.topics import DEADLETTER, MAPPED_PEER_REVIEWS, PEER_REVIEWS
from services.mapping.domain.peer_reviews import explain_review, map_review
from services.mapping.domain.records import handle
from services.mapping.domain.ruleset import load

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
RULES = load()


def test_every_question_has_a_rule_and_every_rule_quotes_its_lines():
    assert {r.question for r in RULES.peer_reviews} == {None, *ReviewQuestion}
    for r in RULES.peer_reviews:
        assert all(misquoted(c) is None for c in r.cites if isinstance(c, SeedRef))


def test_a_return_is_placed_by_the_panel_rule_and_its_five_answers():
    mapped = map_review(PeerReviewReturn.model_validate(EXAMPLE), RULES, NOW)
    assert not isinstance(mapped, type(None)) and hasattr(mapped, "rule_ids")
    assert mapped.rule_ids == sorted(["peer_review.panel", *(f"peer_review.{q.value}" for q in ReviewQuestion)])
    assert Stage.MANAGING_PERFORMANCE in mapped.stages and mapped.rules_version == RULES.version


def test_a_rule_set_without_peer_review_rules_cannot_place_a_return():
    bare = RULES.model_copy(update={"peer_reviews": ()})
    assert "no rule for peer review returns" in explain_review(PeerReviewReturn.model_validate(EXAMPLE), bare).reason


def test_the_mapping_worker_sends_a_return_to_its_own_mapped_topic():
    out = handle(json.dumps(EXAMPLE).encode(), b"SOM", PEER_REVIEWS.name, 0, 7, RULES, NOW)
    assert out.topic == MAPPED_PEER_REVIEWS.name and out.outcome == "mapped" and out.key == b"SOM"
    assert dict(out.headers)["ce_type"] == b"uk.nhs.commissioning.mapped-peer-review.v1"


def test_a_return_that_breaks_the_contract_is_dead_lettered_naming_the_field():
    body = copy.deepcopy(EXAMPLE)
    body["data"]["answers"] = body["data"]["answers"][:3]
    out = handle(json.dumps(body).encode(), b"SOM", PEER_REVIEWS.name, 0, 8, RULES, NOW)
    assert out.topic == DEADLETTER.name and out.stage == "validate"
    assert json.loads(out.value)["reason"].startswith("data.answers")
