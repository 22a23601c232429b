"""Plain-text rendering, and what every channel's rendering shares.

The shared parts: whether an alert shows as a list, its title, the email
subject line, an item's title and meta line. The plain text serves the email
text part, services without our markup, and the console (text and JSON).
Article text is escaped by `notifiers.markup`; sizes are bounded by
`notifiers.bounds`: a list that does not fit ends in "… and N more".
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from notifiers.bounds import TEXT_MAX_BYTES, bounded, fit_count, more_line, utf8_size
from notifiers.markup import Spans, clean_text, format_time, mark_spans, one_line, shorten
from notifiers.types import Alert, AlertItem, Rendered

__all__ = [
    "alert_title",
    "email_subject",
    "is_combined",
    "item_meta",
    "item_title",
    "render_console",
    "render_console_json",
    "render_text",
    "text_body",
]


def is_combined(alert: Alert) -> bool:
    """True when the alert is shown as a list (combined, digest, or several items)."""
    return alert.kind != "instant" or len(alert.items) != 1


def alert_title(alert: Alert) -> str:
    """The article title for an instant alert, else `N new matches`."""
    if not is_combined(alert):
        return item_title(alert.items[0])
    n = len(alert.items)
    return f"{n} new match" if n == 1 else f"{n} new matches"


def email_subject(alert: Alert) -> str:
    """`[newsmon] <rule>: <title>` on one line."""
    return f"[newsmon] {one_line(alert.rule)}: {shorten(alert_title(alert), 200)}"


def item_title(item: AlertItem) -> str:
    return one_line(item.title) or one_line(item.url) or "(untitled)"


def item_meta(item: AlertItem, *, terms: bool) -> str:
    """Outlets (the item's own, then "also in: ..." for the story's others), publication
    time and (optionally) the matched terms, as plain text."""
    parts: list[str] = []
    outlets = [one_line(o) for o in item.outlets if one_line(o)]
    if outlets:
        first, others = outlets[0], outlets[1:]
        parts.append(shorten(first, 60))
        if others:
            shown = ", ".join(shorten(o, 60) for o in others[:5])
            more = f" +{len(others) - 5} more" if len(others) > 5 else ""
            parts.append(f"also in: {shown}{more}")
    if item.published_at is not None:
        parts.append(format_time(item.published_at))
    if terms and item.terms:
        parts.append("matched: " + ", ".join(shorten(one_line(t), 60) for t in item.terms[:10]))
    return " · ".join(parts)


def _text_mark(snippet: str, spans: Spans) -> str:
    return mark_spans(clean_text(snippet), spans, escape=str, open_mark="«", close_mark="»")


def _text_item(item: AlertItem) -> list[str]:
    lines = [item_title(item)]
    snippet = _text_mark(item.snippet, item.spans).strip()
    lines += [snippet] if snippet else []
    url = one_line(item.url)
    lines += [url] if url else []
    meta = item_meta(item, terms=True)
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


def text_body(alert: Alert, budget: int, most: int | None = None) -> str:
    if not is_combined(alert):
        return "\n".join([*_text_item(alert.items[0]), "", f"rule: {one_line(alert.rule)}"])
    head = f"{alert_title(alert)} for {one_line(alert.rule)}"
    return "\n\n".join(_fitted(head, _numbered(alert), budget, "\n\n", most))


def render_text(alert: Alert, budget: int = TEXT_MAX_BYTES) -> Rendered:
    """Plain text for services without our markup: title is the email subject."""
    alert = bounded(alert)
    body = text_body(alert, budget - utf8_size(email_subject(alert)))
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
