"""Charts as SVG written on the server: no chart library, nothing fetched, readable without JavaScript.

Only presentation attributes (`fill`, `stroke`), never `style`, so the console's Content Security
Policy (no inline styles) holds. Every label is escaped. The palette is colour-blind safe (Okabe-Ito).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


COUNT_STEPS = tuple(factor * 10 ** power for power in range(7) for factor in (1, 2, 5))
# Durations in seconds: 1, 5, 15, 30 minutes; 1, 2, 3, 6, 12 hours; 1, 2, 7 days …
TIME_STEPS = (60, 300, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 2592000)
TICKS = 4


def _axis_top(value: float, steps: Sequence[float] = COUNT_STEPS) -> float:
    """The top of an axis with TICKS round steps (counts: 1, 2, 5 × 10^n; times: whole minutes,
    hours, days), so that no tick reads 3.75 reports or 47 minutes."""
    for step in steps:
        if step * TICKS >= value:
            return step * TICKS
    return math.ceil(value / steps[-1]) * steps[-1]


def _every(count: int, room: int = 7) -> int:
    """Label every n-th x value so that at most `room` labels share the axis."""
    return max(1, math.ceil(count / room))


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>{"".join(body)}</svg>'
    )


def bars(title: str, items: Sequence[tuple[str, float]], *, width: int = 560, unit: str = "") -> Markup:
    """Horizontal bars, one per item, largest first as given."""
    if not items:
        return Markup('<p class="empty">No data in this period.</p>')
    row, left, right = 24, 170, 50
    height = row * len(items) + 10
    top = max(value for _, value in items) or 1
    body = []
    for i, (label, value) in enumerate(items):
        y = 5 + i * row
        length = (width - left - right) * value / top
        text = label if len(label) <= 26 else label[:25] + "…"
        body.append(f'<text x="{left - 6}" y="{y + 15}" text-anchor="end" {FONT} fill="#222">{escape(text)}</text>')
        body.append(f'<rect x="{left}" y="{y + 3}" width="{max(length, 1):.1f}" height="{row - 8}" fill="{PALETTE[0]}">'
                    f'<title>{escape(label)}: {value:g}{escape(unit)}</title></rect>')
        body.append(f'<text x="{left + length + 5:.1f}" y="{y + 15}" {FONT} fill="#222">{value:g}</text>')
    return _svg(width, height, title, body)


def lines(title: str, x_labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *,
          width: int = 560, height: int = 220, fmt: Callable[[float], str] = lambda v: f"{v:g}",
          dashed: Sequence[bool] = (), steps: Sequence[float] = COUNT_STEPS) -> Markup:
    """Lines over time; a None is a gap (a week with nothing to measure), not a zero."""
    values = [v for _, points in series for v in points if v is not None]
    if not values or not x_labels:
        return Markup('<p class="empty">No acknowledgements in this period.</p>')
    left, right, top_pad, bottom = 60, 10, 24, 36
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    top = _axis_top(max(values), steps)
    step_x = plot_w / max(len(x_labels) - 1, 1)
    body = []
    for i in range(TICKS + 1):
        value = top * i / TICKS
        y = top_pad + plot_h - plot_h * i / TICKS
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT} fill="#555">{escape(fmt(value))}</text>')
    every = _every(len(x_labels))
    for i, label in enumerate(x_labels):
        if i % every == 0:
            x = left + i * step_x
            body.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle" {FONT} fill="#555">{escape(label)}</text>')
    for n, (name, points) in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        dash = ' stroke-dasharray="5 3"' if n < len(dashed) and dashed[n] else ""
        segment: list[str] = []
        segments: list[list[str]] = [segment]
        for i, value in enumerate(points):
            if value is None:
                segment = []
                segments.append(segment)
                continue
            x, y = left + i * step_x, top_pad + plot_h - plot_h * value / top
            segment.append(f"{x:.1f},{y:.1f}")
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"><title>{escape(name)}, '
                        f'{escape(x_labels[i])}: {escape(fmt(value))}</title></circle>')
        for part in segments:
            if len(part) > 1:
                body.append(f'<polyline points="{" ".join(part)}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
        lx = left + n * 150
        body.append(f'<line x1="{lx}" x2="{lx + 18}" y1="10" y2="10" stroke="{colour}" stroke-width="2"{dash}/>')
        body.append(f'<text x="{lx + 22}" y="14" {FONT} fill="#222">{escape(name)}</text>')
    return _svg(width, height, title, body)


def columns(title: str, x_labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *,
            width: int = 560, height: int = 220) -> Markup:
    """Grouped columns per x label (reports and missed deadlines per week)."""
    values = [v for _, points in series for v in points]
    if not x_labels or not any(values):
        return Markup('<p class="empty">No reports in this period.</p>')
    left, right, top_pad, bottom = 40, 10, 24, 36
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    top = _axis_top(max(values))
    group = plot_w / len(x_labels)
    bar = group * 0.8 / len(series)
    body = []
    for i in range(TICKS + 1):
        y = top_pad + plot_h - plot_h * i / TICKS
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT} fill="#555">{top * i / TICKS:g}</text>')
    every = _every(len(x_labels))
    for i, label in enumerate(x_labels):
        if i % every == 0:
            x = left + group * (i + 0.5)
            body.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle" {FONT} fill="#555">{escape(label)}</text>')
    for n, (name, points) in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        for i, value in enumerate(points):
            h = plot_h * value / top
            x = left + group * i + group * 0.1 + n * bar
            body.append(f'<rect x="{x:.1f}" y="{top_pad + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                        f'fill="{colour}"><title>{escape(name)}, {escape(x_labels[i])}: {value:g}</title></rect>')
        lx = left + n * 170
        body.append(f'<rect x="{lx}" y="4" width="12" height="12" fill="{colour}"/>')
        body.append(f'<text x="{lx + 16}" y="14" {FONT} fill="#222">{escape(name)}</text>')
    return _svg(width, height, title, body)
