"""Live alert streams end when their key does, and one key cannot hold many (security issue,
items 5 and 7): a stream re-checks its key and closes once it is revoked; a key may hold at most
CSP_ALERTS_STREAMS_PER_KEY (5) streams, the next is a 429 naming the limit."""

from __future__ import annotations

import time

import pytest

from tests.conftest import bearer, create_key, url, wait_until
from tests.hostile.conftest import AREA, raw
from tests.hostile.test_authorisation import revoke
from tests.integration.alerts_support import SseReader

pytestmark = pytest.mark.integration


def test_a_stream_closes_when_its_key_is_revoked(stack):
    key = create_key("kent-stream-reader", "commissioner", areas=AREA, name="Kent stream reader")
    reader = SseReader(url("alerts-api", f"/v1/alerts/stream?area={AREA}"), bearer(key))
    try:
        wait_until(lambda: reader.status == 200, 20, what="the stream to open")
        revoke(key)
        revoked_at = time.monotonic()
        wait_until(lambda: not reader.thread.is_alive(), 30, what="the stream to close after revocation")
        assert time.monotonic() - revoked_at < 15
        assert ("end", {"reason": "the key was revoked"}) in reader.events, reader.events
    finally:
        reader.close()


def test_one_key_holds_at_most_five_streams(stack):
    key = create_key("kent-many-streams", "commissioner", areas=AREA, name="Kent many streams")
    readers = [SseReader(url("alerts-api", f"/v1/alerts/stream?area={AREA}"), bearer(key)) for _ in range(5)]
    try:
        wait_until(lambda: all(r.status == 200 for r in readers), 30, what="five streams to open")
        status, headers, body = raw("alerts-api", "GET", f"/v1/alerts/stream?area={AREA}", None, bearer(key))
        assert status == 429 and headers.get("retry-after"), body[:300]
        assert b'"field":"authorization"' in body.replace(b" ", b""), body
    finally:
        for r in readers:
            r.close()
    # Closed streams free their places.
    time.sleep(1)
    reader = SseReader(url("alerts-api", f"/v1/alerts/stream?area={AREA}"), bearer(key))
    try:
        wait_until(lambda: reader.status == 200, 30, what="a stream after the others closed")
    finally:
        reader.close()
