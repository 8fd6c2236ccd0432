"""The community x theme rollup in calendar buckets (migration 012) as pure functions: which
bucket a day falls in, how a window is tiled, and what a batch of events adds."""

from __future__ import annotations

import copy
import uuid
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.examples import PERFORMANCE
from services.reporting.domain import rollups
from tests.unit.reporting.test_reports import _finding, _mapped


def _days(tiles: list[tuple[str, date]]) -> list[date]:
    """Every day the tiles hold, in order."""
    out = []
    for grain, start in tiles:
        end = {
            "day": start,
            "week": start + timedelta(days=6),
            "month": rollups.bucket_start("month", start.replace(day=28) + timedelta(days=4)) - timedelta(days=1),
        }[grain]
        out += [start + timedelta(days=i) for i in range((end - start).days + 1)]
    return out


def test_bucket_start_is_the_day_the_monday_and_the_first():
    thursday = date(2026, 12, 3)
    assert rollups.bucket_start("day", thursday) == thursday
    assert rollups.bucket_start("week", thursday) == date(2026, 11, 30)
    assert rollups.bucket_start("month", thursday) == date(2026, 12, 1)
    assert rollups.bucket_start("week", date(2026, 11, 30)) == date(2026, 11, 30)
    with pytest.raises(ValueError):
        rollups.bucket_start("year", thursday)


def test_a_90_day_window_is_a_dozen_buckets_whole_months_in_the_middle():
    tiles = rollups.cover(date(2026, 9, 6), date(2026, 12, 4))
    assert tiles == [
        ("day", date(2026, 9, 6)),
        ("week", date(2026, 9, 7)),
        ("week", date(2026, 9, 14)),
        ("week", date(2026, 9, 21)),
        ("day", date(2026, 9, 28)),
        ("day", date(2026, 9, 29)),
        ("day", date(2026, 9, 30)),
        ("month", date(2026, 10, 1)),
        ("month", date(2026, 11, 1)),
        ("day", date(2026, 12, 1)),
        ("day", date(2026, 12, 2)),
        ("day", date(2026, 12, 3)),
        ("day", date(2026, 12, 4)),
    ]


def test_short_windows_and_year_ends():
    assert rollups.cover(date(2026, 12, 4), date(2026, 12, 4)) == [("day", date(2026, 12, 4))]
    assert rollups.cover(date(2026, 12, 5), date(2026, 12, 4)) == []
    assert rollups.cover(date(2026, 12, 1), date(2027, 1, 31)) == [
        ("month", date(2026, 12, 1)),
        ("month", date(2027, 1, 1)),
    ]
    # A week that crosses a month's end stays a week when no whole month is in the window.
    assert rollups.cover(date(2026, 11, 30), date(2026, 12, 6)) == [("week", date(2026, 11, 30))]


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)), st.integers(0, 800))
def test_the_tiles_hold_every_day_of_the_window_once_and_nothing_else(start, length):
    end = start + timedelta(days=length)
    tiles = rollups.cover(start, end)
    assert _days(tiles) == [start + timedelta(days=i) for i in range(length + 1)]
    for grain, first in tiles:
        assert rollups.bucket_start(grain, first) == first
    # A part-month is at most 4 weeks and 12 single days; the rest is whole months.
    assert len(tiles) <= 2 * (4 + 12) + length // 28 + 1


def _body(day: date, **kw) -> dict:
    return _finding(day, **kw)


def test_a_finding_adds_to_its_day_week_and_month_and_performance_adds_nothing():
    day = date(2026, 12, 3)
    perf = copy.deepcopy(PERFORMANCE)
    perf.update(event_id=str(uuid.uuid4()))
    events = [
        _mapped(_body(day, people=5, severity="high")),
        _mapped(_body(day, people=3, severity="low")),
        _mapped(_body(day - timedelta(days=1), community="irish")),
        _mapped(perf),
    ]
    batch = rollups.rollup(events)
    key = ("BSOL", "somali", "unmet_need")
    for grain, first in (("day", day), ("week", date(2026, 11, 30)), ("month", date(2026, 12, 1))):
        counts = batch.community_theme[(grain, first, *key)]
        assert (counts.events, counts.people_affected, counts.high_severity) == (2, 8, 1)
    assert len(batch.community_theme) == 6  # two (community) x three grains; performance has none
    # Each grain counts every finding once.
    for grain in rollups.GRAINS:
        assert sum(c.events for k, c in batch.community_theme.items() if k[0] == grain) == 3


def test_summing_the_tiles_gives_the_daily_figures():
    start = date(2026, 8, 20)
    events = [
        _mapped(_body(start + timedelta(days=i % 120), people=i % 7 + 1, community=("somali", "irish")[i % 2]))
        for i in range(400)
    ]
    batch = rollups.rollup(events)
    window = (date(2026, 9, 3), date(2026, 11, 20))
    by_tiles: dict[str, int] = {}
    for grain, first in rollups.cover(*window):
        for (g, b, _, community, _), c in batch.community_theme.items():
            if (g, b) == (grain, first):
                by_tiles[community] = by_tiles.get(community, 0) + c.people_affected
    by_day: dict[str, int] = {}
    for (g, b, _, community, _), c in batch.community_theme.items():
        if g == "day" and window[0] <= b <= window[1]:
            by_day[community] = by_day.get(community, 0) + c.people_affected
    assert by_tiles == by_day and sum(by_day.values()) > 0
