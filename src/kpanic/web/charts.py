"""Small server-side SVG charts for the statistics page.

Hand-built SVG instead of matplotlib: a chart here is a few dozen rectangles, rendering takes
microseconds, the output is crisp at any size and needs no JavaScript or external asset.
Every label goes through :func:`html.escape` because values (kernel releases, classes) come from
attacker-controlled logs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from html import escape

PALETTE = (
    "#1f5fa8",
    "#e07b39",
    "#2e9e5b",
    "#c0392b",
    "#8e5ec4",
    "#8c6d31",
    "#d35fa5",
    "#7f8c8d",
    "#b5b82c",
    "#17a2b8",
)
VERDICT_COLOURS = {
    "yes": "#2e9e5b",
    "no": "#c0392b",
    "partly": "#e0a100",
    "unknown": "#9aa5b1",
}
LANGUAGE_COLOURS = {"c": "#3b4a80", "rust": "#b7410e", "unknown": "#9aa5b1"}
FONT = 'font-family="system-ui, DejaVu Sans, Arial, sans-serif"'
# A bar's link to the list of what it counts (None: no link, e.g. for "other").
Href = Callable[[str], str | None]


def _linked(svg: str, url: str | None, label: str) -> str:
    """``svg`` inside a link to ``url`` (the filtered list of what the bar counts)."""
    if not url:
        return svg
    return f'<a href="{escape(url)}" aria-label="{escape(label)}">{svg}</a>'


def _nice_max(value: int) -> int:
    """Round an axis maximum up to 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _fmt(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    if n >= 1000:
        return f"{n / 1000:.1f}k"
    return str(n)


def empty_chart(message: str = "no data in this range", width: int = 560) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} 60" role="img">'
        f'<text x="{width / 2}" y="34" text-anchor="middle" fill="#5d6873" font-size="13" '
        f"{FONT}>{escape(message)}</text></svg>"
    )


def _next_bucket(day: dt.date, bucket: str) -> dt.date:
    if bucket == "month":
        return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return day + dt.timedelta(days=7 if bucket == "week" else 1)


def fill_gaps(
    points: Sequence[tuple[dt.date, int]], bucket: str, limit: int = 1000
) -> list[tuple[dt.date, int]]:
    """The series with empty buckets as zeros, so bar spacing is true to time."""
    if not points:
        return []
    counts = dict(points)
    day, last = min(counts), max(counts)
    out: list[tuple[dt.date, int]] = []
    while day <= last and len(out) < limit:
        out.append((day, counts.get(day, 0)))
        day = _next_bucket(day, bucket)
    return out if len(out) < limit else sorted(points)


def time_bars(
    points: Sequence[tuple[dt.date, int]],
    title: str,
    width: int = 560,
    bucket: str = "day",
    href: Callable[[dt.date, dt.date], str | None] | None = None,
) -> str:
    """Reports per time bucket as vertical bars, with a y axis and a few date labels."""
    points = fill_gaps(points, bucket)
    if not points or not any(c for _, c in points):
        return empty_chart()
    height, left, right, top, bottom = 220, 46, 10, 10, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    step = _nice_max(-(-max(c for _, c in points) // 4))
    top_value = step * 4
    n = len(points)
    slot = plot_w / n
    bar_w = min(36.0, max(1.0, slot * 0.8))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">'
    ]
    for i in range(5):
        value = step * i
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e7eb"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#5d6873" {FONT}>{_fmt(int(value))}</text>'
        )
    for i, (day, count) in enumerate(points):
        h = plot_h * count / top_value
        x = left + i * slot + (slot - bar_w) / 2
        y = top + plot_h - h
        rect = (
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="#1f5fa8">'
            f"<title>{escape(day.isoformat())}: {count}</title></rect>"
        )
        url = href(day, _next_bucket(day, bucket)) if href and count else None
        parts.append(_linked(rect, url, f"{day.isoformat()}: {count}"))
    label_every = max(1, -(-n // max(2, min(6, width // 95))))  # dates must not overlap
    for i, (day, _) in enumerate(points):
        if i % label_every == 0 or (i == n - 1 and i % label_every > label_every // 2):
            x = left + i * slot + slot / 2
            parts.append(
                f'<text x="{x:.1f}" y="{height - 12}" text-anchor="middle" font-size="11" '
                f'fill="#5d6873" {FONT}>{escape(day.isoformat())}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def share_bars(
    items: Sequence[tuple[str, int]],
    title: str,
    colours: dict[str, str] | None = None,
    width: int = 560,
    limit: int = 12,
    href: Href | None = None,
) -> str:
    """Horizontal bars with counts and percentages, largest first; the rest folded into 'other'."""
    rows = [(str(k) if k not in (None, "") else "unknown", int(v)) for k, v in items if v]
    if not rows:
        return empty_chart()
    rows.sort(key=lambda kv: -kv[1])
    if len(rows) > limit:
        rest = sum(v for _, v in rows[limit - 1 :])
        rows = rows[: limit - 1] + [("other", rest)]
    total = sum(v for _, v in rows)
    # Narrow charts (drawn for phones at about their real size) give the labels less room.
    label_w, right = min(180, int(width * 0.32)), min(110, int(width * 0.2))
    max_chars = max(8, label_w // 7)
    row_h = 24
    height = row_h * len(rows) + 8
    plot_w = width - label_w - right
    top_value = max(v for _, v in rows)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">'
    ]
    for i, (label, value) in enumerate(rows):
        y = 4 + i * row_h
        colour = (colours or {}).get(label, PALETTE[i % len(PALETTE)])
        w = max(1.0, plot_w * value / top_value)
        short = label if len(label) <= max_chars else label[: max_chars - 1] + "…"
        bar = (
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" font-size="12" '
            f'fill="#1d232b" {FONT}><title>{escape(label)}</title>{escape(short)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" rx="2" '
            f'fill="{colour}"><title>{escape(label)}: {value}</title></rect>'
        )
        parts.append(_linked(bar, href(label) if href else None, f"{label}: {value}"))
        parts.append(
            f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" font-size="11.5" fill="#5d6873" '
            f"{FONT}>{_fmt(value)} · {100 * value / total:.1f}%</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def stacked_share(
    items: Sequence[tuple[str, int]],
    title: str,
    colours: dict[str, str],
    width: int = 560,
    href: Href | None = None,
) -> str:
    """One 100% bar split by category (e.g. C vs Rust, prevented vs not) with a legend."""
    rows = [(str(k) if k not in (None, "") else "unknown", int(v)) for k, v in items if v]
    if not rows:
        return empty_chart()
    total = sum(v for _, v in rows)
    # The legend wraps onto more lines when the chart is narrow.
    legend: list[tuple[float, int, str, str]] = []  # (x, line, colour, text)
    lx, line = 0.0, 0
    for i, (label, value) in enumerate(rows):
        colour = colours.get(label, PALETTE[i % len(PALETTE)])
        text = f"{label} {100 * value / total:.1f}% ({_fmt(value)})"
        item_w = 30 + 7 * len(text)
        if lx > 0 and lx + item_w - 14 > width:
            lx, line = 0.0, line + 1
        legend.append((lx, line, colour, text))
        lx += item_w
    height = 78 + 20 * line
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">'
    ]
    x = 0.0
    for i, (label, value) in enumerate(rows):
        w = width * value / total
        colour = colours.get(label, PALETTE[i % len(PALETTE)])
        rect = (
            f'<rect x="{x:.1f}" y="4" width="{w:.1f}" height="30" fill="{colour}">'
            f"<title>{escape(label)}: {value}</title></rect>"
        )
        parts.append(_linked(rect, href(label) if href else None, f"{label}: {value}"))
        x += w
    for lx, line, colour, text in legend:
        y = 50 + 20 * line
        parts.append(f'<rect x="{lx:.1f}" y="{y}" width="12" height="12" fill="{colour}"/>')
        parts.append(
            f'<text x="{lx + 16:.1f}" y="{y + 10}" font-size="12" fill="#1d232b" {FONT}>'
            f"{escape(text)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
