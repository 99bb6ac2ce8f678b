"""Charts as inline SVG, drawn from the data: no chart library, no script, nothing fetched.

Reports are printed, e-mailed and archived; an SVG inside the HTML renders the same in a browser,
in Chromium's PDF printer and in a mail client that shows HTML, and its text stays searchable.
Titles and labels come in already translated; this module only draws.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

FONT = "'Noto Sans CJK SC', 'Noto Serif CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', sans-serif"
COLOURS = {
    "received": "#2f5d8a",
    "closed": "#3c8d5a",
    "bar": "#2f5d8a",
    "red": "#c62828",
    "yellow": "#e0a800",
    "blue": "#1e6fd9",
    "none": "#b0b7c0",
    "grid": "#e3e6ea",
    "axis": "#59636e",
}


def nice_max(value: float) -> int:
    """A round axis maximum at or above `value` (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return int(step * power) if step * power >= 1 else 1
    return int(10 * power)


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="duban-chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-family="{FONT}" font-size="12">'
        f"<title>{escape(title)}</title>"
        f'<text x="0" y="14" font-size="14" font-weight="bold" fill="#222">{escape(title)}</text>'
        + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", fill: str = "#333",
          size: int | None = None) -> str:
    size_attr = f' font-size="{size}"' if size else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}"{size_attr}>'
            f"{escape(text)}</text>")


def bar_chart(items: Sequence[tuple[str, int]], *, title: str, width: int = 560,
              colour: str = COLOURS["bar"]) -> str:
    """Horizontal bars, one per item, with the value at the end of each bar."""
    label_w, bar_h, gap, top = 150, 20, 8, 28
    height = top + max(len(items), 1) * (bar_h + gap) + 4
    top_value = nice_max(max((v for _, v in items), default=0))
    span = width - label_w - 60
    body = []
    for i, (label, value) in enumerate(items):
        y = top + i * (bar_h + gap)
        w = span * value / top_value
        body.append(_text(label_w - 8, y + bar_h * 0.72, label, anchor="end"))
        body.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}">'
                    f"<title>{escape(label)}: {value}</title></rect>")
        body.append(_text(label_w + w + 6, y + bar_h * 0.72, str(value)))
    return _svg(width, height, title, body)


def trend_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[int], str]], *,
                title: str, width: int = 640, height: int = 260) -> str:
    """Lines over time (one per series: name, values, colour), with a legend and a value axis."""
    left, right, top, bottom = 44, 36, 48, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = nice_max(max((v for _, values, _ in series for v in values), default=0))
    n = max(len(labels), 1)
    step = plot_w / max(n - 1, 1)
    body = []
    for k in range(5):
        value = top_value * k / 4
        y = top + plot_h - plot_h * k / 4
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                    f'stroke="{COLOURS["grid"]}"/>')
        body.append(_text(left - 6, y + 4, f"{value:g}", anchor="end", fill=COLOURS["axis"], size=11))
    every = max(1, math.ceil(n / 12))
    for i, label in enumerate(labels):
        if i % every == 0 or i == n - 1:
            body.append(_text(left + i * step, height - bottom + 16, label, anchor="middle",
                              fill=COLOURS["axis"], size=11))
    for s, (name, values, colour) in enumerate(series):
        points = [(left + i * step, top + plot_h - plot_h * v / top_value) for i, v in enumerate(values)]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for (x, y), v, label in zip(points, values, labels, strict=False):
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                        f"<title>{escape(label)} {escape(name)}: {v}</title></circle>")
        lx = left + s * 110
        body.append(f'<rect x="{lx}" y="24" width="14" height="4" fill="{colour}"/>')
        body.append(_text(lx + 20, 30, name, size=12))
    return _svg(width, height, title, body)


def stacked_bar_chart(rows: Sequence[tuple[str, Sequence[int]]], keys: Sequence[tuple[str, str]], *,
                      title: str, width: int = 640) -> str:
    """Horizontal stacked bars: one row per label, one segment per key (name, colour)."""
    label_w, bar_h, gap, top = 170, 18, 7, 48
    height = top + max(len(rows), 1) * (bar_h + gap) + 4
    top_value = nice_max(max((sum(values) for _, values in rows), default=0))
    span = width - label_w - 50
    body = []
    for k, (name, colour) in enumerate(keys):
        lx = label_w + k * 90
        body.append(f'<rect x="{lx}" y="22" width="12" height="12" fill="{colour}"/>')
        body.append(_text(lx + 16, 32, name, size=12))
    for i, (label, values) in enumerate(rows):
        y = top + i * (bar_h + gap)
        body.append(_text(label_w - 8, y + bar_h * 0.75, label, anchor="end"))
        x = float(label_w)
        for (name, colour), value in zip(keys, values, strict=True):
            if value <= 0:
                continue
            w = span * value / top_value
            body.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}">'
                        f"<title>{escape(label)} {escape(name)}: {value}</title></rect>")
            x += w
        body.append(_text(x + 6, y + bar_h * 0.75, str(sum(values)), size=11))
    return _svg(width, height, title, body)
