"""Hot reload of the rule file: a bad file is refused and the running rules stay in force."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import Counter, Info

from .domain.ruleset import RuleSet, RuleSetError, parse

log = logging.getLogger("mapping.rules")
RELOADS = Counter("csp_mapping_rules_reloads_total", "Rule file reloads by outcome.", ["outcome"])
RULES_INFO = Info("csp_mapping_rules", "The rule set in force.")


@dataclass
class RuleHolder:
    """Holds the rules in force; ``check()`` reloads when the file changed on disk. ``report``
    off: a reader other than the mapping worker (the explain API) leaves its metrics alone."""

    path: Path
    report: bool = True
    current: RuleSet = field(init=False)
    _stamp: tuple[int, int] = field(init=False, default=(0, 0))
    last_error: str | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self._stamp = self._stat()
        self.current = parse(self.path.read_text(), str(self.path))  # refuse to start on bad rules
        if self.report:
            RULES_INFO.info({"version": self.current.version, "path": str(self.path)})

    def _stat(self) -> tuple[int, int]:
        st = self.path.stat()
        return st.st_mtime_ns, st.st_size

    def check(self) -> bool:
        """Reload if the file changed. True when new rules are in force."""
        try:
            stamp = self._stat()
        except OSError as exc:
            return self._refuse(f"{self.path}: cannot read: {exc}")
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            rules = parse(self.path.read_text(), str(self.path))
        except (RuleSetError, OSError) as exc:
            return self._refuse(str(exc))
        previous, self.current, self.last_error = self.current.version, rules, None
        if self.report:
            RELOADS.labels("loaded").inc()
            RULES_INFO.info({"version": rules.version, "path": str(self.path)})
        log.info("rule set reloaded", extra={"previous_version": previous, "rules_version": rules.version})
        return True

    def _refuse(self, reason: str) -> bool:
        if reason != self.last_error:
            log.error(
                "rule set refused; keeping version %s",
                self.current.version,
                extra={"reason": reason, "rules_version": self.current.version},
            )
        self.last_error = reason
        if self.report:
            RELOADS.labels("refused").inc()
        return False
