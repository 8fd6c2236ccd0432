from __future__ import annotations

from datetime import date

import pytest

from services.reporting.domain.windows import EARLIEST, WindowError, change, custom, rolling

TODAY = date(2026, 12, 3)


def test_rolling_window_is_inclusive_and_previous_abuts_it():
    w = rolling(7, date(2026, 11, 22))
    assert (w.start, w.end, w.days) == (date(2026, 11, 16), date(2026, 11, 22), 7)
    p = w.previous()
    assert (p.start, p.end, p.days) == (date(2026, 11, 9), date(2026, 11, 15), 7)


def test_custom_window_checks():
    assert custom(date(2026, 1, 1), date(2026, 1, 1), TODAY).days == 1
    with pytest.raises(ValueError, match="before"):
        custom(date(2026, 1, 2), date(2026, 1, 1), TODAY)
    with pytest.raises(ValueError, match="at most"):
        custom(date(2000, 1, 1), date(2026, 1, 1), TODAY)
    with pytest.raises(ValueError):
        rolling(0, date(2026, 1, 1))


def test_change_against_previous():
    assert change(15, 10) == {"current": 15, "previous": 10, "change": 5, "change_pct": 50.0}
    assert change(3, 0)["change_pct"] is None


@pytest.mark.parametrize(
    "start,end,field",
    [
        (date(9999, 12, 31), date(9999, 12, 31), "to"),  # was an OverflowError, a 500
        (date(2026, 12, 5), date(2026, 12, 5), "to"),  # after tomorrow: nothing is dated later
        (date(1, 1, 1), date(1, 1, 1), "from"),
        (EARLIEST, date(2000, 1, 31), "from"),  # the window before it starts in 1999
    ],
)
def test_windows_outside_the_range_are_refused_naming_the_parameter(start, end, field):
    with pytest.raises(WindowError) as refused:
        custom(start, end, TODAY)
    assert refused.value.field == field


def test_the_edges_of_the_range_are_windows():
    assert custom(date(2000, 1, 2), date(2000, 1, 2), TODAY).previous().start == EARLIEST
    assert custom(date(2026, 12, 4), date(2026, 12, 4), TODAY).days == 1
    assert rolling(3660, TODAY).previous().start >= EARLIEST
    with pytest.raises(WindowError) as refused:
        rolling(3661, TODAY)
    assert refused.value.field == "days"
