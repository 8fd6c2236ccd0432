"""Limits and strict framing against the running services (security issue, items 5 and 7).

On the stack: a write that is not exactly JSON is a 415 naming ``content-type``; a body or a batch
over its limit is a 413 naming ``body`` or ``events``; a body trickled slower than its deadline is a
408 naming ``body`` and the connection is closed; an idle keep-alive connection is closed. (Live
streams' revocation and cap: tests/hostile/test_streams.py.)

The suite's services run with limits no person reaches (tests/conftest.py TEST_ENV), so the read
and failed-authentication limits are shown by a second reporting process, started here on the
same database with small limits: the same code, other settings. Each check that counts against a
client address connects from an address of its own on the loopback network (127.0.0.x), so the
checks never spend each other's allowance.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from urllib.parse import urlencode

import pytest

from tests.conftest import TEST_ENV, bearer, create_key, wait_until
from tests.hostile.conftest import AREA, finding, problem_of, raw, sql

pytestmark = pytest.mark.integration

#: The second reporting process's limits (local choices for this test, far below the defaults).
READS_BURST = 10
AUTH_FAILURES_BURST = 5
STRICT_ENV = {
    "CSP_READS_PER_SECOND": "0.2",
    "CSP_READS_BURST": str(READS_BURST),
    "CSP_AUTH_FAILURES_PER_SECOND": "0.05",
    "CSP_AUTH_FAILURES_BURST": str(AUTH_FAILURES_BURST),
}
#: The services' body deadline (CSP_BODY_SECONDS, default) and uvicorn's keep-alive timeout
#: (its default; deploy/local/services.sh sets none).
BODY_SECONDS = float(TEST_ENV.get("CSP_BODY_SECONDS", "10"))
KEEP_ALIVE_SECONDS = 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def strict(stack) -> int:
    """A reporting API with small read and failed-authentication limits, started as
    deploy/local/services.sh starts reporting; its port."""
    port = _free_port()
    log_path = os.path.join(TEST_ENV["CSP_HOME"], "logs", "reporting-strict.log")
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.reporting", "api", "--host", "127.0.0.1", "--port", str(port)],
            env={**os.environ, **TEST_ENV, **STRICT_ENV},
            cwd=TEST_ENV["CSP_HOME"],
            stdout=log,
            stderr=log,
        )

    def ready() -> bool:
        assert process.poll() is None, f"the strict reporting process exited (see {log_path})"
        try:
            return request(port, "GET", "/readyz")[0] == 200
        except OSError:
            return False

    try:
        wait_until(ready, 60, what="the strict reporting process")
        yield port
    finally:
        process.terminate()
        process.wait(30)


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    source: str = "127.0.0.1",
) -> tuple[int, dict[str, str], bytes]:
    """One request from the loopback address ``source``; (status, lower-cased headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def _stored(event_id: str) -> bool:
    return bool(sql("SELECT 1 FROM intake_events WHERE event_id = $1", uuid.UUID(event_id)))


# --- media types ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ctype",
    [
        "application/evil+json",
        "text/json",
        "application/json-seq",
        "application/json; charset=latin-1",
        "application/problem+json",
    ],
)
def test_a_write_that_is_not_exactly_json_is_a_415_naming_the_content_type(actors, ctype):
    event = finding()
    answer = raw(
        "intake",
        "POST",
        "/v1/findings",
        json.dumps(event).encode(),
        {**bearer(actors["partner"]), "content-type": ctype},
    )
    problem = problem_of(*answer)
    assert answer[0] == 415 and problem["errors"][0]["field"] == "content-type", problem
    assert not _stored(event["event_id"])
    silence = {"matchers": {"area": AREA}, "ends_at": "2100-01-01T00:00:00Z", "comment": "x"}
    answer = raw(
        "alerts-api",
        "POST",
        "/v1/silences",
        json.dumps(silence).encode(),
        {**bearer(actors["kent"]), "content-type": ctype},
    )
    assert answer[0] == 415 and problem_of(*answer)["errors"][0]["field"] == "content-type"


def test_json_with_its_utf8_charset_is_accepted(actors):
    event = finding()
    status, _, body = raw(
        "intake",
        "POST",
        "/v1/findings",
        json.dumps(event).encode(),
        {**bearer(actors["partner"]), "content-type": "application/json; charset=UTF-8"},
    )
    assert status == 202, body[:300]


# --- sizes --------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_a_413_naming_the_body(actors):
    big = json.dumps({**finding(), "padding": "x" * 1_100_000}).encode()
    answer = raw(
        "intake", "POST", "/v1/findings", big, {**bearer(actors["partner"]), "content-type": "application/json"}
    )
    problem = problem_of(*answer)
    assert answer[0] == 413 and problem["errors"][0]["field"] == "body", problem


def test_a_batch_over_the_limit_is_a_413_naming_the_events(actors):
    batch = json.dumps({"events": [finding() for _ in range(501)]}).encode()
    answer = raw(
        "intake", "POST", "/v1/findings:batch", batch, {**bearer(actors["partner"]), "content-type": "application/json"}
    )
    problem = problem_of(*answer)
    assert answer[0] == 413 and problem["errors"][0]["field"] == "events", problem


# --- slow and idle connections ------------------------------------------------------------------


def test_a_body_trickled_slower_than_its_deadline_is_a_408_and_the_connection_closes(actors):
    body = json.dumps(finding()).encode()
    port = int(TEST_ENV["CSP_INTAKE_PORT"])
    head = (
        f"POST /v1/findings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {actors['partner']['api_key']}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(head.encode())
        start, answer, sent = time.monotonic(), b"", 0
        while time.monotonic() - start < BODY_SECONDS + 10:
            try:
                if sent < len(body) - 1:  # a byte a second; the last never comes
                    sock.sendall(body[sent : sent + 1])
                    sent += 1
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            if not chunk:
                break  # closed by the server
            answer += chunk
        took = time.monotonic() - start
    assert answer.startswith(b"HTTP/1.1 408"), answer[:300]
    assert BODY_SECONDS - 1 <= took < BODY_SECONDS + 8, took
    problem = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert problem["errors"][0]["field"] == "body", problem


def _raw_exchange(port: int, head: bytes, body_parts, pause: float, wait: float) -> tuple[bytes, float]:
    """Send ``head`` then each body part ``pause`` seconds apart; what the server answered (until it
    closed, or ``wait`` seconds) and how long that took."""
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(head)
        start, answer, parts = time.monotonic(), b"", list(body_parts)
        while time.monotonic() - start < wait:
            try:
                if parts:
                    sock.sendall(parts.pop(0))
                    time.sleep(pause)
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            if not chunk:
                break
            answer += chunk
        return answer, time.monotonic() - start


def test_the_sign_in_form_does_not_read_an_endless_body(stack):
    """The sign-in page needs no key: a body announced, or streamed, past any form's size is a 413
    before the page reads it, and a trickled one is a 408 at the body deadline, connection closed."""
    port = int(TEST_ENV["CSP_REPORTING_PORT"])
    form = b"application/x-www-form-urlencoded"
    announced, _ = _raw_exchange(
        port,
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: " + form + b"\r\nContent-Length: 1073741824\r\n\r\n",
        [],
        0,
        10,
    )
    assert announced.startswith(b"HTTP/1.1 413"), announced[:200]
    chunk = b"%x\r\n%s\r\n" % (16384, b"a" * 16384)
    streamed, _ = _raw_exchange(
        port,
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: " + form + b"\r\nTransfer-Encoding: chunked\r\n\r\n",
        [chunk] * 64,
        0,
        20,
    )
    assert streamed.startswith(b"HTTP/1.1 413"), streamed[:200]
    trickled, took = _raw_exchange(
        port,
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: " + form + b"\r\nContent-Length: 4000\r\n\r\n",
        [b"a"] * 400,
        1.0,
        BODY_SECONDS + 10,
    )
    assert trickled.startswith(b"HTTP/1.1 408"), trickled[:300]
    assert b"connection: close" in trickled.lower() and BODY_SECONDS - 1 <= took < BODY_SECONDS + 8, took


@pytest.mark.parametrize("service", ["intake", "alerts-api", "reporting"])
def test_an_idle_keep_alive_connection_is_closed(stack, service):
    port = int(TEST_ENV[f"CSP_{service.upper().replace('-', '_')}_PORT"])
    with socket.create_connection(("127.0.0.1", port), timeout=KEEP_ALIVE_SECONDS + 10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
            answer += sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        start = time.monotonic()
        assert sock.recv(65536) == b""  # nothing more, then the server closes
        assert time.monotonic() - start < KEEP_ALIVE_SECONDS + 5


# --- read and failed-authentication limits (the strict reporting process) -------------------------


def test_reads_past_a_keys_limit_are_a_429_naming_the_credential(strict):
    key = create_key("kent-busy-reader", "commissioner", areas=AREA, name="Kent busy reader")
    other = create_key("kent-other-reader", "commissioner", areas=AREA, name="Kent other reader")
    path = f"/v1/reports/summary?area={AREA}&days=7"
    codes = [request(strict, "GET", path, headers=bearer(key))[0] for _ in range(READS_BURST + 5)]
    assert codes[:READS_BURST] == [200] * READS_BURST and codes[-1] == 429, codes
    status, headers, body = request(strict, "GET", path, headers=bearer(key))
    problem = problem_of(status, headers, body)
    assert status == 429 and problem["errors"][0]["field"] == "authorization", problem
    assert int(headers["retry-after"]) >= 1
    assert request(strict, "GET", path, headers=bearer(other))[0] == 200  # the limit is the key's


def test_failed_authentications_from_one_address_are_limited(strict):
    key = create_key("kent-guessed-at", "commissioner", areas=AREA, name="Kent guessed at")
    path = f"/v1/reports/summary?area={AREA}&days=7"
    guessing = "127.0.0.3"
    codes = [
        request(strict, "GET", path, headers={"authorization": f"Bearer csp_{i:012x}_guess"}, source=guessing)[0]
        for i in range(AUTH_FAILURES_BURST + 3)
    ]
    assert codes[:AUTH_FAILURES_BURST] == [401] * AUTH_FAILURES_BURST and codes[-1] == 429, codes
    # Past the limit even a right key is refused from that address, not looked up...
    status, headers, body = request(strict, "GET", path, headers=bearer(key), source=guessing)
    assert status == 429 and problem_of(status, headers, body)["errors"][0]["field"] == "authorization"
    assert int(headers["retry-after"]) >= 1
    # ...while another address reads with it.
    assert request(strict, "GET", path, headers=bearer(key), source="127.0.0.5")[0] == 200


def test_failed_dashboard_sign_ins_from_one_address_are_limited(strict):
    key = create_key("kent-signing-in", "commissioner", areas=AREA, name="Kent signing in")
    address = "127.0.0.4"

    def sign_in(api_key: str) -> tuple[int, dict[str, str], bytes]:
        page = request(strict, "GET", "/login", source=address)[2]
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
        form = urlencode({"csrf_token": token, "next": "/dashboard", "api_key": api_key}).encode()
        return request(
            strict,
            "POST",
            "/login",
            form,
            {"content-type": "application/x-www-form-urlencoded", "cookie": f"csp_login_csrf={token}"},
            source=address,
        )

    codes = [sign_in(f"csp_{i:012x}_guess")[0] for i in range(AUTH_FAILURES_BURST + 2)]
    assert codes[:AUTH_FAILURES_BURST] == [401] * AUTH_FAILURES_BURST and codes[-1] == 429, codes
    status, headers, page = sign_in(key["api_key"])
    assert status == 429 and int(headers["retry-after"]) >= 1 and b"Too many failed sign-ins" in page
