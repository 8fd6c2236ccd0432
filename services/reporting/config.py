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
