"""Crontab expressions: validated and translated to APScheduler's field syntax.

Pure; the scheduler builds its `CronTrigger` from a `CronFields`. Why not
`CronTrigger.from_crontab`: in APScheduler 3.x weekday 0 is Monday, while in
cron (and in every crontab a user will paste) 0 and 7 are Sunday, so
``0 8 * * 1-5`` would fire Tuesday to Saturday. Weekdays are therefore
translated to names here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CronFields", "parse_crontab"]

_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_ITEM = re.compile(r"(?P<base>\*|\?|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/(?P<step>[0-9]+))?")
# name, lowest, highest, value names (index 0 = lowest)
_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("weekday", 0, 7, _WEEKDAYS),
)


@dataclass(frozen=True, slots=True)
class CronFields:
    """The five fields in APScheduler `CronTrigger` syntax (weekdays as names)."""

    minute: str
    hour: str
    day: str
    month: str
    day_of_week: str


def _value(text: str, field: str, low: int, high: int, names: tuple[str, ...]) -> int:
    if text.isdigit():
        value = int(text)
    elif text in names:
        value = names.index(text) + low
    else:
        raise ValueError(f"{field} '{text}' is not a number or a name")
    if not low <= value <= high:
        raise ValueError(f"{field} {value} is out of range {low}-{high}")
    return value


def _expand(text: str, field: str, low: int, high: int, names: tuple[str, ...]) -> set[int]:
    """The values one comma-separated field selects."""
    values: set[int] = set()
    for item in text.split(","):
        match = _ITEM.fullmatch(item)
        if match is None:
            raise ValueError(f"{field} '{item}' is not a value, range or step")
        base, step = match["base"], int(match["step"] or 1)
        if step < 1:
            raise ValueError(f"{field} step must be at least 1")
        if base in ("*", "?"):
            first, last = low, high
        elif "-" in base:
            start, end = base.split("-")
            first = _value(start, field, low, high, names)
            last = _value(end, field, low, high, names)
            if first > last and names is _WEEKDAYS and last == 0:
                last = 7  # sat-sun: Sunday as the week's end
            if first > last:
                raise ValueError(f"{field} range '{base}' runs backwards")
        else:
            first = _value(base, field, low, high, names)
            last = high if match["step"] else first
        values.update(range(first, last + 1, step))
    return values


def parse_crontab(expr: str) -> CronFields:
    """Validate a five-field crontab expression (``0 8 * * 1-5``); ValueError says what is wrong."""
    fields = expr.lower().split()
    if len(fields) != 5:
        raise ValueError(
            "expected 5 fields (minute hour day month weekday, "
            f'e.g. "0 8 * * *"), got {len(fields)}'
        )
    bad = re.search(r"[^0-9a-z*,/?\-\s]", expr.lower())
    if bad:
        raise ValueError(f"unexpected character '{bad.group()}'")
    expanded = [
        _expand(text, name, low, high, names)
        for text, (name, low, high, names) in zip(fields, _FIELDS, strict=True)
    ]
    if fields[2] not in ("*", "?") and fields[4] not in ("*", "?"):
        # cron fires when either matches, APScheduler only when both do: refuse the ambiguity.
        raise ValueError("give a day of month or a weekday, not both")
    minute, hour, day, month, _ = (
        _join(values, spec) for values, spec in zip(expanded, _FIELDS, strict=True)
    )
    days = {v % 7 for v in expanded[4]}
    return CronFields(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week="*" if len(days) == 7 else ",".join(_WEEKDAYS[d] for d in sorted(days)),
    )


def _join(values: set[int], spec: tuple[str, int, int, tuple[str, ...]]) -> str:
    """Explicit values, so APScheduler reads exactly what cron would."""
    _, low, high, _ = spec
    return "*" if values >= set(range(low, high + 1)) else ",".join(map(str, sorted(values)))
