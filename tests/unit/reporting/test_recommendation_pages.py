"""The dashboard's recommendation forms: what a form sends to the alerts API, and the page."""

from __future__ import annotations

from services.reporting import pages
from services.reporting.recommendation_pages import answer_body


def test_only_an_answers_filled_fields_are_sent_trimmed():
    form = {
        "csrf_token": "t",
        "response_id": " 5d0b3f0e-7c41-4a4e-9b2f-0c6e1d8a9f21 ",
        "outcome": "accepted",
        "reason": "  ",
        "action": " Fund it. ",
        "owner": "Team",
        "due_date": "2027-01-31",
        "extra": "x",
    }
    assert answer_body(form) == {
        "response_id": "5d0b3f0e-7c41-4a4e-9b2f-0c6e1d8a9f21",
        "outcome": "accepted",
        "action": "Fund it.",
        "owner": "Team",
        "due_date": "2027-01-31",
    }


def item(status: str, **extra) -> dict:
    return {
        "id": "5d0b3f0e-7c41-4a4e-9b2f-0c6e1d8a9f21",
        "text": "Open on <Sundays>.",
        "community": "african",
        "service": None,
        "organisation_id": "forum",
        "peer_review_id": None,
        "made_at": "2026-11-01T10:00:00Z",
        "status": status,
        "action": None,
        "owner": None,
        "due_date": None,
        "reason": None,
        "progress_note": None,
        **extra,
    }


def render(items: list[dict]) -> str:
    return pages.render(
        "recommendations.html",
        title="Recommendations",
        area="GMAN",
        area_name="Greater Manchester",
        areas=[("GMAN", "Greater Manchester")],
        items=items,
        total=len(items),
        flash=None,
        who="icb (commissioner)",
        csrf_token="tok",
        response_ids={i["id"]: "11111111-1111-4111-8111-111111111111" for i in items},
    )


def test_an_awaiting_recommendation_has_the_response_form_and_an_accepted_one_the_progress_form():
    awaiting = render([item("awaiting_response")])
    assert "Record the answer" in awaiting and 'name="response_id" value="11111111' in awaiting
    assert 'name="csrf_token" value="tok"' in awaiting and "&lt;Sundays&gt;" in awaiting
    accepted = render([item("accepted", action="Open", owner="Team", due_date="2027-01-31")])
    assert "Record progress" in accepted and "Record the answer" not in accepted
    done = render([item("completed", progress_note="Opened.")])
    assert '<form method="post"' not in done and "what changed: Opened." in done
