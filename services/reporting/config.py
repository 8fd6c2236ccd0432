from __future__ import annotations

from services.common.settings import CommonSettings


class ReportingSettings(CommonSettings):
    reporting_port: int = 8084
    reporting_worker_port: int = 8085
