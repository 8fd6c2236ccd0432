"""The local stack's receiver of Alertmanager's notifications: each one a JSON line in a log file.

    python -m deploy.local.alert_receiver --port 9095 --log $CSP_HOME/logs/alertmanager-receiver.log

Alertmanager's webhook receiver (deploy/alertmanager/alertmanager.yml) POSTs its notification
payload (version 4: status, receiver, groupLabels, alerts, ...) to ``/alerts``; this process adds
the time it arrived and appends it, one line per notification, so operations staff on a machine
with no mail or chat can follow the platform's own alerts with ``tail -f``. ``GET /healthz``
answers 200 once it listens.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

#: Alertmanager's notifications are a few kilobytes; anything far larger is not one.
MAX_BODY_BYTES = 1 << 20


def notification_line(payload: dict, received_at: datetime) -> str:
    """One log line for one notification: the payload as Alertmanager sent it, with its arrival."""
    return json.dumps({"received_at": received_at.isoformat(), **payload}, ensure_ascii=False)


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], log: Path):
        super().__init__(address, Handler)
        self.log = log
        self.lock = threading.Lock()

    def append(self, line: str) -> None:
        with self.lock, self.log.open("a", encoding="utf-8") as f:
            f.write(line + "\n")


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._answer(200 if self.path == "/healthz" else 404)

    def do_POST(self) -> None:  # noqa: N802
        if self.path != "/alerts":
            return self._answer(404)
        length = int(self.headers.get("content-length") or 0)
        if not 0 < length <= MAX_BODY_BYTES:
            return self._answer(413 if length else 400)
        try:
            payload = json.loads(self.rfile.read(length))
        except ValueError:
            return self._answer(400)
        if not isinstance(payload, dict) or not isinstance(payload.get("alerts"), list):
            return self._answer(400)
        self.server.append(notification_line(payload, datetime.now(timezone.utc)))
        self._answer(200)

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        """Quiet: the notification log is the record, not an access log."""


def main(argv: list[str] | None = None) -> None:
    home = Path(os.environ.get("CSP_HOME", ".local/stack"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("CSP_ALERTMANAGER_RECEIVER_PORT", "9095")))
    parser.add_argument("--log", type=Path, default=home / "logs" / "alertmanager-receiver.log")
    args = parser.parse_args(argv)
    args.log.parent.mkdir(parents=True, exist_ok=True)
    server = Receiver((args.host, args.port), args.log)
    print(
        json.dumps({"event": "alert_receiver.listening", "address": f"{args.host}:{args.port}", "log": str(args.log)}),
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
