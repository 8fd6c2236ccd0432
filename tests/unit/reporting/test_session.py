"""Dashboard session cookies and the login CSRF token: pure signing and checking, no I/O."""

from __future__ import annotations

import hashlib

import pytest

from services.reporting.domain import session

SECRET = b"k" * 32
OTHER = b"o" * 32


# -- session cookies -------------------------------------------------------------------------------


def test_a_cookie_carries_a_random_session_id_the_server_signed():
    sid = session.new_session_id()
    assert sid != session.new_session_id() and len(sid) == 43
    cookie = session.sign(sid, SECRET)
    assert cookie.startswith("v2.") and session.verify(cookie, SECRET) == sid
    assert session.verify(cookie, OTHER) is None  # another server's secret


def test_the_database_keeps_only_the_ids_digest():
    sid = session.new_session_id()
    digest = session.session_digest(sid)
    assert digest == hashlib.sha256(sid.encode()).digest() and len(digest) == 32
    assert sid.encode() not in digest


def test_a_made_up_or_mangled_cookie_names_no_session():
    sid = session.new_session_id()
    head, body, mac = session.sign(sid, SECRET).split(".")
    other = session.new_session_id()
    assert session.verify(f"{head}.{other}.{mac}", SECRET) is None  # id swapped
    assert session.verify(f"{head}.{body}.{mac[:-2]}xx", SECRET) is None  # signature changed
    assert session.verify(f"v1.{body}.{mac}", SECRET) is None  # old format
    # The old v1 cookie named a key id with an expiry: it is no session now.
    assert session.verify("v1.eyJraWQiOiJhYmMiLCJleHAiOjk5OTk5OTk5OTl9.abc", SECRET) is None
    assert session.verify(None, SECRET) is None and session.verify("", SECRET) is None
    assert session.verify(f"{head}.{body}.{mac}", b"") is None
    # Anything a browser may send is refused quietly, never an exception (a 500 on every page).
    for junk in (
        f"{head}.{body}.é{mac}",
        f"{head}.é.{mac}",
        "v2.\x00.\udcff",
        "x.y",
        "a" * 5000,
        f"{head}.{body}.{mac}.{mac}",
    ):
        assert session.verify(junk, SECRET) is None


def test_signing_needs_a_secret_and_a_real_session_id():
    with pytest.raises(ValueError):
        session.sign(session.new_session_id(), b"")
    with pytest.raises(ValueError):
        session.sign("abc.def", SECRET)


# -- the login form's CSRF token -------------------------------------------------------------------


def test_a_csrf_token_the_server_made_passes_until_it_expires():
    token = session.new_csrf_token(SECRET, now=1000.0, ttl=60)
    assert session.csrf_token_ok(token, SECRET, 1059.0)
    assert not session.csrf_token_ok(token, SECRET, 1060.0)  # expired
    assert not session.csrf_token_ok(token, OTHER, 1001.0)  # another server's secret
    assert session.csrf_ok(token, token, SECRET, 1001.0)
    assert not session.csrf_ok(token, token, SECRET, 1060.0)


def test_an_equal_cookie_and_form_pair_made_up_by_the_client_is_refused():
    """The old double-submit check passed any equal pair; now the server must have signed it."""
    made_up = session.new_session_id()  # random, long, URL-safe
    assert not session.csrf_ok(made_up, made_up, SECRET, 1001.0)
    nonce, expiry, mac = session.new_csrf_token(SECRET, now=1000.0).split(".")
    later = f"{nonce}.{int(expiry) + 10**6}.{mac}"  # expiry pushed out by hand
    assert not session.csrf_ok(later, later, SECRET, 1001.0)
    other_nonce = f"{session.new_session_id()}.{expiry}.{mac}"
    assert not session.csrf_ok(other_nonce, other_nonce, SECRET, 1001.0)


def test_the_form_must_carry_the_cookies_token():
    a = session.new_csrf_token(SECRET, now=1000.0)
    b = session.new_csrf_token(SECRET, now=1000.0)
    assert not session.csrf_ok(a, b, SECRET, 1001.0)  # both genuine, but not a pair
    assert not session.csrf_ok(None, a, SECRET, 1001.0) and not session.csrf_ok(a, None, SECRET, 1001.0)
    for junk in ("é", "\udcff", "a.b.c", "a" * 5000, f"{a}.x"):
        assert not session.csrf_ok(junk, junk, SECRET, 1001.0)
        assert not session.csrf_ok(a, junk, SECRET, 1001.0)


def test_a_session_cookie_is_no_csrf_token_and_the_reverse():
    """One secret, two purposes: a token signed for one is refused as the other."""
    sid = session.new_session_id()
    cookie = session.sign(sid, SECRET)
    assert not session.csrf_token_ok(cookie, SECRET, 0)
    csrf = session.new_csrf_token(SECRET, now=0)
    assert session.verify(csrf, SECRET) is None
    # Even with the fields moved into the other's shape.
    nonce, expiry, mac = csrf.split(".")
    assert session.verify(f"v2.{nonce}.{mac}", SECRET) is None


def test_safe_next_stays_inside_the_dashboard():
    assert session.safe_next("/dashboard/heatmap?area=BSOL") == "/dashboard/heatmap?area=BSOL"
    for bad in ("https://evil.example/", "//evil.example", "/dashboard//evil", "/login", None, "/dashboard\\x"):
        assert session.safe_next(bad) == "/dashboard"
