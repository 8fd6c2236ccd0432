"""Targets the seeds do not give are local targets, and say so (domain issue #20, item 3).

The four-week wait's 95% rests on no seed line: 004:623 names the measure only, 004:50 says the
waiting time "is being trialled" and 004:222 warns against "rigid targets". Ethnicity
completeness's 90% has no figure in 001:685 or 001:709. The alert text, the reporting API and
the dashboard call such a figure a "local target" and cite a seed only where it gives the number.
"""

from __future__ import annotations

from datetime import date

import pytest

from contracts.citations import LocalDefault, misquoted, seed
from contracts.vocabulary import INDICATORS, LOCAL_TARGET, REPORTED_TARGET, Indicator, default_target_label
from services.alerts.domain.rules.performance import performance_below_target
from services.alerts.domain.rules.race_equality import ethnicity_recording_gap
from services.alerts.domain.thresholds import PerformanceThresholds, RaceEqualityThresholds
from services.reporting import pages
from services.reporting.domain import reports
from services.reporting.domain.windows import Window

from .factories import figure, prec

WAIT = Indicator.FOUR_WEEK_WAIT
#: What the seeds do say about the four-week wait: a measure, trialled, and no rigid targets.
MEASURE_ONLY = (
    seed("004", 623, "Percentage of patients waiting for four weeks or less for support"),
    seed("004", 50, "A new four-week waiting time is being trialled"),
    seed("004", 222, "without rigid targets undermining the person-centredness"),
)


def test_what_the_seeds_say_is_quoted_right():
    assert all(misquoted(ref) is None for ref in MEASURE_ONLY)


@pytest.mark.parametrize(
    "indicator",
    [
        WAIT,
        Indicator.ETHNICITY_RECORDING_COMPLETENESS,
        Indicator.SEVEN_DAY_FOLLOW_UP,
        Indicator.UTILISATION_BY_ETHNIC_GROUP,
    ],
)
def test_default_targets_the_seeds_do_not_give_are_local_defaults(indicator):
    spec = INDICATORS[indicator]
    assert isinstance(spec.target_source, LocalDefault) and spec.target_is_local
    assert default_target_label(spec) == LOCAL_TARGET


def test_every_default_target_is_either_a_seeds_figure_or_a_local_one():
    for spec in INDICATORS.values():
        label = default_target_label(spec)
        assert (label is None) == (spec.default_target is None)
        assert label in (None, LOCAL_TARGET) or misquoted(spec.target_source) is None


def _below(values, **kw):
    return [prec(figure(WAIT, v, period=i, **kw)) for i, v in enumerate(values)]


def test_the_performance_alert_says_local_target_for_the_default():
    outcome = performance_below_target(_below([90, 91, 92]), PerformanceThresholds())
    assert "against a local target of 95" in outcome.detail
    assert outcome.evidence["target_label"] == LOCAL_TARGET


def test_an_areas_own_target_is_a_local_target_and_a_reported_one_is_named_so():
    area = PerformanceThresholds(targets={WAIT: 93.0})
    assert "against a local target of 93" in performance_below_target(_below([90, 91, 92]), area).detail
    reported = performance_below_target(_below([90, 91, 92], target=94.0), PerformanceThresholds())
    assert f"against a {REPORTED_TARGET} of 94" in reported.detail
    assert reported.evidence["target_label"] == REPORTED_TARGET


def test_the_ethnicity_alert_says_local_target():
    outcome = ethnicity_recording_gap(
        prec(figure(Indicator.ETHNICITY_RECORDING_COMPLETENESS, 80.0)), RaceEqualityThresholds()
    )
    assert "(local target 90%)" in outcome.detail and "threshold" not in outcome.detail
    assert outcome.evidence["target_label"] == LOCAL_TARGET


def _rows(target):
    return [
        {
            "area": "BSOL",
            "region": "west_midlands",
            "provider_id": "pattigift",
            "provider_name": "Pattigift",
            "sector": "voluntary",
            "indicator": "four_week_wait",
            "community": "",
            "period_start": date(2026, m, 1),
            "period_end": date(2026, m, 28),
            "value": 90.0,
            "target": target,
            "numerator": 180,
            "denominator": 200,
            "event_id": f"00000000-0000-0000-0000-00000000000{m}",
        }
        for m in (1, 2)
    ]


def _view(items):
    window = {"from": "2026-02-01", "to": "2026-02-28", "days": 28}
    return {
        "window": window,
        "previous_window": window,
        "areas": ["BSOL"],
        "items": items,
        "completeness": [],
        "data_as_of": None,
    }


FRAME = pages.Frame("Provider performance", "performance", "/dashboard/performance", "o (commissioner)", ["BSOL"], {})


def test_the_reporting_api_names_a_default_a_local_target_with_its_reason():
    cur = Window(date(2026, 2, 1), date(2026, 2, 28))
    item = reports.performance(_rows(None), cur, cur.previous(), {})[0]
    assert item["target"] == 95.0 and item["target_label"] == LOCAL_TARGET
    assert item["target_source"] == "local default"
    assert item["target_cites"] == [INDICATORS[WAIT].target_source.as_json()]
    cols, table = reports.performance_table([item])
    assert dict(zip(cols, table[0]))["target_label"] == LOCAL_TARGET
    page = pages.performance_page(_view([item]), FRAME)
    assert '95.0% <span class="muted">local target</span>' in page
    assert 'data-testid="local-target-note"' in page


def test_the_reporting_api_names_a_target_sent_with_the_figures_a_reported_target():
    cur = Window(date(2026, 2, 1), date(2026, 2, 28))
    item = reports.performance(_rows(92.0), cur, cur.previous(), {})[0]
    assert (item["target"], item["target_label"], item["target_source"]) == (92.0, REPORTED_TARGET, "event")
    page = pages.performance_page(_view([item]), FRAME)
    assert "reported target" in page and "local-target-note" not in page
