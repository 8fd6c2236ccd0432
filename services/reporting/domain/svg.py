"""Server-rendered SVG for the dashboards: SPC chart, heat map, comparison bars, sparkline.

Pure string building: no JavaScript, no external fonts or images, the same input always gives
the same bytes. Every chart carries a <title> and a <desc> it is labelled by, every piece of text
is escaped, and meaning is never carried by colour alone: special-cause points differ in shape
too, empty heat map cells say "gap", comparison bars state their category in words. Text
colours meet WCAG 2.x AA (4.5:1) against what they sit on; ``contrast_ratio`` is the check.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from contracts.taxonomy import Competency, Stage

from .stats import (
    MIN_POINTS_FOR_LIMITS,
    AssuranceIcon,
    Interval,
    PointType,
    Significance,
    SpcPoint,
    SpcResult,
    VariationIcon,
)

# NHS identity colours; contrast against white in brackets.
WHITE = "#FFFFFF"
TEXT = "#212B32"  # (14.4) body text
MUTED = "#4C6272"  # (6.4) secondary text, limits
GRID = "#D8DDE0"
COMMON_CAUSE = "#768692"  # (3.8) graphics only: WCAG non-text contrast is 3:1
IMPROVEMENT = "#005EB8"  # (6.4)
CONCERN = "#B35900"  # (4.8) a darker orange than MDC's so it also passes as text
NEUTRAL = "#6A2C91"  # (8.8)
TARGET = "#7C2855"  # (9.2)

#: Heat map fills, fewest to most; the text colour on each is picked by contrast.
HEAT_FILLS = ("#E8F1F8", "#B3D1EC", "#6FA8DC", "#2E75B6", "#003087")
GAP_FILL = WHITE

SIGNIFICANCE_FILLS: dict[Significance, str] = {
    Significance.BETTER: "#007F3B",
    Significance.SIMILAR: "#FFB81C",
    Significance.WORSE: "#D5281B",
    Significance.HIGHER: "#41B6E6",
    Significance.LOWER: "#003087",
    Significance.NOT_COMPARED: WHITE,
}
BENCHMARK_FILL = COMMON_CAUSE

POINT_COLOURS: dict[PointType, str] = {
    PointType.COMMON_CAUSE: COMMON_CAUSE,
    PointType.IMPROVEMENT: IMPROVEMENT,
    PointType.CONCERN: CONCERN,
    PointType.NEUTRAL: NEUTRAL,
}
POINT_SHAPES: dict[PointType, str] = {
    PointType.COMMON_CAUSE: "circle",
    PointType.IMPROVEMENT: "square",
    PointType.CONCERN: "triangle",
    PointType.NEUTRAL: "diamond",
}
POINT_LABELS: dict[PointType, str] = {
    PointType.COMMON_CAUSE: "Common cause",
    PointType.IMPROVEMENT: "Special cause: improvement",
    PointType.CONCERN: "Special cause: concern",
    PointType.NEUTRAL: "Special cause: neither improvement nor concern",
}
VARIATION_TEXT: dict[VariationIcon, str] = {
    VariationIcon.COMMON_CAUSE: "common cause variation, no significant change",
    VariationIcon.IMPROVEMENT_HIGH: "special cause variation, improving (higher values)",
    VariationIcon.IMPROVEMENT_LOW: "special cause variation, improving (lower values)",
    VariationIcon.CONCERN_HIGH: "special cause variation, of concern (higher values)",
    VariationIcon.CONCERN_LOW: "special cause variation, of concern (lower values)",
    VariationIcon.NEUTRAL_HIGH: "special cause variation, higher values",
    VariationIcon.NEUTRAL_LOW: "special cause variation, lower values",
}
ASSURANCE_TEXT: dict[AssuranceIcon, str] = {
    AssuranceIcon.CONSISTENTLY_PASS: "the target will be met consistently",
    AssuranceIcon.HIT_AND_MISS: "the target will be hit and missed",
    AssuranceIcon.CONSISTENTLY_FAIL: "the target will be missed consistently",
    AssuranceIcon.NOT_ASSESSED: "not assessed (no target, or no better direction)",
}

FONT = "Arial, Helvetica, sans-serif"
# Characters XML 1.0 forbids; escaping cannot save them, so they are dropped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def esc(value: object) -> str:
    """Text content, escaped (xml.sax.saxutils.escape) after dropping XML-invalid characters."""
    return escape(_XML_INVALID.sub("", str(value)))


def esc_attr(value: object) -> str:
    """An attribute value for a double-quoted attribute."""
    return escape(_XML_INVALID.sub("", str(value)), {'"': "&quot;"})


def safe_id(prefix: str) -> str:
    """An XML id from any string: unsafe characters become hyphens; it starts with a letter."""
    cleaned = _ID_UNSAFE.sub("-", prefix) or "chart"
    return cleaned if cleaned[0].isalpha() else f"c-{cleaned}"


def num(x: float) -> str:
    """A coordinate: one decimal, never "-0.0"."""
    text = f"{x:.1f}"
    return "0.0" if text == "-0.0" else text


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def fmt(value: float, unit: str = "", decimals: int = 1) -> str:
    """A value for people to read, with thousands separators; never "-0.0"."""
    text = f"{value:,.{decimals}f}"
    if not text.lstrip("-").strip("0.,"):
        text = text.lstrip("-")
    return f"{text}{unit}"


def _luminance(colour: str) -> float:
    h = colour.lstrip("#")
    channels = [int(h[i : i + 2], 16) / 255.0 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2.x contrast ratio of two ``#RRGGBB`` colours (1 to 21)."""
    a, b = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def text_colour_on(fill: str) -> str:
    """Dark text where it reads better, else white."""
    return TEXT if contrast_ratio(TEXT, fill) >= contrast_ratio(WHITE, fill) else WHITE


def document(width: int, height: int, chart_id: str, title: str, desc: str, body: list[str], role: str = "img") -> str:
    """The drawing, scaled to its container by its viewBox. ``role`` is "img" for a picture and
    "group" for one holding links (an image's children are not offered to assistive technology,
    so links inside an "img" could not be reached)."""
    return "".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" style="max-width:100%;height:auto" '
            f'role="{role}" aria-labelledby="{chart_id}-title {chart_id}-desc" '
            f'font-family="{FONT}" font-size="12" fill="{TEXT}">',
            f'<title id="{chart_id}-title">{esc(title)}</title>',
            f'<desc id="{chart_id}-desc">{esc(desc)}</desc>',
            f'<rect width="{width}" height="{height}" fill="{WHITE}"/>',
            *body,
            "</svg>",
        ]
    )


def text(
    x: float,
    y: float,
    content: str,
    *,
    size: int = 12,
    anchor: str = "start",
    fill: str = TEXT,
    weight: str | None = None,
    extra: str = "",
) -> str:
    bold = f' font-weight="{weight}"' if weight else ""
    return (
        f'<text x="{num(x)}" y="{num(y)}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="{fill}"{bold}{extra}>{esc(content)}</text>'
    )


#: Average advance of an Arial character as a share of the font size, regular and bold: an
#: estimate on the wide side, so text measured with it fits when drawn.
CHAR_EM, BOLD_CHAR_EM = 0.56, 0.62


def text_width(text: str, size: int, bold: bool = False) -> float:
    """The estimated width in pixels of ``text`` drawn at ``size``."""
    return len(text) * size * (BOLD_CHAR_EM if bold else CHAR_EM)


def wrap(text: str, max_width: float, size: int, bold: bool = False) -> list[str]:
    """``text`` broken between words into lines no wider than ``max_width``; a single word
    longer than that is broken where it must be, so nothing is drawn past the edge."""
    per_line = max(1, int(max_width // (size * (BOLD_CHAR_EM if bold else CHAR_EM))))
    lines: list[str] = []
    line = ""
    for word in str(text).split():
        while len(word) > per_line:
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:per_line])
            word = word[per_line:]
        candidate = f"{line} {word}" if line else word
        if len(candidate) <= per_line:
            line = candidate
        else:
            lines.append(line)
            line = word
    if line or not lines:
        lines.append(line)
    return lines


def _lines(
    x: float, y: float, lines: Sequence[str], *, size: int = 12, leading: float | None = None, **kw
) -> list[str]:
    """One <text> per line, the first baseline at ``y``."""
    step = leading if leading is not None else round(size * 1.3)
    return [text(x, y + i * step, line, size=size, **kw) for i, line in enumerate(lines)]


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering ``lo`` to ``hi`` (steps of 1, 2, 2.5 or 5 times a power of 10)."""
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        hi, lo = hi + 1.0, lo - 1.0
    raw = (hi - lo) / max(1, count - 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= raw)
    first = math.floor(lo / step) * step
    ticks, t = [], first
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 10))
        t += step
    if ticks[-1] < hi:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _spread_labels(ys: list[float], gap: float, top: float, bottom: float) -> list[float]:
    """Move label baselines apart so none is closer than ``gap``, keeping their order."""
    order = sorted(range(len(ys)), key=lambda i: ys[i])
    placed = [0.0] * len(ys)
    last = top - gap
    for i in order:
        placed[i] = max(ys[i], last + gap)
        last = placed[i]
    overflow = last - bottom
    if overflow > 0:
        placed = [y - overflow for y in placed]
    return placed


def _marker(shape: str, x: float, y: float, fill: str, size: float = 5.0) -> str:
    stroke = f'fill="{fill}" stroke="{TEXT}" stroke-width="0.75"'
    if shape == "circle":
        return f'<circle cx="{num(x)}" cy="{num(y)}" r="{num(size * 0.8)}" {stroke}/>'
    if shape == "square":
        s = size * 0.9
        return f'<rect x="{num(x - s)}" y="{num(y - s)}" width="{num(2 * s)}" height="{num(2 * s)}" {stroke}/>'
    if shape == "triangle":
        r, base = size * 1.25, y + size
        pts = f"{num(x)},{num(y - r)} {num(x + r)},{num(base)} {num(x - r)},{num(base)}"
        return f'<polygon points="{pts}" {stroke}/>'
    r = size * 1.2
    pts = f"{num(x)},{num(y - r)} {num(x + r)},{num(y)} {num(x)},{num(y + r)} {num(x - r)},{num(y)}"
    return f'<polygon points="{pts}" {stroke}/>'


# ---------------------------------------------------------------------------------------------
# SPC chart
# ---------------------------------------------------------------------------------------------


def _point_summary(p: SpcPoint, label: str, unit: str, decimals: int) -> str:
    text = f"{label}: {fmt(p.value, unit, decimals)}, {POINT_LABELS[p.point_type].lower()}"
    if p.rules:
        text += " (" + "; ".join(r.title for r in sorted(p.rules, key=lambda r: r.value)) + ")"
    return text


def spc_chart(
    result: SpcResult,
    labels: Sequence[str] | None = None,
    *,
    title: str,
    unit: str = "",
    decimals: int = 1,
    id_prefix: str = "spc",
    width: int = 760,
    height: int = 360,
) -> str:
    """An MDC XmR chart: points, mean, limits, target; special causes by shape and colour."""
    chart_id = safe_id(id_prefix)
    points = result.points
    n = len(points)
    names = list(labels) if labels is not None else [str(i + 1) for i in range(n)]
    if len(names) != n:
        raise ValueError(f"{n} points but {len(names)} labels")
    lim = result.limits
    variation = VARIATION_TEXT[result.variation]
    assurance = ASSURANCE_TEXT[result.assurance]
    # The title and the reading wrap to the chart's width, and the plot moves down to make room.
    title_lines = wrap(title, width - 32, 15, bold=True)
    reading_lines = wrap(f"Variation: {variation}. Assurance: {assurance}.", width - 32, 12)
    header_h = 20 * len(title_lines) + 16 * len(reading_lines)
    left, right, top, bottom = 64, 150, 20 + header_h, 100
    height += header_h - 36
    plot_w, plot_h = width - left - right, height - top - bottom

    candidates = [p.value for p in points] + [lim.lower_process_limit, lim.upper_process_limit]
    if result.target is not None:
        candidates.append(result.target)
    ticks = nice_ticks(min(candidates), max(candidates))
    y_lo, y_hi = ticks[0], ticks[-1]

    def sx(i: int) -> float:
        return left + (plot_w / 2 if n == 1 else i * plot_w / (n - 1))

    def sy(v: float) -> float:
        return top + plot_h - (v - y_lo) / (y_hi - y_lo) * plot_h

    special = [p for p in points if p.special_cause]
    desc_parts = [
        f"XmR chart of {n} points" + (f" from {names[0]} to {names[-1]}." if n else "."),
        f"Mean {fmt(lim.mean, unit, decimals)}; process limits "
        f"{fmt(lim.lower_process_limit, unit, decimals)} to "
        f"{fmt(lim.upper_process_limit, unit, decimals)}.",
    ]
    if result.target is not None:
        desc_parts.append(f"Target {fmt(result.target, unit, decimals)}.")
    if lim.trial:
        desc_parts.append(f"Trial limits: fewer than {MIN_POINTS_FOR_LIMITS} points.")
    desc_parts.append(f"Variation: {variation}. Assurance: {assurance}.")
    desc_parts.append(
        _plural(len(special), "special-cause point")
        + (": " + "; ".join(_point_summary(p, names[p.index], unit, decimals) for p in special[:24]) if special else "")
        + "."
    )

    body: list[str] = [
        *_lines(16, 22, title_lines, size=15, leading=20, weight="bold"),
        *_lines(16, 22 + 20 * len(title_lines), reading_lines, size=12, leading=16, fill=MUTED),
    ]
    # Gridlines and y axis.
    for t in ticks:
        y = sy(t)
        body.append(
            f'<line x1="{left}" y1="{num(y)}" x2="{left + plot_w}" y2="{num(y)}" stroke="{GRID}" stroke-width="1"/>'
        )
        body.append(text(left - 8, y + 4, fmt(t, "", _tick_decimals(ticks)), size=11, anchor="end", fill=MUTED))
    body.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="{MUTED}"/>')
    body.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="{MUTED}"/>')
    # x labels, thinned to about a dozen.
    every = max(1, math.ceil(n / 12))
    for i in range(0, n, every):
        x, y = sx(i), top + plot_h + 14
        body.append(
            text(x, y, names[i], size=11, anchor="end", fill=MUTED, extra=f' transform="rotate(-40 {num(x)} {num(y)})"')
        )

    # Reference lines with their labels at the right, spread so they never overlap.
    refs: list[tuple[str, float, str, str, str]] = [
        ("upper-limit", lim.upper_process_limit, "Upper limit", MUTED, ' stroke-dasharray="6 4"'),
        ("mean", lim.mean, "Mean", TEXT, ""),
        ("lower-limit", lim.lower_process_limit, "Lower limit", MUTED, ' stroke-dasharray="6 4"'),
    ]
    if result.target is not None:
        refs.append(("target", result.target, "Target", TARGET, ' stroke-dasharray="2 3"'))
    label_ys = _spread_labels([sy(v) + 4 for _, v, _, _, _ in refs], 14, top, top + plot_h + 4)
    for (cls, value, name, colour, dash), ly in zip(refs, label_ys):
        y = sy(value)
        body.append(
            f'<line class="{cls}" x1="{left}" y1="{num(y)}" x2="{left + plot_w}" '
            f'y2="{num(y)}" stroke="{colour}" '
            f'stroke-width="{2 if cls == "target" else 1.5}"{dash}/>'
        )
        body.append(text(left + plot_w + 6, ly, f"{name} {fmt(value, unit, decimals)}", size=11, fill=colour))

    # The data line, then the points over it.
    if n > 1:
        path = " ".join(f"{num(sx(p.index))},{num(sy(p.value))}" for p in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{COMMON_CAUSE}" stroke-width="1.5"/>')
    for p in points:
        summary = _point_summary(p, names[p.index], unit, decimals)
        body.append(
            f'<g class="point {p.point_type.value}" data-index="{p.index}" '
            f'aria-label="{esc_attr(summary)}"><title>{esc(summary)}</title>'
            + _marker(
                POINT_SHAPES[p.point_type],
                sx(p.index),
                sy(p.value),
                POINT_COLOURS[p.point_type],
                5.0 if p.special_cause else 4.0,
            )
            + "</g>"
        )

    # Legend: shapes with words, then line styles.
    kinds = [PointType.COMMON_CAUSE]
    kinds += [PointType.NEUTRAL] if result.polarity.direction == 0 else [PointType.IMPROVEMENT, PointType.CONCERN]
    lx: float
    lx, ly = left, top + plot_h + 84
    for kind in kinds:
        body.append(
            '<g class="legend-item">'
            + _marker(POINT_SHAPES[kind], lx + 6, ly - 4, POINT_COLOURS[kind])
            + text(lx + 16, ly, POINT_LABELS[kind], size=11)
            + "</g>"
        )
        lx += 36 + 6.8 * len(POINT_LABELS[kind])
    return document(width, height, chart_id, title, " ".join(desc_parts), body)


def _tick_decimals(ticks: Sequence[float]) -> int:
    """The fewest decimals that show the tick step exactly (0 for 5, 1 for 2.5, 2 for 0.25)."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    return next((d for d in range(5) if abs(round(step, d) - step) < 1e-9 * max(1.0, step)), 4)


# ---------------------------------------------------------------------------------------------
# Stage x competency heat map
# ---------------------------------------------------------------------------------------------


def heat_bin(count: int, maximum: int) -> int | None:
    """The fill index for a count: None for a gap, else 0..4 by fifths of the maximum."""
    if count <= 0 or maximum <= 0:
        return None
    return min(len(HEAT_FILLS) - 1, math.ceil(len(HEAT_FILLS) * count / maximum) - 1)


def heat_map(
    counts: Mapping[tuple[int, int], int],
    *,
    title: str,
    id_prefix: str = "heatmap",
    cell_href: Callable[[Stage, Competency], str | None] | None = None,
    noun: str = "findings",
) -> str:
    """Where evidence sits in the commissioning cycle: 8 stages by 11 competencies.

    ``counts`` is keyed by (stage, competency) numbers; missing keys are zero. An empty cell is
    drawn white with a dashed border and the word "gap": a gap is a finding too.
    ``cell_href`` gives each non-empty cell a link to the findings behind it.
    """
    chart_id = safe_id(id_prefix)
    for key, value in counts.items():
        if value < 0:
            raise ValueError(f"negative count {value} for {key}")
    grid = {(s, c): int(counts.get((int(s), int(c)), 0)) for s in Stage for c in Competency}
    maximum = max(grid.values())
    total = sum(grid.values())
    gaps = [k for k, v in grid.items() if v == 0]

    cell_w, cell_h = 52, 34
    left, top = 262, 210
    grid_w, grid_h = cell_w * len(Competency), cell_h * len(Stage)
    width, height = left + grid_w + 180, top + grid_h + 76

    empty_stages = [s for s in Stage if all(grid[(s, c)] == 0 for c in Competency)]
    empty_comps = [c for c in Competency if all(grid[(s, c)] == 0 for s in Stage)]
    desc = [
        f"{total} {noun} by commissioning cycle stage (rows) and World Class Commissioning "
        f"competency (columns). {len(gaps)} of {len(grid)} cells have none (gaps)."
    ]
    if maximum:
        top_cell = max(grid, key=lambda k: (grid[k], -int(k[0]), -int(k[1])))
        desc.append(f"Most: {top_cell[0].title} with {top_cell[1].title}, {maximum}.")
    if empty_stages:
        desc.append("Stages with no evidence: " + ", ".join(s.title for s in empty_stages) + ".")
    if empty_comps:
        desc.append("Competencies with no evidence: " + ", ".join(c.title for c in empty_comps) + ".")

    body: list[str] = [
        text(16, 24, title, size=15, weight="bold"),
        text(
            16,
            44,
            "Rows: commissioning cycle stages. Columns: World Class Commissioning competencies.",
            size=12,
            fill=MUTED,
        ),
    ]
    for c in Competency:
        x, y = left + (int(c) - 1) * cell_w + cell_w / 2, top - 8
        body.append(
            f'<g class="column-header"><title>{esc(c.title)}: {esc(c.description)}</title>'
            + text(x, y, f"{int(c)} {c.title}", size=11, extra=f' transform="rotate(-45 {num(x)} {num(y)})"')
            + "</g>"
        )
    for s in Stage:
        y = top + (int(s) - 1) * cell_h
        body.append(text(left - 10, y + cell_h / 2 + 4, f"{int(s)} {s.title}", size=12, anchor="end"))
        for c in Competency:
            x = left + (int(c) - 1) * cell_w
            value = grid[(s, c)]
            label = f"{s.title} with {c.title}: " + (f"{value} {noun}" if value else f"no {noun} (a gap)")
            bin_ = heat_bin(value, maximum)
            if bin_ is None:
                rect = (
                    f'<rect x="{x + 1}" y="{y + 1}" width="{cell_w - 2}" height="{cell_h - 2}" '
                    f'fill="{GAP_FILL}" stroke="{MUTED}" stroke-dasharray="3 2"/>'
                )
                inner = text(x + cell_w / 2, y + cell_h / 2 + 4, "gap", size=10, anchor="middle", fill=MUTED)
            else:
                fill = HEAT_FILLS[bin_]
                rect = (
                    f'<rect x="{x + 1}" y="{y + 1}" width="{cell_w - 2}" height="{cell_h - 2}" '
                    f'fill="{fill}" stroke="{WHITE}"/>'
                )
                inner = text(
                    x + cell_w / 2,
                    y + cell_h / 2 + 4,
                    f"{value:,}",
                    size=12,
                    anchor="middle",
                    fill=text_colour_on(fill),
                    weight="bold",
                )
            cell = (
                f'<g class="cell{" gap" if bin_ is None else ""}" data-stage="{int(s)}" '
                f'data-competency="{int(c)}" data-count="{value}" '
                f'aria-label="{esc_attr(label)}">'
                f"<title>{esc(label)}</title>{rect}{inner}</g>"
            )
            href = cell_href(s, c) if cell_href is not None and value else None
            body.append(f'<a href="{esc_attr(href)}">{cell}</a>' if href else cell)

    # Legend: the gap swatch, then each fill with the counts it covers.
    ly = top + grid_h + 30
    body.append(
        f'<rect x="{left}" y="{ly}" width="18" height="14" fill="{GAP_FILL}" stroke="{MUTED}" stroke-dasharray="3 2"/>'
    )
    body.append(text(left + 24, ly + 11, "gap: none", size=11))
    lx = left + 104
    for i, fill in enumerate(HEAT_FILLS):
        # The counts heat_bin puts in bin i: above i/5 of the maximum, up to (i+1)/5 of it.
        lo = math.floor(i * maximum / len(HEAT_FILLS)) + 1
        hi = math.floor((i + 1) * maximum / len(HEAT_FILLS))
        if maximum == 0 or lo > hi:
            continue
        body.append(f'<rect x="{lx}" y="{ly}" width="18" height="14" fill="{fill}" stroke="{MUTED}"/>')
        span = f"{lo:,}" if lo == hi else f"{lo:,}\u2013{hi:,}"
        body.append(text(lx + 24, ly + 11, span, size=11))
        lx += 36 + 7 * len(span)
    return document(width, height, chart_id, title, " ".join(desc), body, role="img" if cell_href is None else "group")


# ---------------------------------------------------------------------------------------------
# Area vs region vs England
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComparisonBar:
    """One row: an area (with its significance) or a benchmark (significance None)."""

    label: str
    value: float | None
    lower: float | None = None
    upper: float | None = None
    significance: Significance | None = None

    @classmethod
    def from_interval(
        cls,
        label: str,
        value: float | None,
        interval: Interval | None,
        significance: Significance | None,
        scale: float = 100.0,
    ) -> "ComparisonBar":
        """A bar from a proportion and its Wilson interval, scaled (to percent by default)."""
        return cls(
            label,
            None if value is None else value * scale,
            None if interval is None else interval.lower * scale,
            None if interval is None else interval.upper * scale,
            significance,
        )


def comparison_chart(
    bars: Sequence[ComparisonBar],
    *,
    title: str,
    unit: str = "%",
    decimals: int = 1,
    scale_max: float | None = None,
    target: float | None = None,
    id_prefix: str = "compare",
    width: int = 760,
) -> str:
    """Bars with 95% intervals comparing an area with its region and England.

    The area's bar is filled by its Fingertips category and the category is written beside it;
    benchmark bars are grey. Every bar has a dark outline, so even a pale fill is visible.
    """
    chart_id = safe_id(id_prefix)
    left, value_w = 232, 250
    title_lines = wrap(title, width - 32, 15, bold=True)
    # A label too long for the space left of the bars wraps onto more lines (a taller row),
    # so a provider's name is never cut at the chart's edge.
    label_lines = [wrap(b.label, left - 26, 12) for b in bars]
    row_h = max([34] + [16 * len(lines) + 10 for lines in label_lines])
    top = 30 + 20 * len(title_lines)
    plot_w = width - left - value_w
    height = top + row_h * max(1, len(bars)) + 40
    ends = [b.upper if b.upper is not None else b.value for b in bars] + [target]
    highest = max((e for e in ends if e is not None), default=0.0)
    x_max = scale_max if scale_max is not None and scale_max > 0 else (highest * 1.1 if highest > 0 else 1.0)

    def sx(v: float) -> float:
        return left + max(0.0, min(v, x_max)) / x_max * plot_w

    desc, body = [], _lines(16, 24, title_lines, size=15, leading=20, weight="bold")
    body.append(f'<line x1="{left}" y1="{top - 6}" x2="{left}" y2="{top + row_h * len(bars)}" stroke="{MUTED}"/>')
    for i, bar in enumerate(bars):
        y = top + i * row_h
        lines = label_lines[i]
        body.extend(_lines(left - 10, y + row_h / 2 + 4 - 8 * (len(lines) - 1), lines, leading=16, anchor="end"))
        if bar.value is None:
            body.append(text(left + 8, y + row_h / 2 + 4, "no data", fill=MUTED))
            desc.append(f"{bar.label}: no data.")
            continue
        fill = BENCHMARK_FILL if bar.significance is None else SIGNIFICANCE_FILLS[bar.significance]
        words = fmt(bar.value, unit, decimals)
        if bar.lower is not None and bar.upper is not None:
            words += f" ({fmt(bar.lower, '', decimals)}\u2013{fmt(bar.upper, unit, decimals)})"
        if bar.significance is not None:
            words += f", {bar.significance.value}"
        desc.append(f"{bar.label}: {words}.")
        body.append(
            f'<g class="bar" aria-label="{esc_attr(bar.label + ": " + words)}">'
            f"<title>{esc(bar.label)}: {esc(words)}</title>"
            f'<rect x="{left}" y="{num(y + 7)}" width="{num(sx(bar.value) - left)}" '
            f'height="{row_h - 14}" fill="{fill}" stroke="{TEXT}" stroke-width="1"/>'
        )
        if bar.lower is not None and bar.upper is not None:
            x1, x2, ym = sx(bar.lower), sx(bar.upper), y + row_h / 2
            body.append(
                f'<path d="M{num(x1)},{num(ym)} H{num(x2)} M{num(x1)},{num(ym - 6)} '
                f'V{num(ym + 6)} M{num(x2)},{num(ym - 6)} V{num(ym + 6)}" '
                f'stroke="{TEXT}" stroke-width="1.5" fill="none"/>'
            )
        body.append("</g>")
        body.append(text(left + plot_w + 10, y + row_h / 2 + 4, words))
    axis_y = top + row_h * len(bars)
    body.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="{MUTED}"/>')
    for t in nice_ticks(0.0, x_max, 5):
        if t <= x_max + 1e-9:
            body.append(f'<line x1="{num(sx(t))}" y1="{axis_y}" x2="{num(sx(t))}" y2="{axis_y + 4}" stroke="{MUTED}"/>')
            body.append(
                text(
                    sx(t),
                    axis_y + 16,
                    fmt(t, "", 0 if float(t).is_integer() else 1),
                    size=11,
                    anchor="middle",
                    fill=MUTED,
                )
            )
    if target is not None:
        x = sx(target)
        body.append(
            f'<line class="target" x1="{num(x)}" y1="{top - 6}" x2="{num(x)}" '
            f'y2="{top + row_h * len(bars)}" stroke="{TARGET}" stroke-width="2" '
            f'stroke-dasharray="2 3"/>'
        )
        body.append(text(x, top - 10, f"Target {fmt(target, unit, decimals)}", size=11, anchor="middle", fill=TARGET))
        desc.append(f"Target {fmt(target, unit, decimals)}.")
    return document(width, height, chart_id, title, " ".join(desc) or "No data.", body)


# ---------------------------------------------------------------------------------------------
# Sparkline
# ---------------------------------------------------------------------------------------------


def sparkline(
    values: Sequence[float | None],
    *,
    label: str,
    unit: str = "",
    decimals: int = 0,
    id_prefix: str = "spark",
    width: int = 120,
    height: int = 32,
) -> str:
    """A small trend line; a missing period (None) breaks the line; the latest value is dotted."""
    chart_id = safe_id(id_prefix)
    present = [(i, v) for i, v in enumerate(values) if v is not None]
    if not present:
        return document(
            width,
            height,
            chart_id,
            label,
            f"{label}: no data.",
            [text(width / 2, height / 2 + 4, "no data", size=10, anchor="middle", fill=MUTED)],
        )
    lo, hi = min(v for _, v in present), max(v for _, v in present)
    n, pad = len(values), 3.0

    def sx(i: int) -> float:
        return pad + (width - 2 * pad) * (0.5 if n == 1 else i / (n - 1))

    def sy(v: float) -> float:
        return height / 2 if hi == lo else pad + (height - 2 * pad) * (hi - v) / (hi - lo)

    segments: list[list[tuple[int, float]]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            if segments[-1]:
                segments.append([])
        else:
            segments[-1].append((i, v))
    body = []
    for seg in segments:
        if len(seg) > 1:
            pts = " ".join(f"{num(sx(i))},{num(sy(v))}" for i, v in seg)
            body.append(
                f'<polyline points="{pts}" fill="none" stroke="{IMPROVEMENT}" '
                f'stroke-width="1.5" stroke-linejoin="round"/>'
            )
    last_i, last_v = present[-1]
    body.append(f'<circle cx="{num(sx(last_i))}" cy="{num(sy(last_v))}" r="2.5" fill="{TEXT}"/>')
    first_v = present[0][1]
    desc = (
        f"{label}: {len(values)} periods, from {fmt(first_v, unit, decimals)} to "
        f"{fmt(last_v, unit, decimals)}; lowest {fmt(lo, unit, decimals)}, highest "
        f"{fmt(hi, unit, decimals)}"
        + (f"; {_plural(n - len(present), 'period')} without data" if len(present) < n else "")
        + "."
    )
    return document(width, height, chart_id, label, desc, body)
