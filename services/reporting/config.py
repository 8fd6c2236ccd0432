from __future__ import annotations

from services.common.settings import CommonSettings


class ReportingSettings(CommonSettings):
    reporting_port: int = 8084
    reporting_worker_port: int = 8085
    # HMAC key for dashboard session cookies. Unset: a random key per process (sessions end when
    # the service restarts); set it (32+ random bytes, e.g. from a secret store) to keep them.
    reporting_session_secret: str | None = None
    reporting_session_seconds: int = 8 * 3600
    # Send the session cookie only over HTTPS; off for the plain-HTTP local stack.
    reporting_cookie_secure: bool = False
    # Where the web process calls intake and the alerts API as a signed-in session's own key (the
    # partner portal's forms and uploads, the dashboard's actions; services/reporting/delegate.py).
    intake_url: str = "http://127.0.0.1:8081"
    alerts_api_url: str = "http://127.0.0.1:8086"
    # How long such a call may take before the page says the service did not answer.
    delegate_timeout_seconds: float = 30.0
