"""The public "you said, we did" page renders what the alerts service's public view gives it,
escaped, with the five questions of a peer review; pure (templates only, no services)."""

from __future__ import annotations

import copy
from datetime import datetime, timezone

from contracts.peer_review import EXAMPLE, QUESTIONS, MappedPeerReview, PeerReviewReturn
from contracts.places import AREAS
from contracts.taxonomy import Competency, Stage
from services.alerts.domain.peer_reviews import public_review, recommendations_of
from services.alerts.domain.recommendations import public_view
from services.reporting import pages
from services.reporting.public import PANEL, STAGE_TITLES

NOW = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)


def view(text: str = "Train ward staff in faith needs.") -> dict:
    body = copy.deepcopy(EXAMPLE)
    body["data"]["recommendations"][0]["recommendation"] = text
    m = MappedPeerReview(
        event=PeerReviewReturn.model_validate(body),
        stages=[Stage.MANAGING_PERFORMANCE],
        competencies=[Competency.ENGAGE_WITH_PUBLIC_AND_PATIENTS],
        rule_ids=["peer_review.panel"],
        rules_version="t",
        mapped_at=NOW,
    )
    recs = recommendations_of(m, NOW)
    return {
        "area": "SOM",
        "area_name": AREAS["SOM"].name,
        "region": "south_west",
        "window_days": 365,
        "follow_up": {
            "made": 1,
            "answered": 0,
            "response_rate": 0.0,
            "median_days_to_response": None,
            "completed": 0,
            "awaiting_response": 1,
        },
        "items": [public_view(r) for r in recs],
        "total": 1,
        "limit": 100,
        "offset": 0,
        "next_offset": None,
        "peer_reviews": [public_review(m, recs)],
    }


def render(v: dict) -> str:
    return pages.render(
        "public_you_said.html", title="You said, we did", view=v, stage_titles=STAGE_TITLES, panel_words=PANEL
    )


def test_the_page_shows_the_five_questions_the_panel_and_the_recommendation():
    page = render(view())
    for ref in QUESTIONS.values():
        assert pages.env.filters["e"](ref.quote) in page or ref.quote in page
    assert page.count('data-testid="review-answer"') == 5
    assert "1 service user" in page and "1 Race Equality Lead" in page
    assert "Train ward staff in faith needs." in page and "Awaiting an answer" in page
    assert "somerset-vcse-alliance" not in page


def test_text_is_escaped():
    page = render(view("<script>alert(1)</script> more beds"))
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_an_area_without_returns_or_recommendations_says_so():
    v = view() | {"items": [], "total": 0, "peer_reviews": []}
    page = render(v)
    assert "No peer review return has been recorded" in page and "No recommendation has been recorded" in page
