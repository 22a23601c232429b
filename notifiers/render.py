"""Message rendering per channel family: pure functions of an `Alert`.

- email: subject `[newsmon] <rule>: <title>`, an HTML part (hits in <mark>)
  and a plain-text part (hits marked «like this»);
- Telegram: its HTML subset (<b>, <i>, <a href>), one message per instant
  alert, combined and digest alerts split into parts, never over 4096;
- other services and the console: plain text.

Article text is escaped everywhere (see `notifiers.markup`), and every message
is bounded (see `notifiers.bounds`): a list that does not fit ends in
"… and N more".
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from notifiers.bounds import (
    EMAIL_MAX_BYTES,
    TEXT_MAX_BYTES,
    bounded,
    fit_count,
    more_line,
    utf8_size,
)
from notifiers.markup import (
    Spans,
    clean_text,
    escape_html,
    fit_marked,
    format_time,
    mark_spans,
    one_line,
    safe_href,
    shorten,
)
from notifiers.types import Alert, AlertItem, Rendered

__all__ = [
    "TELEGRAM_MAX_CHARS",
    "EmailMessageParts",
    "alert_title",
    "email_subject",
    "is_combined",
    "render_console",
    "render_console_json",
    "render_email",
    "render_telegram_parts",
    "render_text",
    "telegram_length",
]

TELEGRAM_MAX_CHARS = 4096
_COMBINED_ITEM_MAX = 1600  # characters: one story must not crowd the others out of a digest
# Telegram layouts from richest to leanest: (title chars, URL chars shown, link, meta).
# The leanest always fits, however long the title, URL or outlet list.
_TG_LAYOUTS = ((300, 100, True, True), (120, 60, True, False), (40, 60, False, False))


@dataclass(frozen=True, slots=True)
class EmailMessageParts:
    """An email as data: the subject and both alternative bodies."""

    subject: str
    html: str
    text: str


def is_combined(alert: Alert) -> bool:
    """True when the alert is shown as a list (combined, digest, or several items)."""
    return alert.kind != "instant" or len(alert.items) != 1


def alert_title(alert: Alert) -> str:
    """The article title for an instant alert, else `N new matches`."""
    if not is_combined(alert):
        return _title(alert.items[0])
    n = len(alert.items)
    return f"{n} new match" if n == 1 else f"{n} new matches"


def email_subject(alert: Alert) -> str:
    """`[newsmon] <rule>: <title>` on one line."""
    return f"[newsmon] {one_line(alert.rule)}: {shorten(alert_title(alert), 200)}"


def _title(item: AlertItem) -> str:
    return one_line(item.title) or one_line(item.url) or "(untitled)"


def _meta(item: AlertItem, *, terms: bool) -> str:
    """Outlets, publication time and (optionally) the matched terms, as plain text."""
    parts: list[str] = []
    outlets = [one_line(o) for o in item.outlets if one_line(o)]
    if outlets:
        shown = ", ".join(shorten(o, 60) for o in outlets[:5])
        parts.append(shown + (f" +{len(outlets) - 5} more" if len(outlets) > 5 else ""))
    if item.published_at is not None:
        parts.append(format_time(item.published_at))
    if terms and item.terms:
        parts.append("matched: " + ", ".join(shorten(one_line(t), 60) for t in item.terms[:10]))
    return " · ".join(parts)


# --- plain text (email text part, other services, console) -----------------


def _text_mark(snippet: str, spans: Spans) -> str:
    return mark_spans(clean_text(snippet), spans, escape=str, open_mark="«", close_mark="»")


def _text_item(item: AlertItem) -> list[str]:
    lines = [_title(item)]
    snippet = _text_mark(item.snippet, item.spans).strip()
    lines += [snippet] if snippet else []
    url = one_line(item.url)
    lines += [url] if url else []
    meta = _meta(item, terms=True)
    lines += [meta] if meta else []
    return lines


def _numbered(alert: Alert) -> list[str]:
    blocks = []
    for n, item in enumerate(alert.items, 1):
        first, *rest = _text_item(item)
        indent = " " * (len(str(n)) + 2)
        blocks.append("\n".join([f"{n}. {first}", *(indent + line for line in rest)]))
    return blocks


def _fitted(
    head: str, blocks: list[str], budget: int, separator: str, most: int | None = None
) -> list[str]:
    """`head`, then the leading blocks (at most `most`) that fit in `budget` bytes,
    then "… and N more"."""
    sizes = [utf8_size(block) for block in blocks]
    kept = fit_count(sizes, utf8_size(head), budget, len(separator))
    kept = kept if most is None else min(kept, most)
    left_out = len(blocks) - kept
    return [head, *blocks[:kept], *([more_line(left_out)] if left_out else [])]


def _text_body(alert: Alert, budget: int, most: int | None = None) -> str:
    if not is_combined(alert):
        return "\n".join([*_text_item(alert.items[0]), "", f"rule: {one_line(alert.rule)}"])
    head = f"{alert_title(alert)} for {one_line(alert.rule)}"
    return "\n\n".join(_fitted(head, _numbered(alert), budget, "\n\n", most))


def render_text(alert: Alert, budget: int = TEXT_MAX_BYTES) -> Rendered:
    """Plain text for services without our markup: title is the email subject."""
    alert = bounded(alert)
    body = _text_body(alert, budget - utf8_size(email_subject(alert)))
    return Rendered(title=email_subject(alert), body=body, body_format="text")


def render_console(alert: Alert, budget: int = TEXT_MAX_BYTES) -> str:
    """The alert as printed on the console: the subject line, then the details indented."""
    alert = bounded(alert)
    if not is_combined(alert):
        lines = _text_item(alert.items[0])[1:]
        return "\n".join([email_subject(alert), *("  " + line for line in lines)])
    blocks = ["\n".join("  " + line for line in b.split("\n")) for b in _numbered(alert)]
    return "\n".join(_fitted(email_subject(alert), blocks, budget, "\n"))


def render_console_json(alert: Alert, now: datetime, budget: int = TEXT_MAX_BYTES) -> str:
    """The alert as one JSON line, shaped like newsmon's JSON log lines (event "alert").

    Items that do not fit in `budget` are counted in "omitted".
    """
    alert = bounded(alert)
    items = [
        {
            "title": item.title,
            "url": item.url,
            "snippet": item.snippet,
            "terms": list(item.terms),
            "outlets": list(item.outlets),
            "published_at": item.published_at.astimezone(UTC)
            .isoformat(timespec="seconds")
            .replace("+00:00", "Z")
            if item.published_at
            else None,
        }
        for item in alert.items
    ]
    doc: dict[str, object] = {
        "timestamp": now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": "info",
        "logger": "newsmon.alert",
        "event": "alert",
        "rule": alert.rule,
        "kind": alert.kind,
        "subject": email_subject(alert),
        "items": [],
    }
    sizes = [utf8_size(json.dumps(item, ensure_ascii=False)) for item in items]
    fixed = utf8_size(json.dumps(doc, ensure_ascii=False)) + len(', "omitted": 000000')
    kept = fit_count(sizes, fixed, budget, len(", "))
    doc["items"] = items[:kept]
    if kept < len(items):
        doc["omitted"] = len(items) - kept
    return json.dumps(doc, ensure_ascii=False)


# --- email HTML ---------------------------------------------------------------

_GREY = "color:#666;font-size:13px"


def _html_mark(snippet: str, spans: Spans) -> str:
    return mark_spans(
        clean_text(snippet), spans, escape=html.escape, open_mark="<mark>", close_mark="</mark>"
    )


def _html_item(item: AlertItem) -> str:
    href = safe_href(item.url)
    title = html.escape(_title(item))
    heading = f'<a href="{href}">{title}</a>' if href else title
    out = [f'<h3 style="margin:0 0 4px;font-size:17px">{heading}</h3>']
    snippet = _html_mark(item.snippet, item.spans).strip()
    if snippet:
        out.append(f'<p style="margin:0 0 4px">{snippet}</p>')
    footer = []
    if one_line(item.url):
        shown = html.escape(shorten(one_line(item.url), 100))
        footer.append(f'<a href="{href}">{shown}</a>' if href else shown)
    meta = _meta(item, terms=True)
    footer += [html.escape(meta)] if meta else []
    if footer:
        out.append(f'<p style="margin:0;{_GREY}">{" · ".join(footer)}</p>')
    return '<div style="margin:0 0 18px">' + "\n".join(out) + "</div>"


def render_email(alert: Alert, budget: int = EMAIL_MAX_BYTES) -> EmailMessageParts:
    """Subject, HTML part and text part of the email for `alert`, each within `budget` bytes."""
    alert = bounded(alert)
    subject = email_subject(alert)
    lead = f"newsmon · rule <b>{html.escape(one_line(alert.rule))}</b>"
    if is_combined(alert):
        lead += f" · {html.escape(alert_title(alert))}"
    blocks = [_html_item(item) for item in alert.items]
    room = budget - 1024  # the page around the items
    kept = fit_count([utf8_size(b) for b in blocks], utf8_size(lead + subject), room)
    if kept < len(blocks):
        left_out = html.escape(more_line(len(blocks) - kept))
        blocks = [*blocks[:kept], f'<p style="margin:0;{_GREY}">{left_out}</p>']
    items = "\n".join(blocks)
    page = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head>\n"
        '<body style="font-family:Arial,Helvetica,sans-serif;font-size:15px;'
        'line-height:1.4;color:#222">\n'
        f'<p style="margin:0 0 12px;{_GREY}">{lead}</p>\n{items}\n</body></html>\n'
    )
    text = _text_body(alert, budget - 1, most=kept)  # the same items in both parts
    return EmailMessageParts(subject=subject, html=page, text=text + "\n")


# --- Telegram HTML --------------------------------------------------------------


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
        head = f"<b>{escape_html(shorten(_title(item), title_max))}</b>"
        footer = f"<i>{escape_html(shorten(one_line(alert.rule), title_max))}</i>"
        details = _meta(item, terms=False) if meta else ""
        footer += f" · {escape_html(details)}" if details else ""
        link = _tg_link(item.url, url_max, linked=linked)
        return head, [*([link] if link else []), footer]

    return _tg_block(fixed, item, limit)


def _tg_item(n: int, item: AlertItem, budget: int) -> str:
    def fixed(title_max: int, url_max: int, linked: bool, meta: bool) -> tuple[str, list[str]]:
        head = f"{n}. <b>{escape_html(shorten(_title(item), title_max))}</b>"
        tail = [_tg_link(item.url, url_max, linked=linked)]
        details = _meta(item, terms=False) if meta else ""
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
