"""Rolling windows on the event's own date, each with the window before it for comparison."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from contracts.events import EARLIEST_DATE

ROLLING_DAYS = (7, 30, 90)
#: The range every window and the window before it must lie in: the platform holds nothing
#: dated before the contract's earliest date (2000-01-01, a local default; the seeds' earliest
#: figures are for 2004/5), and nothing dated after tomorrow (intake refuses the future beyond a
#: few minutes of clock skew; a day covers every time zone). A window spans at most ten years
#: (a local default).
EARLIEST = EARLIEST_DATE
LATEST_AHEAD = timedelta(days=1)
MAX_DAYS = 3660


class WindowError(ValueError):
    """A window that cannot be reported, naming the query parameter at fault."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


@dataclass(frozen=True)
class Window:
    """Days ``start`` to ``end`` inclusive."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Window":
        """The window of the same length that ends the day before this one starts."""
        return Window(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def as_dict(self) -> dict:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "days": self.days}


def _within(window: Window, today: date, first: str, last: str) -> Window:
    if window.end > today + LATEST_AHEAD:
        raise WindowError(last, f"the window ends after {today + LATEST_AHEAD}; nothing is dated later")
    if (window.start - EARLIEST).days < window.days:  # no date arithmetic that could overflow
        raise WindowError(first, f"the window and the one before it (for comparison) must start on or after {EARLIEST}")
    return window


def rolling(days: int, today: date) -> Window:
    """The ``days`` days up to ``today``."""
    if not 1 <= days <= MAX_DAYS:
        raise WindowError("days", f"a rolling window has 1 to {MAX_DAYS} days")
    return _within(Window(today - timedelta(days=days - 1), today), today, "days", "days")


def custom(start: date, end: date, today: date, max_days: int = MAX_DAYS) -> Window:
    """Days ``start`` to ``end``, inside the range a window may lie in (refused by name otherwise)."""
    if end < start:
        raise WindowError("to", "'to' is before 'from'")
    if (end - start).days + 1 > max_days:
        raise WindowError("to", f"a custom window spans at most {max_days} days")
    return _within(Window(start, end), today, "from", "to")


def change(current: int | float, previous: int | float) -> dict:
    """Absolute and relative change against the previous window (relative is None from zero)."""
    delta = current - previous
    return {
        "current": current,
        "previous": previous,
        "change": delta,
        "change_pct": None if previous == 0 else round(100.0 * delta / previous, 1),
    }
