from __future__ import annotations

from pathlib import Path

from services.common.settings import CommonSettings
from .domain.ruleset import DEFAULT_RULES


class MappingSettings(CommonSettings):
    mapping_port: int = 8082
    mapping_rules: Path = DEFAULT_RULES
    rules_check_seconds: float = 5.0  # how often the rule file is checked for changes
