"""Pure helpers the pages render with: local and relative times, safe links, marked snippets.

News text is hostile: these return `Markup` only for strings they built
themselves from escaped parts; everything else goes to Jinja2 as plain text
and is escaped there.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from markupsafe import Markup, escape

from notifiers.markup import clean_text, mark_spans, safe_href

__all__ = [
    "PAGE_SIZE",
    "error_stage",
    "href",
    "local_time",
    "marked_snippet",
    "page_window",
    "relative_time",
    "since_days",
    "source_order",
    "today_start",
]

PAGE_SIZE = 25


def local_time(moment: datetime | None, zone: tzinfo) -> str:
    """``2025-03-01 15:30`` in the display timezone, or an em dash for never."""
    if moment is None:
        return "—"
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def relative_time(moment: datetime | None, now: datetime) -> str:
    """``3 min ago``, ``in 2 h``, ``just now``: how far `moment` is from `now`."""
    if moment is None:
        return "never"
    seconds = (moment - now).total_seconds()
    size = abs(seconds)
    if size < 45:
        return "just now"
    unit, length = next(
        ((unit, length) for unit, length in (("d", 86400), ("h", 3600)) if size >= length),
        ("min", 60),
    )
    text = f"{max(round(size / length), 1)} {unit}"
    return f"in {text}" if seconds > 0 else f"{text} ago"


def today_start(now: datetime, zone: tzinfo) -> datetime:
    """Midnight of `now`'s day in the display timezone."""
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def error_stage(error: str | None) -> tuple[str, str]:
    """A stored error split into its stage and the rest: ``fetch: x: HTTP 503`` ->
    (``fetch``, ``x: HTTP 503``); an error without a known stage has stage ``""``."""
    if not error:
        return "", ""
    stage, sep, rest = error.partition(": ")
    if sep and stage.isidentifier() and len(stage) <= 20:
        return stage, rest
    return "", error


def href(url: str) -> Markup | None:
    """An http(s) URL safe in a double-quoted attribute, or None: the page shows it as text.

    `javascript:`, `data:` and every other scheme never become a live link.
    """
    safe = safe_href(url)
    return Markup(safe) if safe is not None else None


def marked_snippet(snippet: str, spans: tuple[tuple[int, int], ...]) -> Markup:
    """The snippet escaped piece by piece, its hits wrapped in ``<mark>``."""
    text = mark_spans(
        snippet,
        spans,
        escape=lambda part: str(escape(clean_text(part))),
        open_mark="<mark>",
        close_mark="</mark>",
    )
    return Markup(text)


def source_order(status: str, name: str) -> tuple[int, str]:
    """Failing sources first (error, then backoff), then the rest, by name."""
    rank = {"error": 0, "backoff": 1}.get(status, 2)
    return rank, name


def page_window(page: int, size: int = PAGE_SIZE) -> tuple[int, int]:
    """(offset, limit) of page `page` (1-based)."""
    page = max(page, 1)
    return (page - 1) * size, size


def since_days(now: datetime, days: int) -> datetime:
    """`days` whole days before `now`."""
    return now - timedelta(days=days)
