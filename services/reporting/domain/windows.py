"""Rolling windows on the event's own date, each with the window before it for comparison."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

ROLLING_DAYS = (7, 30, 90)


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


def rolling(days: int, today: date) -> Window:
    if days < 1:
        raise ValueError("a window has at least one day")
    return Window(today - timedelta(days=days - 1), today)


def custom(start: date, end: date, max_days: int = 3660) -> Window:
    if end < start:
        raise ValueError("'to' is before 'from'")
    if (end - start).days + 1 > max_days:
        raise ValueError(f"a custom window spans at most {max_days} days")
    return Window(start, end)


def change(current: int | float, previous: int | float) -> dict:
    """Absolute and relative change against the previous window (relative is None from zero)."""
    delta = current - previous
    return {"current": current, "previous": previous, "change": delta,
            "change_pct": None if previous == 0 else round(100.0 * delta / previous, 1)}
