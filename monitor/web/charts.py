"""Small inline SVG charts rendered on the server: pure functions of counts.

No script, no inline style: shapes carry classes the stylesheet colours, and
each bar a ``<title>`` a browser shows on hover. Every label is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from markupsafe import Markup, escape

from storage.types import DayCount, HourCount

__all__ = [
    "Series",
    "bar_chart",
    "day_labels",
    "day_offset",
    "day_series",
    "epoch_day",
    "hour_labels",
    "hour_series",
]

WIDTH, HEIGHT = 300, 60


@dataclass(frozen=True, slots=True)
class Series:
    """One row of bars: its name (shown on hover), values and CSS class."""

    name: str
    values: Sequence[int]
    css: str = "bar"


def bar_chart(series: Sequence[Series], labels: Sequence[str], *, title: str) -> Markup:
    """Bars per label; later series are drawn over earlier ones (errors over polls).

    The scale is shared, so a smaller series reads as the part of a larger one.
    """
    count = max((len(s.values) for s in series), default=0)
    top = max((v for s in series for v in s.values), default=0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="none" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<line class="axis" x1="0" y1="{HEIGHT - 0.5}" x2="{WIDTH}" y2="{HEIGHT - 0.5}"/>',
    ]
    if count and top:
        step = WIDTH / count
        gap = min(1.0, step / 4)
        for s in series:
            for i, value in enumerate(s.values):
                if value <= 0:
                    continue
                h = max(value / top * (HEIGHT - 2), 1.0)
                label = labels[i] if i < len(labels) else str(i)
                parts.append(
                    f'<rect class="{escape(s.css)}" x="{i * step + gap / 2:.2f}" '
                    f'y="{HEIGHT - h:.2f}" width="{step - gap:.2f}" height="{h:.2f}">'
                    f"<title>{escape(label)}: {value} {escape(s.name)}</title></rect>"
                )
    parts.append("</svg>")
    return Markup("".join(parts))


def day_offset(now: datetime, zone: tzinfo) -> int:
    """The display timezone's UTC offset now, in seconds (days start at local midnight)."""
    delta = now.astimezone(zone).utcoffset() or timedelta(0)
    return int(delta.total_seconds())


def epoch_day(moment: datetime, offset: int) -> int:
    """Days since 1970-01-01 of `moment` in a zone `offset` seconds from UTC."""
    return (int(moment.timestamp()) + offset) // 86400


def day_series(counts: Iterable[DayCount], first: int, days: int) -> dict[str, list[int]]:
    """Per key, `days` counts from day `first` on (missing days are 0), keys sorted."""
    table: dict[str, list[int]] = {}
    for row in counts:
        if first <= row.day < first + days:
            table.setdefault(row.key, [0] * days)[row.day - first] += row.count
    return dict(sorted(table.items()))


def day_labels(first: int, days: int) -> list[str]:
    """``2025-03-01`` for each day from day `first` (days since the epoch)."""
    start = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=first)
    return [(start + timedelta(days=i)).strftime("%Y-%m-%d") for i in range(days)]


def hour_series(counts: Iterable[HourCount], first: int, hours: int) -> tuple[list[int], list[int]]:
    """Polls and failed polls for each of `hours` hours from hour `first` (epoch hours)."""
    polls, errors = [0] * hours, [0] * hours
    for row in counts:
        if first <= row.hour < first + hours:
            polls[row.hour - first] += row.polls
            errors[row.hour - first] += row.errors
    return polls, errors


def hour_labels(first: int, hours: int, zone: tzinfo) -> list[str]:
    """``03-01 15:00`` (local time) for each hour from epoch hour `first`."""
    start = datetime.fromtimestamp(first * 3600, UTC)
    return [
        (start + timedelta(hours=i)).astimezone(zone).strftime("%m-%d %H:00") for i in range(hours)
    ]
