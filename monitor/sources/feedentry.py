"""`Entry` and `ParsedFeed`, and the one reading of a feedparser-shaped result into them.

feedparser and feedparser-rs (`monitor.sources.feedfast`) return the same
shape: a result with ``feed`` and ``entries`` whose items answer ``.get``
with feedparser's keys (``title``, ``title_detail``, ``links``,
``published_parsed``, ...). Both go through `parsed_feed` here, so the two
parsers can differ only in what they read from the XML, never in how it
becomes an `Entry`.
"""

from __future__ import annotations

import calendar
import email.utils
import hashlib
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from monitor.normalize.clean import clean_title

# A URL that urljoin gives back as it is, whatever the base: an http(s) scheme in lower
# case, an ASCII host (no IPv6 brackets), no part that urlsplit drops or rewrites (empty
# query or fragment, ";" parameters, whitespace).
_PLAIN_WEB_URL = re.compile(
    r"https?://[A-Za-z0-9.\-_~%!$&'()*+,=:@]+(?:/[^\s;?#]*)?(?:\?[^\s#]+)?(?:#\S+)?"
)

__all__ = ["Entry", "ParsedFeed", "absolute_url", "hash_guid", "parsed_feed", "plain_web_url"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One item of a feed, with the fields the pipeline needs."""

    guid: str  # entry id, else link, else a hash of title+summary (never empty)
    link: str  # absolute, "" when none
    title: str  # plain text
    summary: str  # as given (may be HTML)
    content: str  # full content as given (may be HTML), "" when none
    author: str | None
    published: datetime | None  # tz-aware UTC; published, else updated


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A parsed feed; `is_feed` is False (and `entries` empty) when the body is no feed."""

    title: str
    entries: tuple[Entry, ...]
    ttl_seconds: int | None  # RSS <ttl>, converted from minutes
    next_url: str | None  # RFC 5005 rel="next", absolute
    is_feed: bool
    warnings: tuple[str, ...]


def parsed_feed(
    feed: Mapping[str, Any],
    items: Iterable[Mapping[str, Any]],
    base: str,
    warnings: tuple[str, ...],
) -> ParsedFeed:
    """The `ParsedFeed` of a feedparser-shaped ``feed`` and ``entries``, links against `base`."""
    return ParsedFeed(
        title=_text_of(feed, "title"),
        entries=tuple(_entry(item, base) for item in items),
        ttl_seconds=_ttl_seconds(feed.get("ttl")),
        next_url=_next_link(feed.get("links"), base),
        is_feed=True,
        warnings=warnings,
    )


def _entry(item: Mapping[str, Any], base: str) -> Entry:
    link = _entry_link(item, base)
    title = _text_of(item, "title")
    summary = _str(item.get("summary"))
    content = _first_content(item.get("content"))
    author_detail = item.get("author_detail") or {}
    author = clean_title(_str(author_detail.get("name")) or _str(item.get("author"))) or None
    published = (
        _utc(item.get("published_parsed"))
        or _utc(item.get("updated_parsed"))
        or _loose_date(item.get("published") or item.get("updated"))
    )
    guid = _str(item.get("id")).strip() or link or hash_guid(title, summary, content)
    return Entry(guid, link, title, summary, content, author, published)


def _entry_link(item: Mapping[str, Any], base: str) -> str:
    link = absolute_url(item.get("link"), base)
    if link:
        return link
    # feedparser only takes an HTML alternate as `link` (else it copies the id);
    # an alternate of another type (a PDF, say) still is the entry's page.
    for candidate in item.get("links") or []:
        if candidate.get("rel", "alternate") == "alternate":
            link = absolute_url(candidate.get("href"), base)
            if link:
                return link
    return ""


def _text_of(node: Mapping[str, Any], field: str) -> str:
    value = _str(node.get(field))
    detail = node.get(f"{field}_detail") or {}
    if detail.get("type") == "text/plain":  # already unescaped; "<" here is a character
        return " ".join(value.split())
    return clean_title(value)


def _first_content(contents: Any) -> str:
    if not isinstance(contents, list) or not contents:
        return ""
    for part in contents:  # prefer markup over a plain-text alternative
        if "html" in _str(part.get("type")):
            return _str(part.get("value"))
    return _str(contents[0].get("value"))


def _utc(parsed: Any) -> datetime | None:
    """feedparser's *_parsed values are UTC struct_times."""
    if not isinstance(parsed, time.struct_time):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _loose_date(raw: Any) -> datetime | None:
    """RFC 822 dates in another language's weekday ("mer, 16 nov 2022 ..."), which
    feedparser rejects although day, month and time are in English form."""
    text = _str(raw).strip()
    if not text:
        return None
    _, comma, rest = text.partition(",")
    try:
        moment = email.utils.parsedate_to_datetime(rest if comma else text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _ttl_seconds(value: Any) -> int | None:
    # feedparser gives the element's text, feedparser-rs an int
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else _str(value)
    try:
        minutes = int(text.strip())
    except ValueError:
        return None
    return minutes * 60 if minutes >= 0 else None


def _next_link(links: Any, base: str) -> str | None:
    for link in links if isinstance(links, list) else []:
        if link.get("rel") == "next" and _str(link.get("href")).strip():
            return absolute_url(link.get("href"), base)
    return None


def hash_guid(title: str, summary: str, content: str) -> str:
    """The guid of an entry without id or link: a hash of what it says."""
    # Content joins in only when there is nothing else, so that an edit to the
    # body of an entry with a title does not make it a new entry.
    basis = f"{title}\n{summary}" if title or summary else content
    return "sha256:" + hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()


def absolute_url(link: Any, base: str) -> str:
    """`link` resolved against `base`; "" unless that is a web URL (not e.g. a tag: id)."""
    text = _str(link).strip()
    if not text:
        return ""
    if plain_web_url(text):
        return text  # what urljoin would return, without its cost
    try:
        absolute = urljoin(base, text)
    except ValueError:
        return ""
    return absolute if absolute.lower().startswith(("http://", "https://")) else ""


def plain_web_url(link: str) -> bool:
    """True when urljoin gives `link` back as it is, whatever the base (and cheaply)."""
    return _PLAIN_WEB_URL.fullmatch(link) is not None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""
