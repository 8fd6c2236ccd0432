from __future__ import annotations

from datetime import date

import pytest

from services.reporting.domain.windows import change, custom, rolling


def test_rolling_window_is_inclusive_and_previous_abuts_it():
    w = rolling(7, date(2026, 11, 22))
    assert (w.start, w.end, w.days) == (date(2026, 11, 16), date(2026, 11, 22), 7)
    p = w.previous()
    assert (p.start, p.end, p.days) == (date(2026, 11, 9), date(2026, 11, 15), 7)


def test_custom_window_checks():
    assert custom(date(2026, 1, 1), date(2026, 1, 1)).days == 1
    with pytest.raises(ValueError, match="before"):
        custom(date(2026, 1, 2), date(2026, 1, 1))
    with pytest.raises(ValueError, match="at most"):
        custom(date(2000, 1, 1), date(2026, 1, 1))
    with pytest.raises(ValueError):
        rolling(0, date(2026, 1, 1))


def test_change_against_previous():
    assert change(15, 10) == {"current": 15, "previous": 10, "change": 5, "change_pct": 50.0}
    assert change(3, 0)["change_pct"] is None
