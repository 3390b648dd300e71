"""Inline SVG line charts: drawn on the server, so the page needs no script and works offline."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Series:
    label: str
    values: list[int]
    color: str


WIDTH, HEIGHT = 460, 150
LEFT, RIGHT, TOP, BOTTOM = 46, 8, 10, 22


def line_chart(title: str, labels: list[str], series: list[Series]) -> str:
    """An SVG of one line per series over the points `labels` (oldest first), with a legend."""
    count = len(labels)
    if count == 0:
        return '<p class="muted">No runs yet.</p>'
    top = max([max(s.values, default=0) for s in series] + [1])
    scale = _nice_ceiling(top)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (plot_w * i / (count - 1) if count > 1 else plot_w / 2)

    def y(value: int) -> float:
        return TOP + plot_h * (1 - value / scale)

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for step in range(5):
        value = scale * step / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" class="grid"/>'
            f'<text x="{LEFT - 4}" y="{y(value) + 3:.1f}" class="axis" text-anchor="end">'
            f"{_short(value)}</text>"
        )
    for i in sorted({0, count - 1}):
        parts.append(
            f'<text x="{x(i):.1f}" y="{HEIGHT - 6}" class="axis" '
            f'text-anchor="{"start" if i == 0 and count > 1 else "end"}">{escape(labels[i])}</text>'
        )
    for s in series:
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s.values))
        parts.append(
            f'<polyline class="series" data-series="{escape(s.label)}" fill="none" stroke="{s.color}" '
            f'stroke-width="2" points="{points}"/>'
        )
        for i, v in enumerate(s.values):
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="{s.color}">'
                f"<title>{escape(labels[i])}: {v:,} {escape(s.label)}</title></circle>"
            )
    parts.append("</svg>")
    legend = "".join(
        f'<span class="key"><i style="background:{s.color}"></i>{escape(s.label)}</span>' for s in series
    )
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^n at or above `value`, so axis steps read as round numbers."""
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= value:
            return factor * magnitude
    return 10 * magnitude


def _short(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1_000:
        return f"{value / 1_000:g}k"
    return f"{value:g}"
