"""A commissioners' webhook endpoint on a fixed loopback port that can go down and come back.

While down nothing listens on the port (connections are refused), as when the commissioners'
server is off. Every POST it answers is checked against the subscription's signing secret
(HMAC-SHA256 over "<timestamp>.<body>") and kept with its notification id.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from services.alerts.domain.delivery import verify
from tests.conftest import BASE
from tests.stackenv import bind_receiver_port


@dataclass(frozen=True)
class Arrival:
    notification_id: str
    signed: bool
    at: float
    payload: dict


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


class FlakyReceiver:
    def __init__(self) -> None:
        # From the stack's pool of named receivers: the alerts API calls no other loopback port.
        self.port = bind_receiver_port(BASE)
        self.secret: str | None = None
        self.arrivals: list[Arrival] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/csp-alerts"

    @property
    def is_up(self) -> bool:
        return self._server is not None

    def up(self) -> None:
        if self._server is not None:
            return
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                signed = receiver.secret is not None and verify(
                    receiver.secret,
                    self.headers.get("x-csp-timestamp", ""),
                    body,
                    self.headers.get("x-csp-signature", ""),
                    now=time.time(),
                )
                with receiver._lock:
                    receiver.arrivals.append(
                        Arrival(self.headers.get("idempotency-key", ""), signed, time.time(), json.loads(body))
                    )
                self.send_response(200 if signed else 401)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = _Server(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def down(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    def counts(self) -> Counter:
        """Signed arrivals per notification id."""
        with self._lock:
            return Counter(a.notification_id for a in self.arrivals if a.signed)
