"""The Telegram rendering: its HTML subset (<b>, <i>, <a href>), never over 4096 characters.

One message per instant alert; combined and digest alerts are split into
parts, each item in the richest layout that leaves room for its snippet.
Lengths are counted as Telegram counts them (UTF-16 code units).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from notifiers.markup import (
    Spans,
    clean_text,
    escape_html,
    fit_marked,
    mark_spans,
    one_line,
    safe_href,
    shorten,
)
from notifiers.render_text import alert_title, is_combined, item_meta, item_title
from notifiers.types import Alert, AlertItem

__all__ = ["TELEGRAM_MAX_CHARS", "render_telegram_parts", "telegram_length"]

TELEGRAM_MAX_CHARS = 4096
_COMBINED_ITEM_MAX = 1600  # characters: one story must not crowd the others out of a digest
# Telegram layouts from richest to leanest: (title chars, URL chars shown, link, meta).
# The leanest always fits, however long the title, URL or outlet list.
_TG_LAYOUTS = ((300, 100, True, True), (120, 60, True, False), (40, 60, False, False))


def telegram_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units): never less than `len`."""
    return len(text.encode("utf-16-le")) // 2


def _tg_mark(snippet: str, spans: Spans) -> str:
    return mark_spans(snippet, spans, escape=escape_html, open_mark="<b>", close_mark="</b>")


def _tg_link(url: str, shown_max: int, *, linked: bool) -> str:
    shown = escape_html(shorten(one_line(url), shown_max))
    href = safe_href(url) if linked else None
    return f'<a href="{href}">{shown}</a>' if href and shown else shown


def _tg_block(
    fixed: Callable[[int, int, bool, bool], tuple[str, list[str]]],
    item: AlertItem,
    budget: int,
) -> str:
    """Head line, snippet and tail lines of one item, within `budget` characters.

    `fixed(title_max, url_max, linked, meta)` gives the head line and tail lines
    of a layout; the richest layout that leaves room for the snippet wins.
    """
    for title_max, url_max, linked, meta in _TG_LAYOUTS:
        head, tail = fixed(title_max, url_max, linked, meta)
        size = telegram_length("\n".join([head, *tail]))
        if size < budget:
            break
    snippet = fit_marked(
        clean_text(item.snippet), item.spans, budget - size - 1, _tg_mark, measure=telegram_length
    ).strip()
    return "\n".join([head, *([snippet] if snippet else []), *tail])


def _tg_instant(alert: Alert, limit: int) -> str:
    item = alert.items[0]

    def fixed(title_max: int, url_max: int, linked: bool, meta: bool) -> tuple[str, list[str]]:
        head = f"<b>{escape_html(shorten(item_title(item), title_max))}</b>"
        footer = f"<i>{escape_html(shorten(one_line(alert.rule), title_max))}</i>"
        details = item_meta(item, terms=False) if meta else ""
        footer += f" · {escape_html(details)}" if details else ""
        link = _tg_link(item.url, url_max, linked=linked)
        return head, [*([link] if link else []), footer]

    return _tg_block(fixed, item, limit)


def _tg_item(n: int, item: AlertItem, budget: int) -> str:
    def fixed(title_max: int, url_max: int, linked: bool, meta: bool) -> tuple[str, list[str]]:
        head = f"{n}. <b>{escape_html(shorten(item_title(item), title_max))}</b>"
        tail = [_tg_link(item.url, url_max, linked=linked)]
        details = item_meta(item, terms=False) if meta else ""
        tail += [escape_html(details)] if details else []
        return head, [" · ".join(t for t in tail if t)] if any(tail) else []

    return _tg_block(fixed, item, budget)


def _pack(
    header: Callable[[int, int], str], blocks: Sequence[str], limit: int
) -> list[tuple[str, int]]:
    """Blocks under a repeated header, greedily packed in order into parts of at most `limit`.

    Each part comes with how many blocks it holds, so a sender knows which
    items a failed part leaves undelivered.
    """
    reserve = telegram_length(header(len(blocks), len(blocks)))  # the widest counter
    groups: list[list[str]] = [[]]
    size = reserve
    for block in blocks:
        extra = 1 + telegram_length(block)
        if groups[-1] and size + extra > limit:
            groups.append([])
            size = reserve
        groups[-1].append(block)
        size += extra
    return [("\n".join([header(i, len(groups)), *g]), len(g)) for i, g in enumerate(groups, 1)]


def render_telegram_parts(alert: Alert, limit: int = TELEGRAM_MAX_CHARS) -> list[tuple[str, int]]:
    """Telegram HTML messages with how many of the alert's items each holds, in item order."""
    if not is_combined(alert):
        return [(_tg_instant(alert, limit), 1)]
    rule = escape_html(shorten(one_line(alert.rule), 200))
    title = f"[newsmon] {rule}: {alert_title(alert)}"

    def header(i: int, n: int) -> str:
        return f"<b>{title}</b>" + (f" ({i}/{n})" if n > 1 else "")

    room = limit - telegram_length(header(len(alert.items), len(alert.items))) - 1
    blocks = [
        _tg_item(n, item, min(room, _COMBINED_ITEM_MAX)) for n, item in enumerate(alert.items, 1)
    ]
    return _pack(header, blocks, limit)
