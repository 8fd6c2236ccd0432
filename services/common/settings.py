"""Settings read from the environment (prefix ``CSP_``); one class per service extends this."""
from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CSP_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:19092"
    pg_dsn: str = "postgresql://csp:csp-local-only@127.0.0.1:15432/csp"
    pg_pool_min: int = 1
    pg_pool_max: int = 10
    log_level: str = "INFO"
    service_version: str = "0.1.0"
