"""Small charts drawn as inline SVG text, so a report is one file that opens anywhere.

A chart library would mean JavaScript or a CDN in the page, and an image would mean a second
file; these few shapes (bars, a grid, dots) are simple enough to write as SVG directly, and
text in SVG stays searchable and sharp at any zoom. Every string that reaches the markup goes
through `html.escape`, labels and attribute values alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

import numpy as np

# One colour per segment id, the same in every chart of a report (Tableau's 10, then 4 more);
# segment 0 ("Not identified") is grey: it is not a cluster.
PALETTE = [
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#2f4b7c",
    "#a05195",
    "#665191",
    "#d45087",
    "#003f5c",
]
UNASSIGNED = "#9aa0a6"
ACCENT = "#4e79a7"
ALERT = "#d62728"
FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\""
TURN = "rotate(-90)"  # a vertical axis title
CHAR_WIDTH = 7.0  # average width of a 12px glyph: enough to size a label column


def segment_colour(segment_id: int) -> str:
    """The colour of a segment, by its id, so it is the same wherever the segment is drawn."""
    if segment_id <= 0:
        return UNASSIGNED
    return PALETTE[(segment_id - 1) % len(PALETTE)]


def _attrs(attributes: Mapping[str, object]) -> str:
    return "".join(f' {escape(k)}="{escape(str(v))}"' for k, v in attributes.items())


def _svg(width: float, height: float, label: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="{escape(label)}" '
        f'{FONT} font-size="12">' + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, text: str, **attributes: object) -> str:
    extra = _attrs({k.replace("_", "-"): v for k, v in attributes.items()})
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(text)}</text>'


@dataclass(frozen=True)
class Bar:
    """One bar: its label, length, colour, the text after it and data-* attributes for tests
    and for anyone reading numbers back out of the page."""

    label: str
    value: float
    colour: str = ACCENT
    note: str = ""
    data: Mapping[str, object] = field(default_factory=dict)


def horizontal_bars(
    bars: Sequence[Bar],
    label: str,
    *,
    width: int = 760,
    threshold: float | None = None,
    threshold_label: str = "",
) -> str:
    """Labelled horizontal bars scaled to the largest value (or the threshold, if larger),
    with an optional dashed vertical line at the threshold."""
    row, gap, top = 22, 6, 8 if threshold is None else 24
    label_width = min(340.0, max((len(b.label) for b in bars), default=4) * CHAR_WIDTH + 12)
    note_width = max((len(b.note) for b in bars), default=0) * CHAR_WIDTH + 12
    plot = max(120.0, width - label_width - note_width)
    top_value = max([b.value for b in bars] + [threshold or 0.0, 1e-12])
    body = []
    for i, bar in enumerate(bars):
        y = top + i * (row + gap)
        length = max(0.0, bar.value) / top_value * plot
        body.append(
            f'<g class="bar"{_attrs({"data-" + k: v for k, v in bar.data.items()})}>'
            f"<title>{escape(bar.label)}: {escape(bar.note)}</title>"
            + _text(label_width - 8, y + row * 0.7, bar.label, text_anchor="end")
            + f'<rect x="{label_width:.1f}" y="{y:.1f}" width="{length:.1f}" height="{row}" '
            f'fill="{escape(bar.colour)}" rx="2"/>'
            + _text(label_width + length + 6, y + row * 0.7, bar.note, fill="#333")
            + "</g>"
        )
    height = top + len(bars) * (row + gap) + 4
    if threshold is not None:
        x = label_width + threshold / top_value * plot
        body.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 2}" stroke="{ALERT}" '
            'stroke-dasharray="4 3" stroke-width="1.5"/>'
            + _text(x, 14, threshold_label, text_anchor="middle", fill=ALERT)
        )
    return _svg(width, height, label, body)


def columns(
    bars: Sequence[Bar],
    label: str,
    *,
    width: int = 520,
    height: int = 220,
    reference: float | None = None,
    reference_label: str = "",
) -> str:
    """Vertical bars (deciles and the like), value above each, label below, and an optional
    dashed horizontal reference line (lift 1 = no better than chance)."""
    left, right, top, bottom = 12, 12, 22, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = max([b.value for b in bars] + [reference or 0.0, 1e-12])
    slot = plot_w / max(len(bars), 1)
    body = []
    for i, bar in enumerate(bars):
        h = max(0.0, bar.value) / top_value * plot_h
        x, y = left + i * slot + slot * 0.12, top + plot_h - h
        body.append(
            f'<g class="bar"{_attrs({"data-" + k: v for k, v in bar.data.items()})}>'
            f"<title>{escape(bar.label)}: {escape(bar.note)}</title>"
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.76:.1f}" height="{h:.1f}" '
            f'fill="{escape(bar.colour)}" rx="2"/>'
            + _text(x + slot * 0.38, y - 4, bar.note, text_anchor="middle", font_size=11)
            + _text(x + slot * 0.38, top + plot_h + 16, bar.label, text_anchor="middle")
            + "</g>"
        )
    body.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
        'stroke="#888"/>'
    )
    if reference is not None:
        y = top + plot_h - reference / top_value * plot_h
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{ALERT}" '
            'stroke-dasharray="4 3"/>'
            + _text(width - right, y - 4, reference_label, text_anchor="end", fill=ALERT)
        )
    return _svg(width, height, label, body)


@dataclass(frozen=True)
class Cell:
    """One cell of a grid: the value its shade is scaled by, its lines of text, data-*."""

    value: float
    lines: Sequence[str] = ()
    data: Mapping[str, object] = field(default_factory=dict)


def _shade(fraction: float) -> tuple[str, str]:
    """A light-to-dark blue for 0..1, and the text colour readable on it."""
    light, dark = np.array([238, 244, 251]), np.array([31, 78, 121])
    rgb = light + (dark - light) * min(max(fraction, 0.0), 1.0)
    return "#{:02x}{:02x}{:02x}".format(*rgb.round().astype(int)), (
        "#fff" if fraction > 0.55 else "#1a1a1a"
    )


def heatmap(
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    cells: Sequence[Sequence[Cell]],
    label: str,
    *,
    row_title: str = "",
    column_title: str = "",
    cell_size: tuple[int, int] = (104, 58),
) -> str:
    """A grid of cells shaded by value (darkest = largest), each with its text lines."""
    cw, ch = cell_size
    left, top = 96, 44
    top_value = max([c.value for row in cells for c in row] + [1e-12])
    body = [_text(left + cw * len(column_labels) / 2, 14, column_title, text_anchor="middle")]
    for j, name in enumerate(column_labels):
        body.append(_text(left + j * cw + cw / 2, top - 8, name, text_anchor="middle"))
    for i, (name, row) in enumerate(zip(row_labels, cells, strict=True)):
        y = top + i * ch
        body.append(_text(left - 10, y + ch / 2 + 4, name, text_anchor="end"))
        for j, cell in enumerate(row):
            x = left + j * cw
            fill, ink = _shade(cell.value / top_value)
            texts = "".join(
                _text(
                    x + cw / 2,
                    y + ch / 2 + 4 + (k - (len(cell.lines) - 1) / 2) * 15,
                    line,
                    text_anchor="middle",
                    fill=ink,
                    font_weight="600" if k == 0 else "400",
                )
                for k, line in enumerate(cell.lines)
            )
            body.append(
                f'<g class="cell"{_attrs({"data-" + k: v for k, v in cell.data.items()})}>'
                f'<rect x="{x}" y="{y}" width="{cw - 2}" height="{ch - 2}" fill="{fill}" rx="3"/>'
                f"{texts}</g>"
            )
    body.append(
        _text(
            16,
            top + ch * len(row_labels) / 2,
            row_title,
            text_anchor="middle",
            transform=f"rotate(-90 16 {top + ch * len(row_labels) / 2:.1f})",
        )
    )
    return _svg(left + cw * len(column_labels) + 4, top + ch * len(row_labels) + 4, label, body)


def scatter(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    legend: Mapping[int, tuple[str, str]],
    label: str,
    *,
    width: int = 760,
    height: int = 520,
    axis_titles: tuple[str, str] = ("", ""),
) -> str:
    """Dots coloured by group, one `<circle>` per point, and a legend of (name, colour) per
    group drawn with squares (so counting circles counts points).

    The axes span the 0.5th to 99.5th percentile with a margin: a handful of extreme people
    would otherwise squeeze everyone else into a corner. Points beyond are drawn on the edge."""
    legend_w = min(300.0, max((len(n) for n, _ in legend.values()), default=4) * CHAR_WIDTH + 40)
    pad, plot_w, plot_h = 28.0, width - legend_w - 40, height - 40

    def scale(values: np.ndarray, size: float, flip: bool) -> np.ndarray:
        if len(values) == 0:
            return values
        low, high = np.percentile(values, [0.5, 99.5])
        span = max(high - low, 1e-9)
        low, high = low - 0.05 * span, high + 0.05 * span
        unit = np.clip((values - low) / (high - low), 0.0, 1.0)
        return pad + (1 - unit if flip else unit) * (size - 2 * pad)

    px, py = scale(np.asarray(x, float), plot_w, False), scale(np.asarray(y, float), plot_h, True)
    body = [
        f'<rect x="0.5" y="0.5" width="{plot_w:.0f}" height="{plot_h:.0f}" fill="#fbfbfd" '
        'stroke="#ccc"/>',
        _text(plot_w / 2, plot_h + 20, axis_titles[0], text_anchor="middle", fill="#555"),
        _text(
            -plot_h / 2,
            -6,
            axis_titles[1],
            text_anchor="middle",
            fill="#555",
            transform="rotate(-90)",
        ),
    ]
    for group in sorted(legend):
        mask = groups == group
        if not mask.any():
            continue
        dots = "".join(
            f'<circle class="point" cx="{a:.1f}" cy="{b:.1f}" r="2.6"/>'
            for a, b in zip(px[mask], py[mask], strict=True)
        )
        body.append(
            f'<g class="group" data-segment="{group}" fill="{escape(legend[group][1])}" '
            f'fill-opacity="0.7">{dots}</g>'
        )
    for i, group in enumerate(sorted(legend)):
        name, colour = legend[group]
        ly = 18 + i * 22
        body.append(
            f'<rect x="{plot_w + 20:.0f}" y="{ly - 10}" width="12" height="12" '
            f'fill="{escape(colour)}" rx="2"/>' + _text(plot_w + 38, ly, name)
        )
    # The y-axis title sits left of the plot: the drawing starts a margin to the right.
    return _svg(width, height, label, ['<g transform="translate(24 0)">', *body, "</g>"])
