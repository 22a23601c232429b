"""Pure text helpers for rendering: cleaning, span marking, escaping, safe links, fitting.

Article text is untrusted. Every renderer goes through these helpers, which
escape the text segment by segment first and only then wrap the hit spans in
markup of our own, so nothing in a title, snippet or URL can open a tag.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

__all__ = [
    "ELLIPSIS",
    "Spans",
    "clean_text",
    "escape_html",
    "fit_marked",
    "format_time",
    "mark_spans",
    "normalise_spans",
    "one_line",
    "safe_href",
    "shorten",
]

ELLIPSIS = "…"

Spans = Sequence[tuple[int, int]]

# C0/C1 controls (newlines, ESC, CSI ...) and Unicode line separators become a
# space one for one, so span offsets into the snippet stay valid and no
# terminal escape or stray line break from a feed reaches any channel.
_CONTROLS = {
    **{c: " " for c in range(0x00, 0x20)},
    **{c: " " for c in range(0x7F, 0xA0)},
    0x2028: " ",
    0x2029: " ",
}

# Characters left as they are in an href; everything else is percent-encoded.
# No quote, apostrophe, angle bracket, backtick or space can survive.
_HREF_SAFE = "/:?#[]@!$&()*+,;=%-._~"


def clean_text(text: str) -> str:
    """`text` with every control character replaced by a space (same length)."""
    return text.translate(_CONTROLS)


def one_line(text: str) -> str:
    """`text` cleaned and with runs of whitespace collapsed to single spaces."""
    return " ".join(clean_text(text).split())


def shorten(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in an ellipsis when cut."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ELLIPSIS[:limit]
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit * 3 // 4:  # prefer a word boundary when one is close
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def escape_html(text: str) -> str:
    """Escape text for an HTML (or Telegram HTML) text node: `&`, `<`, `>`."""
    return html.escape(text, quote=False)


def normalise_spans(spans: Iterable[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    """Spans clipped to [0, length), empty ones dropped, overlapping or touching ones merged."""
    clipped = sorted(
        (max(0, start), min(length, end))
        for start, end in spans
        if min(length, end) > max(0, start)
    )
    merged: list[tuple[int, int]] = []
    for start, end in clipped:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def mark_spans(
    text: str,
    spans: Iterable[tuple[int, int]],
    *,
    escape: Callable[[str], str],
    open_mark: str,
    close_mark: str,
) -> str:
    """`text` escaped segment by segment, with each hit span wrapped in our marks."""
    out: list[str] = []
    pos = 0
    for start, end in normalise_spans(spans, len(text)):
        out.append(escape(text[pos:start]))
        out.append(open_mark + escape(text[start:end]) + close_mark)
        pos = end
    out.append(escape(text[pos:]))
    return "".join(out)


def fit_marked(
    snippet: str,
    spans: Spans,
    budget: int,
    render: Callable[[str, Spans], str],
    *,
    measure: Callable[[str], int] = len,
) -> str:
    """`render(snippet, spans)`, the snippet cut (never the markup) so the result fits `budget`.

    When the snippet must be cut, the window starts shortly before the first
    hit so the hit stays visible, and cut ends are marked with an ellipsis.
    """
    whole = render(snippet, spans)
    if measure(whole) <= budget:
        return whole
    if budget <= 0:
        return ""
    norm = normalise_spans(spans, len(snippet))
    start = 0
    if norm and norm[0][0] > 60:
        space = snippet.rfind(" ", 0, norm[0][0] - 40)
        start = space + 1 if space >= 0 else norm[0][0] - 40
    head = ELLIPSIS if start else ""
    body = snippet[start:]
    shifted = [(s - start + len(head), e - start + len(head)) for s, e in norm]

    def attempt(k: int) -> str:
        text = head + body[:k].rstrip()
        return render(text + ELLIPSIS, [(s, min(e, len(text))) for s, e in shifted])

    # Rendered length grows with k, so the longest prefix that fits is found by bisection.
    lo, hi = 0, len(body)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if measure(attempt(mid)) <= budget:
            lo = mid
        else:
            hi = mid - 1
    space = body.rfind(" ", 0, lo)
    if space > 0 and lo - space < 30:  # end on a word boundary when one is close
        lo = space
    result = attempt(lo)
    return result if measure(result) <= budget else ""


def safe_href(url: str) -> str | None:
    """An http(s) URL made safe for a double-quoted HTML attribute, or None.

    Other schemes (javascript:, data:, ...) give None: the caller shows the URL
    as text instead of linking it.
    """
    cleaned = one_line(url).strip()
    try:
        scheme = urlsplit(cleaned).scheme.lower()
    except ValueError:
        return None
    if scheme not in ("http", "https"):
        return None
    return html.escape(quote(cleaned, safe=_HREF_SAFE), quote=False)


def format_time(moment: datetime) -> str:
    """A timestamp for people, to the minute, in the moment's own zone (naive: UTC):
    2026-12-07 17:00 +07. `Channels` moves times into the configured zone first."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname() or 'UTC'}"
