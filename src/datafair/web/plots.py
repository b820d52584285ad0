"""Small server-rendered SVG plots for the dashboard: no JavaScript chart library to vendor.

Each function takes plain numbers and returns an ``<svg>`` string with a ``<title>`` and
``aria-label`` (screen readers read the figure), text escaped. Sizes are in CSS pixels; the
plots scale with their container (``viewBox``).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH = 640
ROW = 22


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    return (
        f'<svg class="plot" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>{''.join(body)}</svg>"
    )


def bars_over_time(points: Sequence[tuple[int, int]], label: str) -> str:
    """A column per hour: ``points`` are ``(hour, count)``."""
    if not points:
        return _svg(WIDTH, 40, label, ['<text x="8" y="24">no answers yet</text>'])
    height, top, bottom = 160, 10, 24
    peak = max(count for _, count in points) or 1
    step = (WIDTH - 40) / len(points)
    body = [f'<text x="4" y="{top + 8}" class="axis">{peak}</text>']
    for position, (hour, count) in enumerate(points):
        h = (height - top - bottom) * count / peak
        x = 36 + position * step
        body.append(
            f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{h:.1f}" class="bar"><title>hour {hour}: {count}</title></rect>'
        )
    body.append(
        f'<text x="36" y="{height - 6}" class="axis">hour 0</text>'
        f'<text x="{WIDTH - 60}" y="{height - 6}" class="axis">hour {points[-1][0]}</text>'
    )
    return _svg(WIDTH, height, label, body)


def horizontal_bars(
    rows: Sequence[tuple[str, float | None]], label: str, *, low: float = -1.0
) -> str:
    """One bar per named value in ``[low, 1]`` (``None``: not measurable, shown as such)."""
    height = ROW * max(len(rows), 1) + 10
    left, span = 160, WIDTH - 220
    zero = left + span * (0 - low) / (1 - low)
    body = [f'<line x1="{zero:.1f}" y1="0" x2="{zero:.1f}" y2="{height}" class="zero"/>']
    for index, (name, value) in enumerate(rows):
        y = 5 + index * ROW
        body.append(f'<text x="4" y="{y + 14}">{escape(name[:22])}</text>')
        if value is None:
            body.append(f'<text x="{left}" y="{y + 14}" class="axis">n/a</text>')
            continue
        x = left + span * (value - low) / (1 - low)
        start, end = sorted((zero, x))
        body.append(
            f'<rect x="{start:.1f}" y="{y + 3}" width="{max(end - start, 1):.1f}" height="14" '
            f'class="bar"/><text x="{left + span + 8}" y="{y + 14}">{value:.2f}</text>'
        )
    return _svg(WIDTH, height, label, body)


def intervals(rows: Sequence[tuple[str, float, float, float, bool]], label: str) -> str:
    """Point and interval per row: ``(name, estimate, low, high, flagged)`` in ``[0, 1]``."""
    height = ROW * max(len(rows), 1) + 24
    left, span = 170, WIDTH - 230
    body = []
    for tick in (0.0, 0.5, 1.0):
        x = left + span * tick
        body.append(
            f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - 18}" class="grid"/>'
            f'<text x="{x - 8:.1f}" y="{height - 4}" class="axis">{tick:.1f}</text>'
        )
    for index, (name, estimate, low, high, flagged) in enumerate(rows):
        y = 5 + index * ROW + 10
        css = "flagged" if flagged else "point"
        body.append(
            f'<text x="4" y="{y + 4}">{escape(name[:10] + "…" + name[-4:])}</text>'
            f'<line x1="{left + span * low:.1f}" y1="{y}" x2="{left + span * high:.1f}" '
            f'y2="{y}" class="interval"/>'
            f'<circle cx="{left + span * estimate:.1f}" cy="{y}" r="4" class="{css}">'
            f"<title>{escape(name)}: {estimate:.3f} [{low:.3f}, {high:.3f}]"
            f"{' (flagged as spam)' if flagged else ''}</title></circle>"
        )
    return _svg(WIDTH, height, label, body)


def heatmap(classes: Sequence[str], counts: Sequence[Sequence[int]], label: str) -> str:
    """A confusion matrix: rows the inferred label, columns the given answer."""
    n = len(classes)
    cell, left, top = 34, 90, 70
    size_w, size_h = left + cell * n + 10, top + cell * n + 10
    peak = max((max(row) for row in counts), default=0) or 1
    body = [f'<text x="{left}" y="14" class="axis">given →</text>']
    for j, name in enumerate(classes):
        body.append(
            f'<text x="{left + j * cell + 4}" y="{top - 8}" class="axis" '
            f'transform="rotate(-35 {left + j * cell + 4} {top - 8})">{escape(name[:10])}</text>'
        )
    for i, name in enumerate(classes):
        body.append(f'<text x="4" y="{top + i * cell + 21}">{escape(name[:10])}</text>')
        for j in range(n):
            value = counts[i][j]
            shade = 0.08 + 0.92 * value / peak
            body.append(
                f'<rect x="{left + j * cell}" y="{top + i * cell}" width="{cell - 2}" '
                f'height="{cell - 2}" class="cell" fill-opacity="{shade:.2f}"/>'
                f'<text x="{left + j * cell + 6}" y="{top + i * cell + 21}" class="cell-label">'
                f"{value}</text>"
            )
    return _svg(size_w, size_h, label, body)
