"""Bar charts as inline SVG for the HTML reports: a pure function of the data, deterministic to the byte.

Values are exact decimals (or counts); only the geometry is computed in floating point, and every
coordinate is written with two decimals, so the same data always give the same SVG. Every label is
written the Vietnamese way (94,75) and escaped. A bar's height is its value's share of the axis maximum.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from cchc.models.formats import vn_number

SVG_NS = "http://www.w3.org/2000/svg"
PALETTE = ("#1f5f99", "#e08a1e", "#3a8f4b", "#b03a48", "#6b4fa0", "#2a9d9d", "#8c6d3f", "#7a7a7a")
PLOT_HEIGHT = 180
BAR_WIDTH = 22
BAR_GAP = 3
GROUP_PADDING = 12
MIN_PLOT_WIDTH = 260
LEFT, RIGHT = 60, 16
LINE = 13  # the height of a line of small text
TITLE_LINE = 17
CHAR_WIDTH = 5.6  # an average character at the label size, to wrap category labels
TITLE_CHAR_WIDTH = 7.4  # the same at the title's size
TICKS = 4

Number = Decimal | int


@dataclass(frozen=True)
class Series:
    """One colour of bars: a value (or None: no bar) per category."""

    name: str
    values: tuple[Number | None, ...]


def bar_chart(
    title: str,
    categories: Sequence[str],
    values: Sequence[Number | None],
    *,
    axis_label: str,
    maximum: Number | None = None,
    places: int = 2,
    unit: str = "",
) -> str:
    """One bar per category."""
    return grouped_bar_chart(
        title, categories, [Series("", tuple(values))], axis_label=axis_label, maximum=maximum, places=places, unit=unit
    )


def grouped_bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    axis_label: str,
    maximum: Number | None = None,
    places: int = 2,
    unit: str = "",
) -> str:
    """One group of bars per category, one bar per series (with a legend when there are several)."""
    if not series or any(len(s.values) != len(categories) for s in series):
        raise ValueError("every series needs one value per category")
    present = [Decimal(v) for s in series for v in s.values if v is not None]
    if any(v < 0 for v in present):
        raise ValueError("a bar chart shows values from 0 up")
    top_value = Decimal(maximum) if maximum is not None else nice_maximum(max(present, default=Decimal(0)), places)
    if top_value <= 0 or any(v > top_value for v in present):
        raise ValueError(f"the axis maximum {top_value} is below a value")

    group_width = len(series) * BAR_WIDTH + (len(series) - 1) * BAR_GAP + 2 * GROUP_PADDING
    plot_width = max(MIN_PLOT_WIDTH, len(categories) * group_width)
    width = LEFT + plot_width + RIGHT
    heading = textwrap.wrap(title, max(12, int((width - 16) / TITLE_CHAR_WIDTH))) or [""]
    wrapped = [textwrap.wrap(c, max(4, int(group_width / CHAR_WIDTH))) or [""] for c in categories]
    label_lines = min(3, max((len(w) for w in wrapped), default=1))
    legend = [s for s in series if s.name] if len(series) > 1 else []
    legend_top = 8 + TITLE_LINE * len(heading) + 4
    plot_top = legend_top + LINE * len(legend) + (8 if legend else 0) + LINE  # room for the value labels
    height = plot_top + PLOT_HEIGHT + 6 + LINE * label_lines + 8
    baseline = plot_top + PLOT_HEIGHT

    def y_of(value: Decimal) -> float:
        return baseline - float(value / top_value) * PLOT_HEIGHT

    out = [
        f'<svg xmlns="{SVG_NS}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}" font-family="Arial, Helvetica, sans-serif">',
        f"<title>{escape(title)}</title>",
    ]
    for n, line in enumerate(heading, 1):
        out.append(
            f'<text x="{_n(width / 2)}" y="{8 + TITLE_LINE * n - 4}" text-anchor="middle" font-size="13" '
            f'font-weight="bold">{escape(line)}</text>'
        )
    for i, s in enumerate(legend):
        row = legend_top + i * LINE
        out.append(f'<rect x="{LEFT}" y="{row}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>')
        out.append(f'<text x="{LEFT + 14}" y="{row + 9}" font-size="10">{escape(s.name)}</text>')
    for k in range(TICKS + 1):
        tick = top_value * k / TICKS
        y = y_of(tick)
        out.append(
            f'<line x1="{LEFT}" y1="{_n(y)}" x2="{LEFT + plot_width}" y2="{_n(y)}" stroke="#dddddd" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{LEFT - 4}" y="{_n(y + 3)}" text-anchor="end" font-size="9">{_label(tick, places)}</text>'
        )
    out.append(
        f'<text transform="translate(12 {_n(plot_top + PLOT_HEIGHT / 2)}) rotate(-90)" text-anchor="middle" '
        f'font-size="10">{escape(axis_label)}</text>'
    )
    out.append(f'<line x1="{LEFT}" y1="{plot_top}" x2="{LEFT}" y2="{baseline}" stroke="#333333"/>')
    out.append(f'<line x1="{LEFT}" y1="{baseline}" x2="{LEFT + plot_width}" y2="{baseline}" stroke="#333333"/>')
    for j, category in enumerate(categories):
        left = LEFT + j * group_width + GROUP_PADDING
        for i, s in enumerate(series):
            raw = s.values[j]
            if raw is None:
                continue
            value = Decimal(raw)
            x = left + i * (BAR_WIDTH + BAR_GAP)
            y = y_of(value)
            text = vn_number(value, places) + unit
            who = f"{s.name} — " if s.name else ""
            out.append(
                f'<rect class="bar" x="{x}" y="{_n(y)}" width="{BAR_WIDTH}" height="{_n(baseline - y)}" '
                f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(who + category)}: {escape(text)}</title></rect>'
            )
            out.append(
                f'<text class="value" x="{_n(x + BAR_WIDTH / 2)}" y="{_n(y - 3)}" text-anchor="middle" font-size="8">'
                f"{escape(vn_number(value, places))}</text>"
            )
        centre = LEFT + j * group_width + group_width / 2
        for n, line in enumerate(wrapped[j][:label_lines]):
            out.append(
                f'<text x="{_n(centre)}" y="{baseline + 6 + LINE * (n + 1) - 3}" text-anchor="middle" '
                f'font-size="10">{escape(line)}</text>'
            )
    out.append("</svg>")
    return "".join(out)


def nice_maximum(value: Decimal, places: int = 2) -> Decimal:
    """The smallest round axis maximum at or above a value: ticks of 1, 2, 2,5 or 5 × 10ⁿ (whole numbers for
    counts, places 0)."""
    if value <= 0:
        return Decimal(TICKS)
    wanted = value / TICKS
    base = Decimal(1).scaleb(wanted.adjusted())
    steps = [base * m for m in (1, 2, Decimal("2.5"), 5, 10)]
    if places == 0:
        steps = [s for s in steps if s >= 1 and s == s.to_integral_value()] or [Decimal(1)]
    top = next(s for s in steps if s >= wanted) * TICKS
    return top.quantize(Decimal(1)) if top == top.to_integral_value() else top.normalize()


def _label(value: Decimal, places: int) -> str:
    return escape(vn_number(value, 0 if value == value.to_integral_value() else places))


def _n(value: float) -> str:
    """A coordinate with two decimals, without trailing zeros (the same float always writes the same)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text
