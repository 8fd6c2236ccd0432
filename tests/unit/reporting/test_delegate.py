"""Delegated calls as a session's own key: sealing, the form token, and act_as over a fake
transport (the HTTP exchange is httpx's MockTransport; the session row a fake pool's answer)."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from fastapi import FastAPI
from starlette.requests import Request

from services.common.problems import Problem
from services.reporting import delegate
from services.reporting.access import SESSION_COOKIE
from services.reporting.config import ReportingSettings
from services.reporting.domain import session

SECRET = b"s" * 32
OTHER = b"o" * 32
KEY = "csp_partner_example_key_1234567890"


# -- sealing ---------------------------------------------------------------------------------------


def test_a_sealed_key_opens_only_with_the_same_secret():
    token = delegate.seal(KEY, SECRET)
    assert KEY.encode() not in token  # never in clear
    assert delegate.unseal(token, SECRET, 3600) == KEY
    assert delegate.unseal(token, OTHER, 3600) is None
    assert delegate.seal(KEY, SECRET) != token  # a fresh IV each time


def test_the_seal_key_is_derived_for_its_purpose_not_the_secret_itself():
    import base64
    from cryptography.fernet import Fernet, InvalidToken

    naive = Fernet(base64.urlsafe_b64encode(SECRET))  # the secret used directly
    with pytest.raises(InvalidToken):
        naive.decrypt(delegate.seal(KEY, SECRET))


def test_a_changed_or_foreign_token_opens_nothing():
    token = bytearray(delegate.seal(KEY, SECRET))
    token[-5] = ord("A") if token[-5] != ord("A") else ord("B")
    assert delegate.unseal(bytes(token), SECRET, 3600) is None
    assert delegate.unseal(b"not a token", SECRET, 3600) is None


def test_a_token_older_than_the_session_lifetime_is_refused():
    old = delegate.sealer(SECRET).encrypt_at_time(KEY.encode(), int(time.time()) - 7200)
    assert delegate.unseal(old, SECRET, 3600) is None
    assert delegate.unseal(old, SECRET, 3 * 3600) == KEY


def test_no_secret_seals_nothing():
    with pytest.raises(ValueError):
        delegate.seal(KEY, b"")


# -- the form token --------------------------------------------------------------------------------


def test_a_form_token_belongs_to_one_session_and_one_server():
    sid, other_sid = session.new_session_id(), session.new_session_id()
    token = delegate.form_token_for(sid, SECRET)
    assert delegate.form_token_ok(sid, token, SECRET)
    assert not delegate.form_token_ok(other_sid, token, SECRET)  # another session
    assert not delegate.form_token_ok(sid, token, OTHER)  # another server
    assert not delegate.form_token_ok(sid, None, SECRET) and not delegate.form_token_ok(None, token, SECRET)
    assert not delegate.form_token_ok(sid, token[:-1], SECRET)
    assert not delegate.form_token_ok(sid, "é" * 10, SECRET)  # non-ASCII: refused, no error


def test_a_form_token_is_not_the_session_cookie_nor_the_login_token():
    sid = session.new_session_id()
    token = delegate.form_token_for(sid, SECRET)
    assert token not in session.sign(sid, SECRET)
    assert not session.csrf_token_ok(token, SECRET, time.time())


# -- act_as and the request-bound helpers ----------------------------------------------------------


class FakePool:
    """Answers the one query PortalStore.sealed_key makes: the sealed key of a live session."""

    def __init__(self, rows: dict[bytes, bytes]) -> None:
        self.rows = rows

    async def fetchval(self, sql: str, digest: bytes):
        assert "ended_at IS NULL" in sql and "revoked_at IS NULL" in sql
        return self.rows.get(digest)


def make_request(app: FastAPI, cookie: str | None, headers: dict[str, str] | None = None) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if cookie is not None:
        raw.append((b"cookie", f"{SESSION_COOKIE}={cookie}".encode()))
    return Request(
        {"type": "http", "method": "POST", "path": "/portal/report", "headers": raw, "query_string": b"", "app": app}
    )


def make_app(rows: dict[bytes, bytes], handler) -> FastAPI:
    app = FastAPI()
    app.state.session_secret = SECRET
    app.state.settings = ReportingSettings(intake_url="http://intake.test:1", alerts_api_url="http://alerts.test:2/")
    app.state.pool = FakePool(rows)
    app.state.delegate_client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return app


def signed_in() -> tuple[str, dict[bytes, bytes]]:
    sid = session.new_session_id()
    return session.sign(sid, SECRET), {session.session_digest(sid): delegate.seal(KEY, SECRET)}


async def test_act_as_calls_the_service_with_the_sessions_own_key():
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(202, json={"status": "accepted"})

    cookie, rows = signed_in()
    app = make_app(rows, handler)
    req = make_request(app, cookie, {"X-Request-ID": "r-1"})
    answer = await delegate.act_as(req, "intake", "POST", "/v1/findings", json={"a": 1})
    assert answer.status_code == 202
    assert str(seen[0].url) == "http://intake.test:1/v1/findings"
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"
    assert seen[0].headers["x-request-id"] == "r-1"
    assert json.loads(seen[0].content) == {"a": 1}
    await delegate.act_as(req, "alerts", "GET", "/v1/alerts", headers={"Authorization": "Bearer forged"})
    assert str(seen[1].url) == "http://alerts.test:2/v1/alerts"
    assert seen[1].headers["authorization"] == f"Bearer {KEY}"  # a caller cannot swap the key
    await delegate.close(app)


async def test_answers_pass_through_as_they_came():
    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(
            403,
            json={"title": "Forbidden", "detail": "a commissioner key cannot post events"},
            headers={"content-type": "application/problem+json"},
        )

    cookie, rows = signed_in()
    answer = await delegate.act_as(make_request(make_app(rows, handler), cookie), "intake", "POST", "/v1/findings")
    assert answer.status_code == 403 and "cannot post" in answer.json()["detail"]


@pytest.mark.parametrize("case", ["no cookie", "forged cookie", "no sealed key", "other secret"])
async def test_without_a_sealed_key_of_a_live_session_act_as_asks_to_sign_in_again(case: str):
    calls: list[httpx.Request] = []
    cookie, rows = signed_in()
    if case == "no cookie":
        cookie = None
    elif case == "forged cookie":
        cookie = session.sign(session.new_session_id(), OTHER)
    elif case == "no sealed key":
        rows = {}
    else:
        rows = {d: delegate.seal(KEY, OTHER) for d in rows}
    app = make_app(rows, lambda r: calls.append(r) or httpx.Response(200))
    with pytest.raises(Problem) as info:
        await delegate.act_as(make_request(app, cookie), "intake", "POST", "/v1/findings")
    assert info.value.status == 401 and "sign in again" in (info.value.detail or "")
    assert calls == []


async def test_a_service_that_does_not_answer_is_a_503_naming_it():
    def handler(req: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=req)

    cookie, rows = signed_in()
    with pytest.raises(Problem) as info:
        await delegate.act_as(make_request(make_app(rows, handler), cookie), "alerts", "GET", "/v1/alerts")
    assert info.value.status == 503 and "alerts API" in (info.value.detail or "")


async def test_only_a_path_on_the_service_is_called():
    cookie, rows = signed_in()
    app = make_app(rows, lambda r: httpx.Response(200))
    for path in ("http://elsewhere.example/v1", "//elsewhere.example/v1", "v1/findings"):
        with pytest.raises(ValueError):
            await delegate.act_as(make_request(app, cookie), "intake", "GET", path)


def test_the_form_token_of_the_request_checks_against_its_session():
    cookie, rows = signed_in()
    app = make_app(rows, lambda r: httpx.Response(200))
    req = make_request(app, cookie)
    token = delegate.form_csrf_token(req)
    delegate.check_form_csrf(req, token)  # no exception
    other_cookie, _ = signed_in()
    with pytest.raises(Problem) as info:
        delegate.check_form_csrf(make_request(app, other_cookie), token)
    assert info.value.status == 403 and info.value.errors and info.value.errors[0]["field"] == "csrf_token"
    assert delegate.form_csrf_token(make_request(app, None)) == ""
    with pytest.raises(Problem):
        delegate.check_form_csrf(make_request(app, None), "")


def test_settings_name_the_services():
    s = ReportingSettings()
    assert s.intake_url.startswith("http") and s.alerts_api_url.startswith("http")
