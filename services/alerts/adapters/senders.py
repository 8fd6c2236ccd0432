"""The two ways a notification leaves the platform: a signed webhook POST, an SMTP email.

Each returns a :class:`Sent` whatever happens, so the delivery loop can log every attempt; a
secret or a target address never appears in a log line or an error message.
"""
from __future__ import annotations

import asyncio
import json
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

import httpx

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
    "<timestamp>.<body>") and ``Idempotency-Key`` (the notification id, the same on retries)."""

    def __init__(self, client: httpx.AsyncClient, clock=time.time) -> None:
        self.client, self.clock = client, clock

    async def send(self, url: str, secret: str, body: bytes, notification_id: str) -> Sent:
        timestamp = str(int(self.clock()))
        headers = {"content-type": "application/json",
                   "user-agent": "commissioning-signals-alerts/1",
                   "x-csp-timestamp": timestamp,
                   "x-csp-signature": sign(secret, timestamp, body),
                   "x-csp-notification-id": notification_id,
                   "idempotency-key": notification_id}
        try:
            response = await self.client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Sent(False, error=type(exc).__name__)
        code = response.status_code
        if 200 <= code < 300:
            return Sent(True, code)
        return Sent(False, code, f"HTTP {code}", permanent=not retryable(code),
                    retry_after=_retry_after(response.headers.get("retry-after")))


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
            return Sent(False, exc.smtp_code, f"SMTP {exc.smtp_code}",
                        permanent=exc.smtp_code >= 500)
        except smtplib.SMTPRecipientsRefused:
            return Sent(False, 550, "SMTP recipient refused", permanent=True)
        except (smtplib.SMTPException, OSError) as exc:
            return Sent(False, error=type(exc).__name__)
        return Sent(True, 250)
