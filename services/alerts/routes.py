"""Alert API routes: parse, authorise, call the service or the read side, answer.

Commissioners read and act on the areas their key grants; operators on every area; partner
keys get 403. An alert outside the caller's areas is answered as if it did not exist (404).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import secrets
import socket
import time
from collections import Counter
from datetime import datetime, timezone
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from contracts.events import AlertRule, AlertSeverity, AlertStatus
from contracts.places import AREAS
from services.common.admission.storable import storable
from services.common.auth import Principal, Role
from services.common.http import authenticate
from services.common.problems import API_PROBLEMS, Problem, field_error, problem_responses, validation_errors

from .adapters import queries, store
from .domain import targets
from .domain.delivery import valid_target
from .domain.lifecycle import LifecycleError, Silence
from .domain.thresholds import AreaThresholds, threshold_sources
from .metrics import NOTIFICATIONS
from .service import AlertsService, UnknownAlert

router = APIRouter(responses=problem_responses(API_PROBLEMS))
Fingerprint = Annotated[str, Path(pattern=r"^[0-9a-f]{16,64}$")]
AreaCode = Annotated[str, Path(pattern=r"^[A-Z]{2,5}$")]
Sort = Literal["-updated_at", "updated_at", "-starts_at", "starts_at", "-severity", "severity", "area"]


def now() -> datetime:
    return datetime.now(timezone.utc)


# Text PostgreSQL cannot hold (U+0000) and moments an offset carries outside the years 1 to 9999
# are refused here, by the admission checks intake applies too, rather than fail at the INSERT.
Text = AfterValidator(storable)
Moment = Annotated[AwareDatetime, AfterValidator(storable)]


def invalid(field: str, reason: str, status: int = 422) -> Problem:
    return Problem(
        status,
        "Invalid request",
        f"{field}: {reason}",
        kind="validation",
        errors=[field_error(field.split("."), reason)],
    )


async def reader(request: Request) -> Principal:
    p = await authenticate(request)
    if p.role not in (Role.COMMISSIONER, Role.OPERATOR):
        raise Problem(403, "Forbidden", "alerts are for commissioners and operators")
    return p


Reader = Annotated[Principal, Depends(reader)]


def granted(p: Principal, area: str, field: str = "area") -> str:
    if area not in AREAS:
        raise invalid(field, f"unknown area code '{area}'")
    if not p.may_read_area(area):
        raise Problem(403, "Forbidden", f"this key is not granted area '{area}'")
    return area


def scope(p: Principal, area: str | None) -> list[str]:
    if area is not None:
        return [granted(p, area)]
    return [a for a in AREAS if p.may_read_area(a)]


def svc(request: Request) -> AlertsService:
    return request.app.state.service


async def visible_alert(request: Request, p: Principal, fingerprint: str) -> dict[str, Any]:
    found = await queries.alert(request.app.state.pool, fingerprint)
    if found is None or not p.may_read_area(found["area"]):
        raise Problem(404, "Not found", f"no alert {fingerprint} in the areas this key is granted")
    return found


# --- alerts ---------------------------------------------------------------------------------


@router.get("/v1/alerts", tags=["alerts"], summary="List alerts in the caller's areas")
async def list_alerts(
    request: Request,
    who: Reader,
    area: Annotated[str | None, Query(pattern=r"^[A-Z]{2,5}$")] = None,
    rule: AlertRule | None = None,
    status: AlertStatus | None = None,
    severity: AlertSeverity | None = None,
    sort: Sort = "-updated_at",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> dict:
    areas = scope(who, area)
    items, total = await queries.list_alerts(
        request.app.state.pool,
        areas,
        rule.value if rule else None,
        status.value if status else None,
        severity.value if severity else None,
        sort,
        limit,
        offset,
    )
    return {
        "items": items,
        "total": total,
        "limit": limit,
        "offset": offset,
        "sort": sort,
        "next_offset": offset + limit if offset + limit < total else None,
    }


@router.get(
    "/v1/alerts/stream",
    tags=["alerts"],
    response_class=StreamingResponse,
    summary="Server-sent events: alert changes in the caller's areas, as they happen",
)
async def stream(request: Request, who: Reader, area: Annotated[str | None, Query(pattern=r"^[A-Z]{2,5}$")] = None):
    areas = set(scope(who, area))
    state = request.app.state
    open_streams: Counter[str] = state.open_streams
    if open_streams[who.key_id] >= state.settings.alerts_streams_per_key:
        raise Problem(
            429,
            "Too many streams",
            f"this key has {open_streams[who.key_id]} live streams open already",
            errors=[
                {
                    "field": "authorization",
                    "pointer": "#",
                    "reason": f"at most {state.settings.alerts_streams_per_key} live streams per key",
                }
            ],
            headers={"Retry-After": "30"},
        )
    token = request.headers["authorization"].partition(" ")[2].strip()
    # The key is looked up again at least this often, so revoking it ends the stream.
    recheck = max(1.0, min(5.0, state.settings.key_cache_seconds or 5.0))
    ends_at = time.monotonic() + state.settings.alerts_stream_max_seconds
    listener = state.listener
    queue = listener.subscribe()
    open_streams[who.key_id] += 1

    async def events():
        try:
            yield "retry: 3000\n: connected\n\n"
            checked = sent = time.monotonic()
            while not await request.is_disconnected():
                now = time.monotonic()
                if now >= ends_at:
                    yield 'event: end\ndata: {"reason": "the stream\'s time is up; reconnect"}\n\n'
                    return
                # Checked on time, not only when quiet: a busy stream is re-checked as often.
                if now - checked >= recheck:
                    checked = now
                    if await state.keys.authenticate(token) is None:
                        yield 'event: end\ndata: {"reason": "the key was revoked"}\n\n'
                        return
                try:
                    change = await asyncio.wait_for(queue.get(), max(0.0, checked + recheck - now))
                except TimeoutError:
                    if time.monotonic() - sent >= 15:
                        sent = time.monotonic()
                        yield ": keep-alive\n\n"
                    continue
                if change["area"] in areas:
                    sent = time.monotonic()
                    NOTIFICATIONS.labels("sse", "delivered").inc()
                    yield (
                        f"event: alert\nid: {change['fingerprint']}:{change['updated_at']}\n"
                        f"data: {json.dumps(change)}\n\n"
                    )
        finally:
            listener.unsubscribe(queue)
            open_streams[who.key_id] -= 1

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"cache-control": "no-cache", "x-accel-buffering": "no"}
    )


@router.get(
    "/v1/alerts/{fingerprint}", tags=["alerts"], summary="One alert with its evidence, audit trail and notifications"
)
async def show_alert(request: Request, who: Reader, fingerprint: Fingerprint) -> dict:
    found = await visible_alert(request, who, fingerprint)
    pool = request.app.state.pool
    org = None if who.role is Role.OPERATOR else who.organisation_id
    return {
        **found,
        "audit": await queries.audit(pool, fingerprint),
        "notifications": await queries.notifications(pool, fingerprint, org),
    }


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Annotated[str, Field(max_length=2000), Text] | None = None


async def _act(
    request: Request, who: Principal, fingerprint: str, action: Literal["acknowledge", "resolve"], body: Note
) -> dict:
    await visible_alert(request, who, fingerprint)
    try:
        record = await svc(request).act(
            fingerprint, action, by=who.organisation_id, key_id=who.key_id, note=body.note, now=now()
        )
    except UnknownAlert as exc:
        raise Problem(404, "Not found", f"no alert {fingerprint}") from exc
    except LifecycleError as exc:
        raise Problem(409, "Conflict", str(exc)) from exc
    return await show_alert(request, who, record.fingerprint)


@router.post("/v1/alerts/{fingerprint}/acknowledge", tags=["alerts"], summary="Acknowledge a firing alert, with a note")
async def acknowledge(
    request: Request, who: Reader, fingerprint: Fingerprint, body: Annotated[Note | None, Body()] = None
) -> dict:
    return await _act(request, who, fingerprint, "acknowledge", body or Note())


@router.post("/v1/alerts/{fingerprint}/resolve", tags=["alerts"], summary="Resolve an alert by hand, with a note")
async def resolve(
    request: Request, who: Reader, fingerprint: Fingerprint, body: Annotated[Note | None, Body()] = None
) -> dict:
    return await _act(request, who, fingerprint, "resolve", body or Note())


# --- silences -------------------------------------------------------------------------------


class SilenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=1, max_length=2000), Text]
    ends_at: Moment
    starts_at: Moment | None = None
    area: Annotated[str, Field(pattern=r"^[A-Z]{2,5}$")] | None = None
    rule: AlertRule | None = None
    subject: Annotated[str, Field(min_length=1, max_length=200), Text] | None = None
    fingerprint: Annotated[str, Field(pattern=r"^[0-9a-f]{16,64}$")] | None = None


def _silence_scope(who: Principal, body: SilenceIn) -> None:
    if body.area is not None:
        granted(who, body.area)
    elif who.role is not Role.OPERATOR:
        raise invalid("area", "a commissioner's silence names one of its areas")


@router.post(
    "/v1/silences", status_code=201, tags=["silences"], summary="Mute notifications of matching alerts until ends_at"
)
async def create_silence(request: Request, who: Reader, body: SilenceIn) -> dict:
    _silence_scope(who, body)
    if body.fingerprint is not None:
        found = await visible_alert(request, who, body.fingerprint)
        if body.area is not None and found["area"] != body.area:
            raise invalid("fingerprint", f"that alert is in area '{found['area']}'")
    values = {
        **body.model_dump(),
        "id": str(uuid4()),
        "created_by": who.organisation_id,
        "starts_at": body.starts_at or now(),
    }
    try:
        Silence.model_validate(values)
    except ValidationError as exc:
        raise Problem(
            422,
            "Invalid request",
            "the silence does not make sense; see errors",
            kind="validation",
            errors=validation_errors(exc.errors()),
        ) from exc
    values["rule"] = body.rule.value if body.rule else None
    created = await queries.insert_silence(request.app.state.pool, values, who.key_id)
    if body.area:
        await request.app.state.pool.execute(
            "UPDATE alert_area_state SET next_check_at = now() WHERE area = $1", body.area
        )
    return created


@router.get("/v1/silences", tags=["silences"], summary="Silences in the caller's areas")
async def list_silences(request: Request, who: Reader, include_expired: bool = False) -> dict:
    areas = None if who.role is Role.OPERATOR else scope(who, None)
    return {"items": await queries.silences(request.app.state.pool, areas, include_expired, now())}


async def _visible_silence(request: Request, who: Principal, silence_id: UUID) -> dict:
    found = await queries.silence(request.app.state.pool, silence_id)
    if found is None or not (who.role is Role.OPERATOR or (found["area"] and who.may_read_area(found["area"]))):
        raise Problem(404, "Not found", f"no silence {silence_id} in the caller's areas")
    return found


@router.get("/v1/silences/{silence_id}", tags=["silences"], summary="One silence")
async def show_silence(request: Request, who: Reader, silence_id: UUID) -> dict:
    return await _visible_silence(request, who, silence_id)


@router.delete("/v1/silences/{silence_id}", tags=["silences"], summary="Expire a silence now (kept for the record)")
async def expire_silence(request: Request, who: Reader, silence_id: UUID) -> dict:
    await _visible_silence(request, who, silence_id)
    return await queries.expire_silence(request.app.state.pool, silence_id, now())


# --- subscriptions --------------------------------------------------------------------------


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    areas: Annotated[list[Annotated[str, Field(pattern=r"^[A-Z]{2,5}$")]], Field(min_length=1, max_length=20)]
    channel: Literal["webhook", "email"]
    target: Annotated[str, Field(min_length=3, max_length=2000), Text]
    min_severity: AlertSeverity = AlertSeverity.AMBER
    rules: list[AlertRule] = Field(default_factory=list, description="Empty: every rule.")
    secret: Annotated[str, Field(min_length=16, max_length=200), Text] | None = Field(
        None, description="Webhook signing secret; generated when absent. Shown only once."
    )


async def refuse_unreachable(target: str, named: frozenset) -> None:
    """A webhook must be a well-formed URL whose every address is public (or a receiver the
    operator named); checked here at creation and again by each delivery (domain.targets)."""
    try:
        parsed = targets.parse(target)
    except targets.TargetRefused as exc:
        raise invalid("target", str(exc)) from None
    if parsed.address is not None:
        addresses = [parsed.address]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(parsed.host, parsed.port, type=socket.SOCK_STREAM)
        except OSError:
            raise invalid("target", "the host does not resolve") from None
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not all(targets.allowed(a, parsed.port, named) for a in addresses):
        raise invalid("target", targets.REFUSED)


@router.post(
    "/v1/subscriptions",
    status_code=201,
    tags=["subscriptions"],
    summary="Subscribe to alerts by area, minimum severity and rule",
)
async def create_subscription(request: Request, who: Reader, body: SubscriptionIn) -> dict:
    for i, area in enumerate(body.areas):
        granted(who, area, f"areas[{i}]")
    reason = valid_target(body.channel, body.target)
    if reason:
        raise invalid("target", reason)
    if body.channel == "webhook":
        await refuse_unreachable(body.target, request.app.state.webhook_receivers)
    if body.channel == "email" and body.secret is not None:
        raise invalid("secret", "only webhooks are signed")
    secret = body.secret or (secrets.token_urlsafe(32) if body.channel == "webhook" else None)
    created = await queries.insert_subscription(
        request.app.state.pool,
        {
            "id": uuid4(),
            "organisation_id": who.organisation_id,
            "key_id": who.key_id,
            "areas": sorted(set(body.areas)),
            "min_severity": body.min_severity.value,
            "rules": sorted({r.value for r in body.rules}),
            "channel": body.channel,
            "target": body.target,
            "secret": secret,
        },
    )
    return {**created, "secret": secret} if secret else created


def _owner(who: Principal) -> str | None:
    return None if who.role is Role.OPERATOR else who.organisation_id


@router.get(
    "/v1/subscriptions", tags=["subscriptions"], summary="The caller's organisation's subscriptions (operators: all)"
)
async def list_subscriptions(request: Request, who: Reader) -> dict:
    return {"items": await queries.subscriptions(request.app.state.pool, _owner(who))}


async def _visible_subscription(request: Request, who: Principal, sub_id: UUID) -> dict:
    found = await queries.subscription(request.app.state.pool, sub_id)
    owner = _owner(who)
    if found is None or not found["active"] or (owner and found["organisation_id"] != owner):
        raise Problem(404, "Not found", f"no subscription {sub_id} of this organisation")
    return found


@router.get("/v1/subscriptions/{sub_id}", tags=["subscriptions"], summary="One subscription")
async def show_subscription(request: Request, who: Reader, sub_id: UUID) -> dict:
    return await _visible_subscription(request, who, sub_id)


@router.delete(
    "/v1/subscriptions/{sub_id}",
    status_code=204,
    tags=["subscriptions"],
    summary="Stop a subscription; its undelivered notifications are cancelled",
)
async def delete_subscription(request: Request, who: Reader, sub_id: UUID) -> None:
    await _visible_subscription(request, who, sub_id)
    await queries.delete_subscription(request.app.state.pool, sub_id)


# --- thresholds -----------------------------------------------------------------------------


def _name_the_field(errors: list[dict[str, str]]) -> list[dict[str, str]]:
    """A section-level error whose reason starts with one of the section's fields names it."""
    sections = AreaThresholds.model_fields
    out = []
    for e in errors:
        section = sections.get(e["field"])
        first = e["reason"].split(" ", 1)[0].rstrip(":")
        model = section.annotation if section else None
        if model is not None and first in getattr(model, "model_fields", {}):
            e = {**e, "field": f"{e['field']}.{first}", "pointer": f"{e['pointer']}/{first}"}
        out.append(e)
    return out


@router.get(
    "/v1/areas/{area}/thresholds",
    tags=["thresholds"],
    summary="The area's thresholds in force, its overrides and each default's source",
)
async def get_thresholds(request: Request, who: Reader, area: AreaCode) -> dict:
    granted(who, area)
    row = await store.overrides_of(request.app.state.pool, area)
    overrides = json.loads(row["thresholds"]) if row else {}
    # What the worker uses: stored overrides that no longer read as thresholds leave the defaults.
    effective, readable = store.stored_thresholds(area, row["thresholds"]) if row else (AreaThresholds(), True)
    answer = {
        "area": area,
        "thresholds": effective.model_dump(mode="json"),
        "overrides": overrides,
        "updated_by": row["updated_by"] if row else None,
        "updated_at": row["updated_at"] if row else None,
        "sources": threshold_sources(),
    }
    if not readable:
        answer["overrides_invalid"] = (
            "the stored overrides are not valid thresholds; the defaults are in force until new ones are put"
        )
    return answer


@router.put(
    "/v1/areas/{area}/thresholds",
    tags=["thresholds"],
    summary="Replace the area's overrides (unset sections and fields take defaults)",
)
async def put_thresholds(
    request: Request, who: Reader, area: AreaCode, body: Annotated[dict[str, Any], Body()]
) -> dict:
    granted(who, area)
    try:
        thresholds = AreaThresholds.model_validate(body)
    except ValidationError as exc:
        raise Problem(
            422,
            "Invalid thresholds",
            "a threshold does not make sense; see errors",
            kind="validation",
            errors=_name_the_field(validation_errors(exc.errors())),
        ) from exc
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        await store.put_thresholds(conn, area, thresholds, who.organisation_id)
    return await get_thresholds(request, who, area)
