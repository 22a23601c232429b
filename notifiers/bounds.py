"""Size bounds on rendered messages.

Article fields come from the open web, and rows stored before field limits
existed may hold a title of megabytes; a message must stay small whatever it
holds. Each item's fields are cut first (`bounded`), then a list message keeps
as many leading items as fit the channel's budget and says how many it left
out (`fit_count`, `more_line`). Budgets are in UTF-8 bytes, what a mail server
or webhook receives; Telegram keeps its own limit of 4096 characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from notifiers.markup import shorten
from notifiers.types import Alert, AlertItem

__all__ = [
    "EMAIL_MAX_BYTES",
    "TEXT_MAX_BYTES",
    "bounded",
    "fit_count",
    "more_line",
    "utf8_size",
]

EMAIL_MAX_BYTES = 100 * 1024  # the whole HTML part, and the whole text part
TEXT_MAX_BYTES = 32 * 1024  # other Apprise services (webhooks, chat) and the console
_TITLE_MAX = 1_000  # characters
_SNIPPET_MAX = 1_000
_URL_MAX = 2_048


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _cut(text: str, limit: int) -> str:
    # Slice before `shorten` collapses anything: a 10 MB title must cost little.
    return text if len(text) <= limit else shorten(text[: limit + 1], limit)


def _bounded_item(item: AlertItem) -> AlertItem:
    return replace(
        item,
        title=_cut(item.title, _TITLE_MAX),
        url=_cut(item.url, _URL_MAX),
        snippet=_cut(item.snippet, _SNIPPET_MAX),  # marks past the cut are dropped
    )  # terms and outlets come from the config, not from fetched documents


def bounded(alert: Alert) -> Alert:
    """`alert` with every item's fields cut to displayable sizes."""
    return replace(alert, items=tuple(_bounded_item(item) for item in alert.items))


def more_line(left_out: int) -> str:
    """The line that ends a list message whose tail did not fit."""
    return f"… and {left_out} more"


def fit_count(blocks: Sequence[int], fixed: int, budget: int, separator: int = 1) -> int:
    """How many leading blocks (sizes given) fit in `budget` next to `fixed` bytes.

    Room is kept for the `more_line` of whatever is left out; at least one
    block is always kept (its fields are bounded already).
    """
    if fixed + sum(separator + block for block in blocks) <= budget:
        return len(blocks)
    size = fixed
    for count, block in enumerate(blocks):
        left_out = len(blocks) - count - 1
        tail = separator + utf8_size(more_line(left_out)) if left_out else 0
        if count and size + separator + block + tail > budget:
            return count
        size += separator + block
    return len(blocks)
