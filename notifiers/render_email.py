"""The email rendering: subject, an HTML part (hits in <mark>) and a plain-text part.

Both parts hold the same items: the text part is `notifiers.render_text`'s,
cut to the items that fit in the HTML part.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from notifiers.bounds import EMAIL_MAX_BYTES, bounded, fit_count, more_line, utf8_size
from notifiers.markup import Spans, clean_text, mark_spans, one_line, safe_href, shorten
from notifiers.render_text import (
    alert_title,
    email_subject,
    is_combined,
    item_meta,
    item_title,
    text_body,
)
from notifiers.types import Alert, AlertItem

__all__ = ["EmailMessageParts", "render_email"]


@dataclass(frozen=True, slots=True)
class EmailMessageParts:
    """An email as data: the subject and both alternative bodies."""

    subject: str
    html: str
    text: str


_GREY = "color:#666;font-size:13px"


def _html_mark(snippet: str, spans: Spans) -> str:
    return mark_spans(
        clean_text(snippet), spans, escape=html.escape, open_mark="<mark>", close_mark="</mark>"
    )


def _html_item(item: AlertItem) -> str:
    href = safe_href(item.url)
    title = html.escape(item_title(item))
    heading = f'<a href="{href}">{title}</a>' if href else title
    out = [f'<h3 style="margin:0 0 4px;font-size:17px">{heading}</h3>']
    snippet = _html_mark(item.snippet, item.spans).strip()
    if snippet:
        out.append(f'<p style="margin:0 0 4px">{snippet}</p>')
    footer = []
    if one_line(item.url):
        shown = html.escape(shorten(one_line(item.url), 100))
        footer.append(f'<a href="{href}">{shown}</a>' if href else shown)
    meta = item_meta(item, terms=True)
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
    text = text_body(alert, budget - 1, most=kept)  # the same items in both parts
    return EmailMessageParts(subject=subject, html=page, text=text + "\n")
