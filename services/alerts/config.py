from __future__ import annotations

from services.common.settings import CommonSettings


class AlertsSettings(CommonSettings):
    alerts_port: int = 8083
