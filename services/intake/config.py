from __future__ import annotations

from services.common.settings import CommonSettings


class IntakeSettings(CommonSettings):
    intake_port: int = 8081
    max_body_bytes: int = 1_000_000  # one request body; larger -> 413
    max_batch_events: int = 500  # events in one batch request; more -> 413
    produce_timeout_seconds: float = 5.0  # longer than this without a broker ack -> 503
    retry_after_seconds: int = 5
    rate_limit_per_second: float = 200.0  # requests per key, in each worker process
    rate_limit_burst: float = 400.0
