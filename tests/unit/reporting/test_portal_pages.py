"""The portal's templates render with what the routes give them: labels tied to inputs, errors
beside their field (aria-describedby), no script."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from contracts.vocabulary import Community, FindingSource, Severity, Theme
from services.reporting import portal
from services.reporting.domain import portal as forms


def render(template: str, **values) -> str:
    return portal._env.get_template(template).render(**values)


def report_values(**over):
    base = dict(
        title="x",
        active="report",
        who="pattigift (partner)",
        values={"event_id": "e-1", "date": "2026-12-01"},
        errors={},
        general=[],
        received=None,
        csrf_token="t",
        field_labels=forms.FORM_LABELS,
        areas=forms.area_choices(["BSOL"]),
        communities=forms.choices("community", Community),
        community_hint="hint",
        themes=forms.choices("theme", Theme),
        severities=forms.choices("severity", Severity, forms.SEVERITY_HINTS),
        sources=forms.choices("finding_source", FindingSource, forms.FINDING_SOURCE_HINTS),
    )
    return base | over


def test_every_input_has_a_label_and_no_script():
    page = render("portal_report.html", **report_values())
    assert "<script" not in page
    for ident in re.findall(r'<(?:input|select|textarea)[^>]* id="([^"]+)"', page):
        assert f'for="{ident}"' in page, ident
    assert "Received" not in page and "e-1" in page


def test_an_error_sits_beside_its_field_and_is_announced():
    page = render("portal_report.html", **report_values(errors={"summary": "contains what looks like a phone number"}))
    assert 'id="summary-error"' in page
    textarea = re.search(r"<textarea id=\"summary\"[^>]*>", page).group(0)
    assert 'aria-describedby="summary-hint summary-error"' in textarea and 'aria-invalid="true"' in textarea
    assert page.index('id="summary-error"') < page.index('<textarea id="summary"')
    assert 'href="#summary">What was found: contains' in page and 'role="alert"' in page


def test_a_received_finding_shows_its_event_id_and_says_durable():
    page = render("portal_report.html", **report_values(received={"event_id": "abc", "status": "accepted"}))
    assert "Received, durable" in page and 'data-testid="event-id">abc<' in page


def test_upload_results_list_each_row():
    rows = [
        forms.RowResult(2, "a", "accepted"),
        forms.RowResult(3, None, "refused", "people_affected", "write a whole number"),
    ]
    page = render(
        "portal_upload.html",
        title="x",
        active="upload",
        who="w",
        kind="findings",
        error=None,
        results=rows,
        counts={"accepted": 1, "refused": 1},
        filename="f.csv",
        columns=forms.COLUMNS,
        required=forms.REQUIRED,
        max_rows=10,
        max_mb=2,
        csrf_token="t",
    )
    assert 'data-row="3" data-status="refused"' in page and "people affected" in page
    assert "1 accepted, 0 already received (duplicate), 1 refused" in page


def test_submissions_show_mapping_and_rule_reasons():
    row = {
        "event_id": "e",
        "type": "t",
        "area": "BSOL",
        "ingested_at": datetime.now(timezone.utc),
        "theme": "unmet_need",
        "community": "somali",
        "severity": "high",
        "summary": "S",
        "indicator": None,
        "value": None,
        "target": None,
        "provider_id": None,
        "stages": [1, 2],
        "competencies": [3],
        "rule_ids": ["theme.unmet_need"],
        "rules_version": "v",
    }
    page = render(
        "portal_submissions.html",
        title="x",
        active="submissions",
        who="w",
        rows=[row],
        total=1,
        page=1,
        pages=1,
        rules={"theme.unmet_need": "Identifying gaps"},
        recommendations=None,
        recommendations_note="not yet",
        now=datetime.now(timezone.utc),
    )
    assert "theme.unmet_need</code>: Identifying gaps" in page and "Stage 1 " in page and "not yet" in page


def test_sign_in_may_return_to_the_portal_but_never_elsewhere():
    from services.reporting.domain import session

    assert session.safe_next("/portal/upload", "/portal") == "/portal/upload"
    for bad in ("/portal//evil.example", "https://evil.example/portal", "/portal\\x", "/login"):
        assert session.safe_next(bad, "/portal") == "/portal"


def test_recommendations_are_paged_on_their_own():
    """An organisation with more recommendations than one page reaches the older ones, and the
    submissions' own page is kept in the links."""
    rec = {
        "made_at": "2026-11-01T10:00:00Z",
        "area": "BSOL",
        "recommendation": "Open on Saturdays",
        "community": "somali",
        "theme": "access",
        "status": "accepted",
    }
    page = render(
        "portal_submissions.html",
        title="x",
        active="submissions",
        who="w",
        rows=[],
        total=60,
        page=2,
        pages=3,
        rules={},
        recommendations=[rec] * 20,
        rec_total=45,
        rec_page=2,
        rec_pages=3,
        recommendations_note=None,
        now=datetime.now(timezone.utc),
    )
    assert "45 in all, page 2 of 3" in page
    assert 'href="/portal/submissions?page=2&amp;rpage=1#responses" rel="prev"' in page
    assert 'href="/portal/submissions?page=2&amp;rpage=3#responses" rel="next"' in page
    assert 'href="/portal/submissions?page=3&amp;rpage=2" rel="next">Older</a>' in page
    assert page.count("Open on Saturdays") == 20
