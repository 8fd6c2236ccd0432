"""Settings of the alerts worker and the alerts API (environment, prefix ``CSP_``)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services.common.settings import CommonSettings

from .domain.lifecycle import NotificationPolicy


class AlertsSettings(CommonSettings):
    alerts_port: int = 8083
    alerts_api_port: int = 8086
    #: Where commissioners open an alert (links in webhooks and emails); default: this API.
    alerts_external_url: str | None = None
    # Notification policy (services.alerts.domain.lifecycle.NotificationPolicy).
    alerts_group_by: str = "area,rule,subject"
    alerts_group_wait_seconds: float = 0.0
    alerts_group_interval_seconds: float = 300.0
    alerts_repeat_interval_seconds: float = 24 * 3600.0
    alerts_prompt: str = "fired,reopened,escalated,acknowledged,resolved_by_hand"
    # Worker timer: how often it looks for due areas; how often every area is re-evaluated
    # without events (windows slide, contracts approach their end, providers fall silent).
    alerts_tick_seconds: float = 1.0
    alerts_reevaluate_seconds: float = 60.0
    #: Applied event ids are remembered longer than mapped.events.v1 keeps records (30 days).
    alerts_seen_retention_days: int = 35
    # Delivery (runs in the alerts API process).
    alerts_delivery_poll_seconds: float = 1.0
    alerts_delivery_concurrency: int = 16
    #: Loopback receivers a webhook may reach besides the public internet, as "host:port,..."
    #: (the local stack's and the tests' own receivers); empty in a deployment.
    alerts_webhook_receivers: str = ""
    #: Live streams (/v1/alerts/stream): at most this many open at once per key; each ends after
    #: the second figure (the client reconnects) and re-checks its key at least every key-cache
    #: lifetime, so a revoked key's stream closes. Local defaults.
    alerts_streams_per_key: int = 5
    alerts_stream_max_seconds: float = 3600.0
    alerts_delivery_lease_seconds: float = 60.0
    alerts_retry_base_seconds: float = 2.0
    alerts_retry_cap_seconds: float = 600.0
    alerts_max_attempts: int = 8
    alerts_webhook_timeout_seconds: float = 10.0
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_from: str = "Commissioning signals <alerts@commissioning-signals.invalid>"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout_seconds: float = 10.0
    #: For tests only, off (0) by default: moves the alerts service's clock (the worker's turns
    #: and timer, and recommendation answers in the API) this many seconds ahead of the real one,
    #: so a test can see a response window pass without waiting for it. Never set in a deployment.
    alerts_clock_offset_seconds: float = 0.0

    def now(self) -> datetime:
        """The alerts service's clock: real time, plus the test-only offset."""
        return datetime.now(timezone.utc) + timedelta(seconds=self.alerts_clock_offset_seconds)

    @property
    def external_url(self) -> str:
        return self.alerts_external_url or f"http://127.0.0.1:{self.alerts_api_port}"

    def policy(self) -> NotificationPolicy:
        # Validated as data: the labels and actions are free text here until the policy checks them.
        return NotificationPolicy.model_validate(
            dict(
                group_by=tuple(x.strip() for x in self.alerts_group_by.split(",") if x.strip()),
                group_wait=timedelta(seconds=self.alerts_group_wait_seconds),
                group_interval=timedelta(seconds=self.alerts_group_interval_seconds),
                repeat_interval=timedelta(seconds=self.alerts_repeat_interval_seconds),
                prompt=frozenset(x.strip() for x in self.alerts_prompt.split(",") if x.strip()),
            )
        )
