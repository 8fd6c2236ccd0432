"""The demo's peer review returns: one per Focused Implementation Site the seeds name, each
quoting its line, each within the contract and posted by a partner registered for its area, and
answers that leave some recommendations answered, some completed and some waiting."""

from __future__ import annotations

from datetime import date, datetime, timezone

from contracts.citations import misquoted
from contracts.peer_review import PeerReviewReturn
from deploy.local.demo import COMMISSIONERS, registrations
from deploy.local.demo_peer_reviews import SITES, answers, returns
from services.mapping.domain.peer_reviews import map_review
from services.mapping.domain.ruleset import load

DAY0 = date(2026, 12, 1)


def test_each_site_is_named_by_the_seeds_at_the_quoted_line():
    assert len({s.area for s in SITES}) == len(SITES) == 6
    assert all(misquoted(s.named) is None for s in SITES)


def test_every_return_meets_the_contract_and_is_placed_by_the_rule_set():
    rules = load()
    for body in returns(DAY0):
        review = PeerReviewReturn.model_validate(body)
        assert review.occurred_at <= datetime.combine(DAY0, datetime.min.time(), timezone.utc)
        assert len(review.data.answers) == 5 and len(review.data.recommendations) == 2
        assert map_review(review, rules, datetime.now(timezone.utc)).stages


def test_each_return_is_posted_by_a_partner_registered_for_the_site_and_answered_by_its_commissioners():
    registered = registrations()
    answering = {a for _c, _n, areas in COMMISSIONERS for a in areas}
    for body in returns(DAY0):
        assert body["area"] in registered[body["source"]].areas
        assert body["area"] in answering


def test_some_recommendations_are_answered_some_completed_and_some_left_waiting():
    given = answers(DAY0)
    assert len(given) == len(SITES)  # the second of each return waits
    completed = [b for _a, _r, bodies in given for b in bodies if b.get("progress") == "completed"]
    assert 0 < len(completed) < len(SITES)
    assert returns(DAY0) == returns(DAY0)  # the same ids on every run
