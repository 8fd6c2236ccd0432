"""The two ways a notification leaves the platform: a signed webhook POST, an SMTP email.

Each returns a :class:`Sent` whatever happens, so the delivery loop can log every attempt; a
secret or a target address never appears in a log line or an error message.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

import httpx

from ..domain import targets
from ..domain.delivery import email_message, retryable, sign


@dataclass(frozen=True)
class Sent:
    ok: bool
    status_code: int | None = None
    error: str | None = None
    permanent: bool = False
    retry_after: float | None = None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


class WebhookSender:
    """POST ``body`` with ``X-CSP-Timestamp``, ``X-CSP-Signature: sha256=<hex>`` (HMAC-SHA256 of
    "<timestamp>.<body>") and ``Idempotency-Key`` (the notification id, the same on retries).

    The target's host is resolved here, each address checked (domain.targets), and the request
    sent to the address checked, with the name in the Host header and for TLS, so a name that
    now resolves somewhere internal is never called. A refused target is a permanent failure
    whose logged reason says nothing of what is behind it."""

    def __init__(
        self, client: httpx.AsyncClient, clock=time.time, receivers: frozenset = frozenset(), resolve=None
    ) -> None:
        self.client, self.clock, self.receivers = client, clock, receivers
        self.resolve = resolve or _resolve

    async def send(self, url: str, secret: str, body: bytes, notification_id: str) -> Sent:
        try:
            target = targets.parse(url)
            address = await self._checked_address(target)
        except (targets.TargetRefused, OSError):
            return Sent(False, error="target not allowed or not resolvable", permanent=True)
        timestamp = str(int(self.clock()))
        headers = {
            "content-type": "application/json",
            "user-agent": "commissioning-signals-alerts/1",
            "x-csp-timestamp": timestamp,
            "x-csp-signature": sign(secret, timestamp, body),
            "x-csp-notification-id": notification_id,
            "idempotency-key": notification_id,
        }
        literal = f"[{address}]" if address.version == 6 else str(address)
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        try:
            response = await self.client.post(
                f"{target.scheme}://{literal}:{target.port}{target.path}",
                content=body,
                headers={**headers, "host": target.host_header},
                extensions=extensions,
            )
        except httpx.HTTPError as exc:
            return Sent(False, error=type(exc).__name__)
        code = response.status_code
        if 200 <= code < 300:
            return Sent(True, code)
        return Sent(
            False,
            code,
            f"HTTP {code}",
            permanent=not retryable(code),
            retry_after=_retry_after(response.headers.get("retry-after")),
        )

    async def _checked_address(self, target: targets.WebhookTarget) -> targets.IPAddress:
        addresses = [target.address] if target.address is not None else await self.resolve(target.host, target.port)
        if not addresses or not all(targets.allowed(a, target.port, self.receivers) for a in addresses):
            raise targets.TargetRefused(targets.REFUSED)
        return addresses[0]


async def _resolve(host: str, port: int) -> list[targets.IPAddress]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0]) for info in infos]


@dataclass(frozen=True)
class SmtpRelay:
    host: str
    port: int
    sender: str
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0


class EmailSender:
    """Plain text and HTML alternatives through the configured relay (smtplib, in a thread)."""

    def __init__(self, relay: SmtpRelay) -> None:
        self.relay = relay

    def message(self, to: str, payload: dict) -> EmailMessage:
        subject, text, html = email_message(payload)
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.relay.sender, to, subject
        msg["Message-ID"] = make_msgid(domain="commissioning-signals.invalid")
        msg["X-CSP-Notification-Id"] = payload["notificationId"]
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
        return msg

    def _send(self, msg: EmailMessage) -> None:
        r = self.relay
        with smtplib.SMTP(r.host, r.port, timeout=r.timeout) as smtp:
            if r.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if r.username:
                smtp.login(r.username, r.password or "")
            smtp.send_message(msg)

    async def send(self, to: str, body: bytes) -> Sent:
        msg = self.message(to, json.loads(body))
        try:
            await asyncio.to_thread(self._send, msg)
        except smtplib.SMTPResponseException as exc:
            return Sent(False, exc.smtp_code, f"SMTP {exc.smtp_code}", permanent=exc.smtp_code >= 500)
        except smtplib.SMTPRecipientsRefused:
            return Sent(False, 550, "SMTP recipient refused", permanent=True)
        except (smtplib.SMTPException, OSError) as exc:
            return Sent(False, error=type(exc).__name__)
        return Sent(True, 250)
