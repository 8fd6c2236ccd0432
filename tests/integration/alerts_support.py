"""Real receivers for the alerts integration tests: an HTTP webhook endpoint, an SMTP server
(aiosmtpd) and a server-sent events reader, each in a thread of the test process."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

from tests.conftest import TEST_ENV
from tests.stackenv import bind_receiver_port


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    received_at: float

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """Answers each POST with the next planned status (200 once the plan is used up)."""

    plan: list[int] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    #: The port base of the stack whose alerts API calls it (its receiver pool, tests/stackenv.py).
    base: int = field(default_factory=lambda: int(TEST_ENV["CSP_KAFKA_PORT"]) - 92)

    def __post_init__(self) -> None:
        receiver, lock = self, threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with lock:
                    status = receiver.plan.pop(0) if receiver.plan else 200
                    receiver.answered.append(status)
                    if status == 200:
                        receiver.deliveries.append(
                            Delivery({k.lower(): v for k, v in self.headers.items()}, body, time.time())
                        )
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", bind_receiver_port(self.base)), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/alerts"

    def about(self, fingerprint: str) -> list[Delivery]:
        return [d for d in self.deliveries if any(a["fingerprint"] == fingerprint for a in d.payload["alerts"])]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Collect:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """A real SMTP server (aiosmtpd) that keeps every message it accepts."""

    def __init__(self) -> None:
        self.handler = _Collect()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def start(self) -> "SmtpSink":
        self.controller.start()
        return self

    @property
    def messages(self):
        return list(self.handler.messages)

    def stop(self) -> None:
        self.controller.stop()


class SseReader:
    """Reads ``event:``/``data:`` blocks from a server-sent events URL in a thread."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.events: list[tuple[str, dict]] = []
        self.status: int | None = None
        self.error: Exception | None = None
        self._request = urllib.request.Request(url, headers=headers)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Hang up, so the server's stream ends (and its shutdown need not wait for it)."""
        response = getattr(self, "_response", None)
        if response is not None and response.fp is not None:  # fp is None once the server ended it
            response.fp.raw._sock.shutdown(socket.SHUT_RDWR)

    def _run(self) -> None:
        try:
            with urllib.request.urlopen(self._request, timeout=60) as response:
                self._response = response
                self.status = response.status
                name, data = None, []
                for raw in response:
                    line = raw.decode().rstrip("\n")
                    if line.startswith("event:"):
                        name = line[6:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:].strip())
                    elif line == "" and data:
                        self.events.append((name or "message", json.loads("\n".join(data))))
                        name, data = None, []
        except Exception as exc:  # noqa: BLE001 - the test reads it
            self.error = exc
