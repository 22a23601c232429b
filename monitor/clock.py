"""Times as newsmon prints them.

Machines get ISO 8601 in UTC with a Z (JSON, CSV, JSON lines: DESIGN §9);
people get `settings.timezone` (tables, alerts, digests, summaries) and, in
tables, how long ago or how soon ("3 h ago", "in 12 min"). Everything here is
pure: the zone and `now` are passed in.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

__all__ = [
    "duration_words",
    "from_iso",
    "iso",
    "local_time",
    "relative",
    "table_time",
    "zone",
]


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, e.g. 2023-09-13T06:30:00Z; None stays None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    text = value.astimezone(UTC).isoformat(timespec="seconds")
    return text.replace("+00:00", "Z")


def from_iso(text: str) -> datetime | None:
    """The datetime of an `iso` string (None when `text` is not one)."""
    if len(text) < 20 or not text.endswith("Z") or text[10] != "T":
        return None
    try:
        return datetime.fromisoformat(text[:-1] + "+00:00")
    except ValueError:
        return None


def zone(name: str | None) -> tzinfo:
    """The zone of `settings.timezone` (validated by the config); UTC for None."""
    return ZoneInfo(name) if name and name != "UTC" else UTC


def local_time(moment: datetime, where: tzinfo) -> str:
    """To the minute in `where`, with its abbreviation: 2026-12-07 17:00 +07, 10:00 UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(where)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or 'UTC'}"


_UNITS = ((86400, "d"), (3600, "h"), (60, "min"), (1, "s"))


def relative(moment: datetime, now: datetime) -> str:
    """How far `moment` is from `now` in one unit, rounded down: "in 12 min", "3 h ago"."""
    seconds = int((moment - now).total_seconds())
    size = abs(seconds)
    if size < 1:
        return "now"
    # Days from 2 days on, hours from 2 hours on: "90 min ago" says more than "1 h ago".
    for unit, name in _UNITS:
        if size >= (2 * unit if unit > 60 else unit):
            amount = f"{size // unit} {name}"
            return f"in {amount}" if seconds > 0 else f"{amount} ago"
    raise AssertionError("unreachable")  # pragma: no cover


def table_time(moment: datetime, where: tzinfo, now: datetime) -> str:
    """A table cell: the local time and how far it is, e.g. 2026-12-07 17:00 (3 h ago)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{moment.astimezone(where):%Y-%m-%d %H:%M} ({relative(moment, now)})"


def duration_words(seconds: int) -> str:
    """A duration as people say it: 30 days, 12 hours, 1 hour 30 minutes, 45 seconds."""
    parts = []
    rest = seconds
    for unit, name in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        amount, rest = divmod(rest, unit)
        if amount:
            parts.append(f"{amount} {name}" + ("" if amount == 1 else "s"))
    return " ".join(parts) or "0 seconds"
