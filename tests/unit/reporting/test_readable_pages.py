"""Pages fixed where they failed a reader: SPC charts over their history, a percentage's limits
within 0-100, chart titles and provider names not cut off, human labels from one place, and the
pure parts of the dashboard's actions."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest

from contracts import labels
from contracts.taxonomy import Competency, Stage
from contracts.vocabulary import Community, Indicator, Theme
from services.common.problems import Problem
from services.reporting import actions, pages
from services.reporting.domain import reports, stats, svg
from services.reporting.domain.windows import Window

from .test_reports import _series

NS = "{http://www.w3.org/2000/svg}"


# -- SPC history and limits ---------------------------------------------------------------------


@pytest.mark.parametrize("days", [7, 30, 90])
def test_the_series_is_read_from_24_months_back_whatever_the_window(days):
    end = date(2026, 3, 31)
    w = Window(date.fromordinal(end.toordinal() - days + 1), end)
    assert reports.spc_history_start(w, w.previous()) == date(2024, 3, 1)


def test_a_long_window_reads_back_to_its_previous_window():
    w = Window(date(2024, 1, 1), date(2026, 3, 31))
    assert reports.spc_history_start(w, w.previous()) == w.previous().start


def test_the_chart_draws_24_months_of_history_when_the_window_holds_three():
    rows = _series([80 + (i % 5) for i in range(30)])
    last = rows[-1]["period_end"]
    cur = Window(date.fromordinal(last.toordinal() - 89), last)  # 90 days: three periods
    item = reports.performance(rows, cur, cur.previous(), {})[0]
    assert item["window"]["periods"] == 3
    assert len(item["series"]) == 24 and item["spc"]["points_used"] == 24
    assert item["series"][-1]["period_end"] == last.isoformat()


def test_a_percentages_limits_stay_between_0_and_100():
    values = [99.0, 60.0, 100.0, 55.0, 98.0, 62.0, 99.5, 58.0, 100.0, 61.0, 97.0, 59.0]
    raw = stats.xmr_limits(values)
    assert raw.upper_process_limit > 100 and raw.lower_process_limit < 0  # what XmR gives
    result = reports.spc_of(values, Indicator.FOUR_WEEK_WAIT, 95.0)
    assert result is not None
    lim = result.limits
    assert lim.upper_process_limit == 100.0 and lim.lower_process_limit == 0.0
    assert 0.0 <= lim.lower_near_limit <= lim.upper_near_limit <= 100.0
    assert lim.mean == pytest.approx(raw.mean)
    item = reports.performance(
        _series(values),
        Window(date(2025, 12, 1), date(2025, 12, 28)),
        Window(date(2025, 11, 1), date(2025, 11, 30)),
        {},
    )[0]
    assert item["spc"]["upper_process_limit"] == 100.0 and item["spc"]["lower_process_limit"] == 0.0
    # A count has no upper end: its limits are left as XmR gives them.
    counts = reports.spc_of([5.0, 40.0, 3.0, 45.0], Indicator.EIP_NEW_CASES, None)
    assert counts is not None and counts.limits.lower_process_limit < 0


def test_clamping_refuses_bounds_the_wrong_way_round():
    with pytest.raises(ValueError):
        stats.clamp_limits(stats.xmr_limits([1.0, 2.0]), (100.0, 0.0))


# -- charts: titles and names drawn whole --------------------------------------------------------

LONG_PROVIDER = "Birmingham and Solihull Mental Health NHS Foundation Trust, Community Services Division"
LONG_TITLE = f"{LONG_PROVIDER}: Four-week wait (Refugees and asylum seekers)"


def _texts(markup: str) -> list[ET.Element]:
    return list(ET.fromstring(markup).iter(f"{NS}text"))


def _inside(markup: str) -> None:
    """Every piece of text, as estimated, lies inside the drawing (nothing cut at an edge)."""
    root = ET.fromstring(markup)
    width = float(root.get("viewBox").split()[2])
    for el in root.iter(f"{NS}text"):
        text = "".join(el.itertext())
        x, size = float(el.get("x")), int(el.get("font-size"))
        w = svg.text_width(text, size, el.get("font-weight") == "bold")
        start = {"start": x, "middle": x - w / 2, "end": x - w}[el.get("text-anchor")]
        assert 0 <= start and start + w <= width, (text, start, start + w, width)


def test_a_long_spc_title_wraps_inside_the_chart():
    result = stats.spc([80.0, 82.0, 79.0, 81.0] * 3, stats.Polarity.HIGHER_IS_BETTER, 95.0)
    markup = svg.spc_chart(result, None, title=LONG_TITLE, unit="%")
    _inside(markup)
    shown = " ".join("".join(t.itertext()) for t in _texts(markup) if t.get("font-weight") == "bold")
    assert shown == LONG_TITLE  # every word, in order, on more than one line
    assert len([t for t in _texts(markup) if t.get("font-weight") == "bold"]) >= 2


def test_provider_names_are_not_cut_in_the_comparison_chart():
    bars = [
        svg.ComparisonBar(LONG_PROVIDER, 81.0, 76.0, 85.0, stats.Significance.WORSE),
        svg.ComparisonBar("Region (West Midlands)", 90.0),
    ]
    markup = svg.comparison_chart(bars, title=f"Four-week wait: {LONG_PROVIDER} against region", target=95.0)
    _inside(markup)
    words = " ".join("".join(t.itertext()) for t in _texts(markup) if t.get("text-anchor") == "end")
    assert LONG_PROVIDER in words


def test_wrap_breaks_between_words_and_keeps_every_character():
    lines = svg.wrap("a " + "x" * 100, 200, 12)
    assert "".join(lines).replace(" ", "") == "a" + "x" * 100
    assert all(svg.text_width(line, 12) <= 200 for line in lines)


# -- labels --------------------------------------------------------------------------------------


def test_labels_name_the_codes_people_read():
    assert labels.label("community", "african_caribbean") == "African Caribbean"
    assert labels.label("community", Community.GYPSY_AND_TRAVELLER) == "Gypsy and Traveller"
    assert labels.label("indicator", "four_week_wait") == "Four-week wait"
    assert labels.label("theme", Theme.ACCESS_AND_LANGUAGE_BARRIERS) == "Access and language barriers"
    assert labels.label("rule", "unmet_need") == "Unmet need"
    assert labels.label("state", "acknowledged") == "Acknowledged"
    assert labels.label("area", "BSOL") == "Birmingham and Solihull"
    assert labels.label("region", "west_midlands") == "West Midlands"
    assert labels.label("community", None) == "" and labels.label("theme", "not_yet_named") == "Not yet named"
    with pytest.raises(KeyError):
        labels.label("colour", "red")


def test_stage_and_competency_names_are_the_vocabularys_own():
    for s in Stage:
        assert labels.label("stage", int(s)) == labels.label("stage", str(int(s))) == s.title
    for c in Competency:
        assert labels.label("competency", c) == c.title


def test_every_code_of_the_vocabulary_has_a_name_that_is_not_its_code():
    for kind, enum in (("community", Community), ("indicator", Indicator), ("theme", Theme)):
        for member in enum:
            name = labels.label(kind, member)
            assert "_" not in name and name[0].isupper() and name != member.value


def test_alert_titles_read_as_words():
    assert labels.alert_title("unmet_need", "community:african_caribbean") == "Unmet need: African Caribbean"
    assert (
        labels.alert_title("performance_below_target", "provider:bsmhft/indicator:four_week_wait")
        == "Performance below target: provider bsmhft, Four-week wait"
    )
    assert labels.subject("not a code") == "not a code"


def test_a_provider_alert_is_titled_by_the_providers_name_from_its_evidence():
    from datetime import datetime, timezone

    from services.reporting.domain.reports import alert_items, alerts_table

    when = datetime(2026, 12, 1, tzinfo=timezone.utc)
    row = {
        "fingerprint": "f",
        "rule": "performance_below_target",
        "area": "BSOL",
        "region": "midlands",
        "subject": "provider:bsmhft/indicator:four_week_wait",
        "severity": "red",
        "status": "firing",
        "summary": "s",
        "stages": [],
        "competencies": [],
        "event_ids": [],
        "starts_at": when,
        "updated_at": when,
        "ends_at": None,
        "provider_name": "Birmingham and Solihull Mental Health NHS FT",
    }
    [item] = alert_items([row], when)
    assert item["title"] == ("Performance below target: Birmingham and Solihull Mental Health NHS FT, Four-week wait")
    assert alerts_table([item])[1][0][4] == item["title"]
    [unnamed] = alert_items([{**row, "provider_name": None}], when)
    assert unnamed["title"] == "Performance below target: provider bsmhft, Four-week wait"


def test_pages_show_labels_not_codes():
    from . import dashboard_views as v

    frame = pages.Frame("Unmet", "unmet", "/dashboard/unmet-needs", "org", ["BSOL"], {"area": "BSOL"})
    page = pages.unmet_page(v.unmet(), frame)
    assert not re.search(r">[a-z]+_[a-z_]+<", page)  # no snake_case code as a cell's text


# -- actions: the pure parts ---------------------------------------------------------------------


def test_the_status_message_is_signed_and_read_once_only_if_signed_here():
    secret = b"s" * 32
    value = actions.flash_value("ok", "Acknowledged: Unmet need: Somali.", secret, "ab" * 8)
    assert actions.read_flash(value, secret) == {
        "kind": "ok",
        "text": "Acknowledged: Unmet need: Somali.",
        "fp": "ab" * 8,
    }
    assert actions.read_flash(value, b"t" * 32) is None
    payload, _, mac = value.rpartition(".")
    forged = actions.flash_value("error", "x", secret).split(".")[0] + "." + mac
    assert actions.read_flash(forged, secret) is None
    assert actions.read_flash("garbage", secret) is None and actions.read_flash(None, secret) is None


def test_api_refusals_read_as_sentences():
    assert (
        actions.problem_text(403, {"title": "Forbidden", "detail": "this key is not granted area 'SOM'"})
        == "Not allowed: this key is not granted area 'SOM'."
    )
    assert (
        actions.problem_text(409, {"title": "Conflict", "detail": "cannot acknowledge an acknowledged alert"})
        == "Not possible now: cannot acknowledge an acknowledged alert."
    )
    assert (
        actions.problem_text(
            422, {"title": "Invalid request", "errors": [{"field": "target", "reason": "the host does not resolve"}]}
        )
        == "Please check the form: target: the host does not resolve."
    )
    assert actions.problem_text(500, None) == "The alerts API refused the request (500)."


def test_silence_lengths_are_whole_hours_up_to_a_year():
    assert actions.silence_hours("24") == 24 and actions.silence_hours(" 168 ") == 168
    for bad in ("", "0", "-1", "1.5", "٣", "9999999", None, str(actions.MAX_SILENCE_HOURS + 1)):
        with pytest.raises(Problem) as exc:
            actions.silence_hours(bad)
        assert exc.value.status == 422 and exc.value.errors[0]["field"] == "hours"


def test_an_action_returns_to_the_view_it_came_from_and_nowhere_else():
    assert (
        actions.back_to({"area": "BSOL", "days": "30", "next": "https://evil.example"})
        == "/dashboard/alerts?area=BSOL&days=30"
    )
    assert actions.back_to({}) == "/dashboard/alerts"


def test_csv_exports_carry_the_same_names_beside_the_codes():
    view = {
        "items": [
            {
                "community": "african_caribbean",
                "theme": "unmet_need",
                "unmet_need_theme": True,
                "findings": {"current": 3, "previous": 1, "change": 2, "change_pct": 200.0},
                "trend": "rising",
                "people_affected": {"current": 30, "previous": 10},
                "severity_weight": 9,
                "high_severity": 2,
            }
        ]
    }
    cols, rows = reports.unmet_table(view)
    row = dict(zip(cols, rows[0]))
    assert (row["community"], row["community_label"]) == ("african_caribbean", "African Caribbean")
    assert row["theme_label"] == "Unmet need"
    item = reports.performance(
        _series([80.0, 81.0]),
        Window(date(2025, 2, 1), date(2025, 2, 28)),
        Window(date(2025, 1, 1), date(2025, 1, 31)),
        {},
    )[0]
    cols, rows = reports.performance_table([item])
    assert dict(zip(cols, rows[0]))["indicator_label"] == "Four-week wait"
