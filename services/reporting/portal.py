"""The partner portal: report a finding through a form, upload a monthly return or many findings as
CSV or XLSX, and see what the organisation sent, where it was mapped and why.

Server-rendered from the Jinja2 templates ``templates/portal_*.html`` in the dashboard's look, no
JavaScript. A partner signs in with its API key through the same sign-in and server-side session as
the dashboard (``/portal/login`` posts to ``/login``). Nothing is written here: every finding and
every row goes through intake's HTTP API as the partner's own key (:mod:`.delegate`), so the same
contract, privacy guard, idempotency and ledger apply, and "received" means intake answered 202,
durable in Kafka. Intake's refusals are shown beside the field (or row) they name.
"""

from __future__ import annotations

import time
import uuid
from datetime import date, datetime, timezone
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.datastructures import UploadFile

from contracts.labels import label
from contracts.vocabulary import Community, FindingSource, Severity, Theme
from services.common.auth import Principal
from services.common.problems import Problem

from . import delegate
from .access import principal_or_none, set_login_csrf
from .adapters.portal_store import PortalStore
from .dashboard import SECURITY_HEADERS, sign_out
from .domain import portal as forms
from .domain import session
from .taxonomy_api import rules_in_force

router = APIRouter(include_in_schema=False)

NAV = (
    ("report", "/portal/report", "Report a finding"),
    ("upload", "/portal/upload", "Upload a file"),
    ("submissions", "/portal/submissions", "My submissions"),
)
#: A form post is small; an upload is the file's limit and the form around it.
MAX_FORM_BYTES = 64 * 1024
MAX_UPLOAD_REQUEST = forms.MAX_UPLOAD_BYTES + 64 * 1024
#: A file of the largest size allowed arrives at about 35 KB/s in this time (local default).
UPLOAD_SECONDS = 60.0
UPLOAD_TOO_LARGE = (
    f"The file is larger than {forms.MAX_UPLOAD_BYTES // (1024 * 1024)} MB. Split it and upload each part."
)


def body_limits(path: str, body_seconds: float) -> tuple[int, float, str]:
    """What the web process reads of a form post before any route sees it (asgi.FormGuard): the
    upload its file's size and time, every other form a small page's worth in the usual time."""
    if path == "/portal/upload":
        return MAX_UPLOAD_REQUEST, UPLOAD_SECONDS, UPLOAD_TOO_LARGE
    return MAX_FORM_BYTES, body_seconds, "The form is larger than any form of these pages."


PAGE_SIZE = 25
#: Recommendations are paged on their own, under the submissions (query parameter ``rpage``).
RECOMMENDATIONS_PAGE_SIZE = 20

_env = Environment(
    loader=PackageLoader("services.reporting", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals.update(nav=NAV, label=label)


def _page(template: str, status: int = 200, **values: Any) -> HTMLResponse:
    return HTMLResponse(_env.get_template(template).render(**values), status_code=status, headers=SECURITY_HEADERS)


def _who_line(who: Principal) -> str:
    return f"{who.organisation_id} ({who.role.value})"


def _message(request: Request, who: Principal | None, status: int, title: str, detail: str) -> HTMLResponse:
    return _page(
        "portal_message.html", status, title=title, detail=detail, active="", who=_who_line(who) if who else None
    )


async def _signed_in(request: Request) -> Principal | Response:
    """The signed-in caller, or the answer to send instead (to the sign-in page, or an error)."""
    try:
        who = await principal_or_none(request)
    except Problem as exc:
        return _message(request, None, exc.status, exc.title, exc.detail or exc.title)
    if who is None or request.headers.get("authorization"):
        # The portal acts through a session only: the sealed key is the session's.
        target = request.url.path + (("?" + request.url.query) if request.url.query else "")
        return RedirectResponse(
            "/portal/login?next=" + quote(target, safe=""), status_code=303, headers=SECURITY_HEADERS
        )
    return who


def _problem_page(request: Request, who: Principal, exc: Problem) -> HTMLResponse:
    if exc.status == 401:
        return _message(
            request,
            who,
            401,
            "Please sign in again",
            "This session cannot send for your organisation any more. Sign out and sign in "
            "again with your organisation's API key.",
        )
    return _message(request, who, exc.status, exc.title, exc.detail or exc.title)


# ---------------------------------------------------------------------------------------------
# Sign-in (the dashboard's: POST /login, one session mechanism) and sign-out
# ---------------------------------------------------------------------------------------------


def _portal_next(target: str | None) -> str:
    return session.safe_next(target, "/portal") if target and target.startswith("/portal") else "/portal"


@router.get("/portal/login")
async def login_form(request: Request) -> Response:
    token = session.new_csrf_token(request.app.state.session_secret, time.time())
    response = _page("portal_login.html", csrf_token=token, next_path=_portal_next(request.query_params.get("next")))
    return set_login_csrf(request, response, token)


@router.get("/portal/logout")
async def logout(request: Request) -> Response:
    """End the session server-side; its sealed key is forgotten with it (migration 011)."""
    return await sign_out(request, "/portal/login")


@router.get("/portal")
async def home(request: Request) -> Response:
    return RedirectResponse("/portal/report", status_code=303, headers=SECURITY_HEADERS)


# ---------------------------------------------------------------------------------------------
# Report a finding
# ---------------------------------------------------------------------------------------------


def _form_choices(request: Request, who: Principal) -> dict[str, Any]:
    try:
        rules = rules_in_force(request)
        theme_hints = {
            t: (r.seed_refs[0] if r is not None and r.seed_refs else None) for t in Theme for r in [rules.theme_rule(t)]
        }
    except Problem:
        theme_hints = {}
    return {
        "areas": forms.area_choices(sorted(who.areas)),
        "communities": forms.choices("community", Community),
        "community_hint": forms.hint_text(forms.COMMUNITY_HINT),
        "themes": forms.choices("theme", Theme, theme_hints),
        "severities": forms.choices("severity", Severity, forms.SEVERITY_HINTS),
        "sources": forms.choices("finding_source", FindingSource, forms.FINDING_SOURCE_HINTS),
    }


def _report_page(
    request: Request,
    who: Principal,
    status: int = 200,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    general: list[str] | None = None,
    received: dict[str, Any] | None = None,
) -> HTMLResponse:
    values = dict(values or {})
    if received or not values:  # a fresh form: a new event id, today's date
        values = {"date": date.today().isoformat()}
    if not values.get("event_id"):
        values["event_id"] = str(uuid.uuid4())
    return _page(
        "portal_report.html",
        status,
        active="report",
        who=_who_line(who),
        values=values,
        errors=errors or {},
        general=general or [],
        received=received,
        field_labels=forms.FORM_LABELS,
        csrf_token=delegate.form_csrf_token(request),
        **_form_choices(request, who),
    )


async def _form(request: Request, limit: int) -> dict[str, str] | None:
    length = request.headers.get("content-length")
    if length is None or not length.isdigit() or int(length) > limit:
        return None
    form = await request.form(max_files=0, max_fields=40)
    return {k: v for k, v in form.items() if isinstance(v, str)}


@router.get("/portal/report")
async def report_form(request: Request) -> Response:
    who = await _signed_in(request)
    if isinstance(who, Response):
        return who
    return _report_page(request, who)


@router.post("/portal/report")
async def report(request: Request) -> Response:
    who = await _signed_in(request)
    if isinstance(who, Response):
        return who
    values = await _form(request, MAX_FORM_BYTES)
    if values is None:
        return _message(request, who, 413, "Form too large", "Send the form from the portal's page.")
    try:
        delegate.check_form_csrf(request, values.get("csrf_token"))
    except Problem as exc:
        return _message(request, who, 403, "The form expired", f"Open the form again and resend it. ({exc.detail})")
    try:
        event_id = str(uuid.UUID(values.get("event_id", "")))
    except ValueError:
        values.pop("event_id", None)
        return _report_page(
            request,
            who,
            400,
            values=values,
            general=["The form's event id was changed; a new one is ready, please send again."],
        )
    draft = forms.finding_draft(values, who.organisation_id, event_id, date.today())
    if draft.body is None:
        return _report_page(request, who, 422, values=values, errors=draft.errors)
    try:
        answer = await delegate.act_as(request, "intake", "POST", "/v1/findings", json=draft.body)
    except Problem as exc:
        return _problem_page(request, who, exc)
    body = _json(answer)
    if answer.status_code in (200, 202):
        return _report_page(
            request,
            who,
            received={
                "event_id": body.get("event_id", event_id),
                "status": body.get("status", "accepted"),
                "topic": body.get("topic"),
                "partition": body.get("partition"),
                "offset": body.get("offset"),
            },
        )
    if answer.status_code == 422:
        errors, general = forms.field_errors(body, forms.FORM_FIELDS)
        return _report_page(request, who, 422, values=values, errors=errors, general=general)
    if answer.status_code == 409:
        values.pop("event_id", None)
        return _report_page(
            request,
            who,
            409,
            values=values,
            general=[
                "This form was already sent with different content. A fresh form id is ready: check the "
                "fields and send again if this is a new finding."
            ],
        )
    if answer.status_code in (429, 503):
        return _report_page(
            request,
            who,
            answer.status_code,
            values=values,
            general=[
                f"{body.get('detail') or body.get('title') or 'Intake is busy'}. Nothing was stored: send the form "
                "again in a moment (it is safe: the same event id is kept, so it cannot be counted twice)."
            ],
        )
    return _message(
        request,
        who,
        answer.status_code,
        str(body.get("title") or "Refused by intake"),
        f"Intake refused the finding: {body.get('detail') or body.get('title') or answer.status_code}.",
    )


def _json(answer: Any) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {"title": f"HTTP {answer.status_code}", "detail": answer.text[:200]}
    return body if isinstance(body, dict) else {}


# ---------------------------------------------------------------------------------------------
# Upload: CSV or XLSX, templates
# ---------------------------------------------------------------------------------------------


def _upload_page(
    request: Request,
    who: Principal,
    status: int = 200,
    *,
    kind: str = "findings",
    error: str | None = None,
    results: list[forms.RowResult] | None = None,
    filename: str | None = None,
) -> HTMLResponse:
    counts: dict[str, int] = {}
    for r in results or []:
        counts[r.status] = counts.get(r.status, 0) + 1
    return _page(
        "portal_upload.html",
        status,
        active="upload",
        who=_who_line(who),
        kind=kind,
        error=error,
        results=results,
        counts=counts,
        filename=filename,
        columns=forms.COLUMNS,
        required=forms.REQUIRED,
        max_rows=forms.MAX_ROWS,
        max_mb=forms.MAX_UPLOAD_BYTES // (1024 * 1024),
        csrf_token=delegate.form_csrf_token(request),
    )


@router.get("/portal/upload")
async def upload_form(request: Request) -> Response:
    who = await _signed_in(request)
    if isinstance(who, Response):
        return who
    return _upload_page(request, who)


@router.get("/portal/templates/{name}")
async def template(name: str) -> Response:
    stem, _, ext = name.partition(".")
    if stem not in forms.KINDS or ext not in ("csv", "xlsx"):
        raise Problem(404, "Not found", "templates: findings.csv, findings.xlsx, performance.csv, performance.xlsx")
    kind: forms.Kind = "findings" if stem == "findings" else "performance"
    if ext == "csv":
        content, media = forms.template_csv(kind), "text/csv; charset=utf-8"
    else:
        content, media = forms.template_xlsx(kind), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        content,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{kind}-template.{ext}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/portal/upload")
async def upload(request: Request) -> Response:
    who = await _signed_in(request)
    if isinstance(who, Response):
        return who
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        return _upload_page(request, who, 411, error="Send the file with the upload form.")
    # A body over MAX_UPLOAD_REQUEST, or slower than UPLOAD_SECONDS, never reaches here (body_limits).
    form = await request.form(max_files=1, max_fields=10)
    try:
        delegate.check_form_csrf(request, str(form.get("csrf_token") or ""))
    except Problem:
        return _message(request, who, 403, "The form expired", "Open the upload page again and resend the file.")
    kind_value = str(form.get("kind") or "")
    if kind_value not in forms.KINDS:
        return _upload_page(request, who, 422, error="Choose what the file holds: findings or a monthly return.")
    kind: forms.Kind = "findings" if kind_value == "findings" else "performance"
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _upload_page(request, who, 422, kind=kind, error="Choose a CSV or XLSX file to upload.")
    content = await upload.read(forms.MAX_UPLOAD_BYTES + 1)
    filename = upload.filename
    await form.close()
    try:
        if filename.lower().endswith(".xlsx"):
            rows = forms.read_xlsx(kind, content)
        elif filename.lower().endswith(".csv"):
            rows = forms.read_csv(kind, content)
        else:
            raise forms.UploadError("the file's name ends neither in .csv nor in .xlsx")
    except forms.UploadError as exc:
        return _upload_page(
            request, who, 422, kind=kind, filename=filename, error=f"{filename}: {exc}. No row was sent."
        )
    try:
        results = await _send_rows(request, who, kind, rows)
    except _WholeFileRefused as exc:
        return _upload_page(request, who, exc.status, kind=kind, filename=filename, error=exc.message)
    except Problem as exc:
        return _problem_page(request, who, exc)
    return _upload_page(request, who, kind=kind, filename=filename, results=results)


class _WholeFileRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


async def _send_rows(
    request: Request, who: Principal, kind: forms.Kind, rows: list[forms.Row]
) -> list[forms.RowResult]:
    """Each row read into an event and sent through intake's batch endpoint, BATCH_SIZE at a time;
    a row refused here or by intake never stops the others."""
    results: dict[int, forms.RowResult] = {}
    ready: list[tuple[forms.Row, dict[str, Any]]] = []
    for row in rows:
        draft = forms.row_draft(kind, row, who.organisation_id)
        if draft.body is None:
            name, reason = next(iter(draft.errors.items()))
            results[row.number] = forms.RowResult(row.number, None, "refused", name, reason)
        else:
            ready.append((row, draft.body))
    path = "/v1/findings:batch" if kind == "findings" else "/v1/performance-events:batch"
    for start in range(0, len(ready), forms.BATCH_SIZE):
        chunk = ready[start : start + forms.BATCH_SIZE]
        answer = await delegate.act_as(request, "intake", "POST", path, json={"events": [b for _, b in chunk]})
        body = _json(answer)
        if answer.status_code not in (200, 503) or (answer.status_code == 503 and "results" not in body):
            sent = sum(1 for r in results.values() if r.status in ("accepted", "duplicate"))
            before = f" {start} rows were answered before this; upload the file again to see them." if start else ""
            raise _WholeFileRefused(
                answer.status_code,
                f"Intake refused the upload: "
                f"{body.get('detail') or body.get('title') or answer.status_code}."
                f"{before} ({sent} rows stored.)",
            )
        for result in forms.batch_results([r for r, _ in chunk], body, kind):
            results[result.number] = result
    return [results[n] for n in sorted(results)]


# ---------------------------------------------------------------------------------------------
# My submissions
# ---------------------------------------------------------------------------------------------


def _rule_descriptions(request: Request) -> dict[str, str]:
    try:
        rules = rules_in_force(request)
    except Problem:
        return {}
    return {r.id: r.why for r in (*rules.themes, *rules.indicators, *rules.sectors, *rules.funding)}


def _page_number(request: Request, name: str) -> int:
    """A 1-based page number from the query string; anything else is the first page."""
    raw = request.query_params.get(name, "1")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) <= 10_000 else 1


async def _recommendations(request: Request, page_no: int) -> tuple[list[dict[str, Any]] | None, int, str | None]:
    """One page of the organisation's recommendations with the commissioners' answers, from the
    alerts API, and how many there are in all."""
    offset = (page_no - 1) * RECOMMENDATIONS_PAGE_SIZE
    try:
        answer = await delegate.act_as(
            request,
            "alerts",
            "GET",
            f"/v1/partners/me/recommendations?limit={RECOMMENDATIONS_PAGE_SIZE}&offset={offset}",
        )
    except Problem as exc:
        return None, 0, exc.detail or exc.title
    if answer.status_code == 200:
        body = _json(answer)
        items, total = body.get("items"), body.get("total")
        return ((items if isinstance(items, list) else []), total if isinstance(total, int) else 0, None)
    if answer.status_code == 404:
        return None, 0, "Responses to recommendations are not available from the alerts service yet."
    body = _json(answer)
    return None, 0, str(body.get("detail") or body.get("title") or f"the alerts API answered {answer.status_code}")


@router.get("/portal/submissions")
async def submissions(request: Request) -> Response:
    who = await _signed_in(request)
    if isinstance(who, Response):
        return who
    page_no, rec_page = _page_number(request, "page"), _page_number(request, "rpage")
    rows, total = await PortalStore(request.app.state.pool).submissions(
        who.organisation_id, PAGE_SIZE, (page_no - 1) * PAGE_SIZE
    )
    rules = _rule_descriptions(request)
    recommendations, rec_total, recommendations_note = await _recommendations(request, rec_page)
    return _page(
        "portal_submissions.html",
        active="submissions",
        who=_who_line(who),
        rows=rows,
        total=total,
        page=page_no,
        pages=max(1, -(-total // PAGE_SIZE)),
        rules=rules,
        recommendations=recommendations,
        rec_total=rec_total,
        rec_page=rec_page,
        rec_pages=max(1, -(-rec_total // RECOMMENDATIONS_PAGE_SIZE)),
        recommendations_note=recommendations_note,
        now=datetime.now(timezone.utc),
    )
