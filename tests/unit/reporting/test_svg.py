"""Server-rendered SVG: well-formed, labelled, escaped, deterministic, readable."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from contracts.taxonomy import Competency, Stage
from services.reporting.domain import stats, svg
from services.reporting.domain.stats import Polarity, PointType, Significance

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(\"x\")</script> & 'quotes'"
BASE = [11.0, 10.0] * 6


def parse(markup: str) -> ET.Element:
    root = ET.fromstring(markup)
    assert root.tag == f"{NS}svg"
    return root


def all_text(root: ET.Element) -> str:
    return " ".join("".join(el.itertext()) for el in root.iter(f"{NS}text"))


def assert_labelled(root: ET.Element, title: str) -> None:
    title_el, desc_el = root.find(f"{NS}title"), root.find(f"{NS}desc")
    assert title_el is not None and title_el.text == title
    assert desc_el is not None and desc_el.text
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == f"{title_el.get('id')} {desc_el.get('id')}"


def assert_self_contained(markup: str) -> None:
    lowered = markup.lower().replace('xmlns="http://www.w3.org/2000/svg"', "")
    for forbidden in (
        "<script",
        "javascript:",
        "http://",
        "https://",
        "url(",
        "@import",
        "<image",
        "<foreignobject",
        "onload",
        "onclick",
    ):
        assert forbidden not in lowered, forbidden


def mixed_result() -> stats.SpcResult:
    # A low shift of seven (concern where higher is better), then one point above the limits.
    return stats.spc(
        BASE + [9.5, 9.8, 9.6, 9.7, 9.5, 9.8, 9.6, 14.0], Polarity.HIGHER_IS_BETTER, target=12.0, baseline_points=12
    )


def labels_for(n: int) -> list[str]:
    return [f"2024-{i:02d}" for i in range(1, n + 1)]


# --- helpers ---------------------------------------------------------------------------------------


def test_escape_helpers():
    assert svg.esc("<a & b>") == "&lt;a &amp; b&gt;"
    assert svg.esc_attr('say "hi"') == "say &quot;hi&quot;"
    assert svg.esc("bad\x00\x0bchars") == "badchars"
    assert svg.safe_id("1 bad<id>") == "c-1-bad-id-"
    assert svg.safe_id("heat-BSOL") == "heat-BSOL"


def test_formatting():
    assert svg.fmt(-0.04, "%") == "0.0%"
    assert svg.fmt(12345.678, "", 1) == "12,345.7"
    assert svg.num(-0.01) == "0.0"
    assert svg.nice_ticks(8.45, 15.55) == [8.0, 10.0, 12.0, 14.0, 16.0]
    assert svg.nice_ticks(5.0, 5.0)[0] < 5.0 < svg.nice_ticks(5.0, 5.0)[-1]


def test_contrast_ratio_known_values():
    assert svg.contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert svg.contrast_ratio("#777777", "#777777") == pytest.approx(1.0)


def test_text_colours_meet_wcag_aa():
    for colour in (svg.TEXT, svg.MUTED, svg.IMPROVEMENT, svg.CONCERN, svg.NEUTRAL, svg.TARGET):
        assert svg.contrast_ratio(colour, svg.WHITE) >= 4.5, colour
    for fill in svg.HEAT_FILLS:
        assert svg.contrast_ratio(svg.text_colour_on(fill), fill) >= 4.5, fill
    # Markers and bar fills are graphics: WCAG 1.4.11 asks 3:1 of the marker outline, which is
    # TEXT on every marker and bar.
    assert svg.contrast_ratio(svg.COMMON_CAUSE, svg.WHITE) >= 3.0


# --- SPC chart ------------------------------------------------------------------------------------------


def test_spc_chart_is_labelled_xml():
    result = mixed_result()
    markup = svg.spc_chart(result, labels_for(len(result.points)), title="Four-week wait, BSOL", unit="%")
    root = parse(markup)
    assert_labelled(root, "Four-week wait, BSOL")
    desc = root.find(f"{NS}desc").text
    assert "Mean 10.5%" in desc and "Target 12.0%" in desc
    # The 10.0 that ends the baseline joins the low run: eight in the shift, one outside.
    assert result.special_cause_count == 9
    assert "9 special-cause points" in desc
    assert_self_contained(markup)


def test_spc_chart_draws_lines_for_mean_limits_and_target():
    root = parse(svg.spc_chart(mixed_result(), None, title="t"))
    classes = {el.get("class") for el in root.iter(f"{NS}line")}
    assert {"mean", "upper-limit", "lower-limit", "target"} <= classes
    no_target = stats.spc(BASE, Polarity.HIGHER_IS_BETTER)
    classes = {el.get("class") for el in parse(svg.spc_chart(no_target, None, title="t")).iter(f"{NS}line")}
    assert "target" not in classes


def test_special_cause_points_differ_in_shape_and_colour():
    result = mixed_result()
    root = parse(svg.spc_chart(result, None, title="t"))
    points = [g for g in root.iter(f"{NS}g") if (g.get("class") or "").startswith("point ")]
    assert len(points) == len(result.points)
    seen: dict[str, tuple[str, str]] = {}
    for g in points:
        kind = g.get("class").split()[1]
        marker = next(iter(el for el in g if el.tag != f"{NS}title"))
        seen[kind] = (marker.tag, marker.get("fill"))
        assert g.find(f"{NS}title").text == g.get("aria-label")
    assert set(seen) == {PointType.COMMON_CAUSE.value, PointType.CONCERN.value, PointType.IMPROVEMENT.value}
    shapes = {tag for tag, _ in seen.values()}
    fills = {fill for _, fill in seen.values()}
    assert len(fills) == 3
    assert seen[PointType.COMMON_CAUSE.value][0] == f"{NS}circle"
    assert seen[PointType.IMPROVEMENT.value][0] == f"{NS}rect"
    assert seen[PointType.CONCERN.value][0] == f"{NS}polygon"
    assert len(shapes) == 3
    legend = all_text(root)
    assert "Special cause: concern" in legend and "Special cause: improvement" in legend


def test_spc_chart_point_titles_name_the_rules():
    root = parse(svg.spc_chart(mixed_result(), labels_for(20), title="t", unit="%"))
    titles = [g.find(f"{NS}title").text for g in root.iter(f"{NS}g") if (g.get("class") or "").startswith("point ")]
    assert "2024-20: 14.0%, special cause: improvement (outside the process limits)" in titles
    assert any("run of 7 or more on one side of the mean" in t for t in titles)


def test_spc_chart_escapes_hostile_text():
    result = stats.spc(BASE, Polarity.HIGHER_IS_BETTER)
    markup = svg.spc_chart(result, [HOSTILE] * len(result.points), title=HOSTILE, unit="<u>")
    assert "<script" not in markup
    root = parse(markup)
    assert root.find(f"{NS}title").text == HOSTILE
    assert not any(el.tag.endswith("script") for el in root.iter())
    assert HOSTILE in all_text(root)


def test_spc_chart_neutral_legend_and_label_count():
    result = stats.spc(BASE + [9.5, 9.8, 9.6, 9.7, 9.5, 9.8, 9.6], Polarity.NO_JUDGEMENT, baseline_points=12)
    text = all_text(parse(svg.spc_chart(result, None, title="t")))
    assert "Special cause: neither improvement nor concern" in text
    assert "Special cause: concern" not in text
    with pytest.raises(ValueError):
        svg.spc_chart(result, ["one"], title="t")


def test_spc_chart_is_deterministic():
    result = mixed_result()
    assert svg.spc_chart(result, None, title="t") == svg.spc_chart(mixed_result(), None, title="t")


# --- Heat map -------------------------------------------------------------------------------------------

COUNTS = {(1, 2): 5, (1, 3): 12, (4, 4): 40, (8, 11): 1}


def cells(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{NS}g") if g.get("data-stage")]


def test_heat_map_has_a_cell_per_stage_and_competency():
    root = parse(svg.heat_map(COUNTS, title="Evidence in the cycle"))
    assert_labelled(root, "Evidence in the cycle")
    found = cells(root)
    assert len(found) == len(Stage) * len(Competency) == 88
    assert {(int(g.get("data-stage")), int(g.get("data-competency"))) for g in found} == {
        (int(s), int(c)) for s in Stage for c in Competency
    }


def test_heat_map_counts_and_gaps_are_written():
    root = parse(svg.heat_map(COUNTS, title="t"))
    by_key = {(int(g.get("data-stage")), int(g.get("data-competency"))): g for g in cells(root)}
    for key, count in COUNTS.items():
        g = by_key[key]
        assert "gap" not in g.get("class")
        assert g.find(f"{NS}text").text == str(count)
        assert g.get("data-count") == str(count)
    gap = by_key[(2, 1)]
    assert gap.get("class") == "cell gap"
    assert gap.find(f"{NS}text").text == "gap"
    assert gap.find(f"{NS}rect").get("stroke-dasharray")
    assert "a gap" in gap.find(f"{NS}title").text
    assert sum(1 for g in cells(root) if "gap" in g.get("class")) == 88 - len(COUNTS)


def test_heat_map_labels_stages_and_competencies_in_words():
    root = parse(svg.heat_map(COUNTS, title="t"))
    text = all_text(root)
    for s in Stage:
        assert f"{int(s)} {s.title}" in text
    for c in Competency:
        assert f"{int(c)} {c.title}" in text
    desc = root.find(f"{NS}desc").text
    assert "58 findings" in desc and "84 of 88 cells have none" in desc
    assert "Stages with no evidence: Reviewing services and gap analysis" in desc


def test_heat_map_text_contrast_on_every_cell():
    root = parse(svg.heat_map(COUNTS, title="t"))
    for g in cells(root):
        fill, colour = g.find(f"{NS}rect").get("fill"), g.find(f"{NS}text").get("fill")
        assert svg.contrast_ratio(colour, fill) >= 4.5


def test_heat_map_accepts_enum_keys_and_links_non_empty_cells():
    counts = {(Stage.ASSESSING_NEEDS, Competency.LOCALLY_LEAD_THE_NHS): 3}
    markup = svg.heat_map(counts, title="t", cell_href=lambda s, c: f"/findings?stage={int(s)}&competency={int(c)}")
    assert 'href="/findings?stage=1&amp;competency=1"' in markup
    root = parse(markup)
    links = list(root.iter(f"{NS}a"))
    assert len(links) == 1
    assert links[0].get("href") == "/findings?stage=1&competency=1"


def test_heat_map_escapes_hostile_title_and_refuses_negative_counts():
    markup = svg.heat_map({}, title=HOSTILE, noun="<b>findings</b>")
    assert "<script" not in markup and "<b>" not in markup
    assert parse(markup).find(f"{NS}title").text == HOSTILE
    with pytest.raises(ValueError):
        svg.heat_map({(1, 1): -1}, title="t")


def test_heat_map_empty_and_deterministic():
    root = parse(svg.heat_map({}, title="t"))
    assert all("gap" in g.get("class") for g in cells(root))
    assert svg.heat_map(COUNTS, title="t") == svg.heat_map(dict(reversed(COUNTS.items())), title="t")


def test_heat_bins():
    assert svg.heat_bin(0, 40) is None
    assert svg.heat_bin(1, 40) == 0
    assert svg.heat_bin(8, 40) == 0
    assert svg.heat_bin(9, 40) == 1
    assert svg.heat_bin(40, 40) == 4


# --- Area vs region vs England ---------------------------------------------------------------------


def test_comparison_chart_states_significance_in_words():
    c = stats.compare_with_benchmark(81, 263, 0.40, Polarity.HIGHER_IS_BETTER)
    bars = [
        svg.ComparisonBar.from_interval("Birmingham and Solihull", c.value, c.interval_95, c.significance),
        svg.ComparisonBar("West Midlands", 40.0),
        svg.ComparisonBar("England", 42.0),
        svg.ComparisonBar(HOSTILE, None),
    ]
    markup = svg.comparison_chart(bars, title="Four-week wait", scale_max=100, target=95)
    root = parse(markup)
    assert_labelled(root, "Four-week wait")
    text = all_text(root)
    assert "30.8% (25.5\u201336.6%), worse" in text
    assert "no data" in text and HOSTILE in text
    bar_groups = [g for g in root.iter(f"{NS}g") if g.get("class") == "bar"]
    assert len(bar_groups) == 3
    area = bar_groups[0].find(f"{NS}rect")
    assert area.get("fill") == svg.SIGNIFICANCE_FILLS[Significance.WORSE]
    assert area.get("stroke") == svg.TEXT
    assert any(el.get("class") == "target" for el in root.iter(f"{NS}line"))
    assert "<script" not in markup


# --- Sparkline -----------------------------------------------------------------------------------------


def test_sparkline_breaks_at_missing_periods():
    root = parse(svg.sparkline([3, 5, None, 4, 8, 7], label="Unmet need: Somali"))
    assert_labelled(root, "Unmet need: Somali")
    assert len(list(root.iter(f"{NS}polyline"))) == 2
    assert "from 3 to 7; lowest 3, highest 8; 1 period without data" in root.find(f"{NS}desc").text


def test_sparkline_edge_cases():
    flat = parse(svg.sparkline([4, 4, 4], label="flat"))
    assert len(list(flat.iter(f"{NS}polyline"))) == 1
    empty = parse(svg.sparkline([], label=HOSTILE))
    assert all_text(empty) == "no data"
    assert empty.find(f"{NS}title").text == HOSTILE
    single = parse(svg.sparkline([None, 2], label="one"))
    assert len(list(single.iter(f"{NS}circle"))) == 1


def test_ids_are_unique_per_chart():
    a = parse(svg.sparkline([1, 2], label="a", id_prefix="spark-BSOL"))
    b = parse(svg.sparkline([1, 2], label="b", id_prefix="spark-ELON"))
    assert a.find(f"{NS}title").get("id") != b.find(f"{NS}title").get("id")
