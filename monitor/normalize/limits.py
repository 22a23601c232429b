"""Size limits on the fields of an article.

A fetched document decides how long its fields are; a feed with a 10 MB title
would otherwise be folded, tokenised, stored and sent whole. The article
builders (`monitor.pipeline.articles`, `monitor.pipeline.collect`) bound each field twice: the
raw markup before it is cleaned (so cleaning a huge title costs little), and
the clean text after it. A URL cannot be cut without naming another page, so
an entry with a longer one is skipped, with a reason (`url_problem`).
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_MAX_BODY",
    "ELLIPSIS",
    "MAX_AUTHOR",
    "MAX_SUMMARY",
    "MAX_TITLE",
    "MAX_URL",
    "clip",
    "raw_bound",
    "url_problem",
]

MAX_TITLE = 1_000  # characters
MAX_SUMMARY = 10_000
MAX_AUTHOR = 200
MAX_URL = 2_048
DEFAULT_MAX_BODY = 1024 * 1024  # characters; `settings.max_body`
ELLIPSIS = "…"
# Markup may be mostly tags and entities, so the raw text may be this many times
# longer than the clean limit and still be worth cleaning.
_MARKUP_ALLOWANCE = 8


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in "…" when it was cut.

    The cut never leaves half a surrogate pair (text decoded with
    ``surrogatepass`` can hold them) and prefers the last word boundary in the
    final tenth, so a headline does not end mid-word.
    """
    if len(text) <= limit:
        return text
    end = max(limit - len(ELLIPSIS), 0)
    space = text.rfind(" ", end - end // 10, end)
    if space > 0:
        end = space
    if end and "\ud800" <= text[end - 1] <= "\udbff":
        end -= 1
    return text[:end].rstrip() + ELLIPSIS


def raw_bound(markup: str, limit: int) -> str:
    """`markup` cut to what can hold `limit` characters of text, before it is cleaned."""
    bound = limit * _MARKUP_ALLOWANCE
    if len(markup) <= bound:
        return markup
    end = bound
    if "\ud800" <= markup[end - 1] <= "\udbff":
        end -= 1
    return markup[:end]


def url_problem(url: str) -> str | None:
    """Why an entry with this link cannot become an article, or None."""
    if len(url) > MAX_URL:
        return f"URL of {len(url):,} characters (limit {MAX_URL:,}): {url[:80]}…"
    return None
