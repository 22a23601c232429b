"""Feed parsing: RSS 0.9x/1.0/2.0, Atom 0.3/1.0, RDF and JSON Feed bytes to `ParsedFeed`.

`parse_feed` never raises. A body that is not a feed (an HTML page, an
unrelated XML or JSON document, nothing at all) comes back as
``ParsedFeed(is_feed=False, entries=())`` with a warning saying what it looked
like; the caller decides whether that is an error for its source (a `feed`
source) or a cue to look elsewhere (kind detection). Malformed but readable
feeds are recovered and carry warnings.

XML goes through feedparser, after `monitor.sources.feedbytes` has removed any
DOCTYPE (entity bombs), supplied a charset for undeclared legacy
encodings, and cleaned UTF-8 bodies with a few stray bytes (which feedparser
would decode whole as windows-1252). JSON Feed (1.0 and 1.1) is read with
`json`; feedparser does not know it.
"""

from __future__ import annotations

import calendar
import email.utils
import hashlib
import io
import json
import time
import xml.sax
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from monitor.normalize.clean import clean_title
from monitor.sources.feedbytes import repair_utf8, root_name, strip_doctype

__all__ = ["Entry", "ParsedFeed", "looks_like_feed", "parse_feed"]

_FEED_ROOTS = frozenset({"rss", "feed", "RDF"})
_JSONFEED_VERSION = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")


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


def looks_like_feed(body: bytes) -> bool:
    """Cheap sniff: an RSS, Atom or RDF root element, or a JSON Feed object."""
    root = root_name(body)
    if root == "{":
        return b"jsonfeed.org/version" in body[:4096]
    return root.rpartition(":")[2] in _FEED_ROOTS


def parse_feed(body: bytes, *, url: str, headers: Mapping[str, str] | None = None) -> ParsedFeed:
    """Parse a feed body fetched from `url` (whose response `headers` help decoding)."""
    try:
        if root_name(body) == "{":
            return _parse_json_feed(body, url)
        return _parse_xml_feed(body, url, headers or {})
    except Exception as exc:  # hostile input meets third-party code here; never crash a poll
        return _not_a_feed(f"parser failed: {type(exc).__name__}: {exc}")


def _not_a_feed(reason: str) -> ParsedFeed:
    return ParsedFeed("", (), None, None, False, (reason,))


def _parse_xml_feed(body: bytes, url: str, given: Mapping[str, str]) -> ParsedFeed:
    headers = {key.lower(): value for key, value in given.items()}
    # Without a Content-Type feedparser assumes ISO-8859-1 and flags the feed;
    # application/xml means "trust the BOM / XML declaration, else UTF-8".
    headers.setdefault("content-type", "application/xml")
    # feedparser resolves relative links against Content-Location only.
    headers["content-location"] = urljoin(url, headers.get("content-location", ""))
    body = strip_doctype(body)
    body, charset = repair_utf8(body, headers["content-type"])
    if charset:
        headers["content-type"] = f"{headers['content-type'].split(';')[0]}; charset={charset}"
    # Content becomes plain text later (scripts and styles dropped there), so
    # feedparser need not sanitise the HTML inside it: a third of its time.
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers, sanitize_html=False)
    if not parsed.get("version"):
        return _not_a_feed(_what_it_looks_like(body))
    base = headers["content-location"]
    feed = parsed.get("feed", {})
    entries = tuple(_entry_from_feedparser(item, base) for item in parsed.get("entries", []))
    return ParsedFeed(
        title=_text_of(feed, "title"),
        entries=entries,
        ttl_seconds=_ttl_seconds(feed.get("ttl")),
        next_url=_next_link(feed.get("links", []), base),
        is_feed=True,
        warnings=_warnings(parsed),
    )


def _what_it_looks_like(body: bytes) -> str:
    root = root_name(body)
    if root.lower() in ("html", "head", "body") or root == "":
        if b"<html" in body[:4096].lower() or b"<body" in body[:4096].lower():
            return "not a feed (looks like HTML)"
        if not body.strip():
            return "not a feed (empty body)"
        return "not a feed (no XML root element)"
    return f"not a feed (root element <{root}>)"


def _entry_from_feedparser(item: Mapping[str, Any], base: str) -> Entry:
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
    guid = _str(item.get("id")).strip() or link or _hash_guid(title, summary, content)
    return Entry(guid, link, title, summary, content, author, published)


def _entry_link(item: Mapping[str, Any], base: str) -> str:
    link = _absolute(item.get("link"), base)
    if link:
        return link
    # feedparser only takes an HTML alternate as `link` (else it copies the id);
    # an alternate of another type (a PDF, say) still is the entry's page.
    for candidate in item.get("links") or []:
        if candidate.get("rel", "alternate") == "alternate":
            link = _absolute(candidate.get("href"), base)
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
    try:
        minutes = int(_str(value).strip())
    except ValueError:
        return None
    return minutes * 60 if minutes >= 0 else None


def _next_link(links: Any, base: str) -> str | None:
    for link in links if isinstance(links, list) else []:
        if link.get("rel") == "next" and _str(link.get("href")).strip():
            return _absolute(link.get("href"), base)
    return None


def _warnings(parsed: Mapping[str, Any]) -> tuple[str, ...]:
    if not parsed.get("bozo"):
        return ()
    exc = parsed.get("bozo_exception")
    if isinstance(exc, xml.sax.SAXException):
        return (f"malformed XML (recovered): {exc}",)
    if isinstance(exc, feedparser.CharacterEncodingOverride | feedparser.CharacterEncodingUnknown):
        return (f"encoding: {exc}",)
    if isinstance(exc, feedparser.NonXMLContentType):
        return (f"content type: {exc}",)
    return (f"{type(exc).__name__}: {exc}",)


def _parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    try:
        doc = json.loads(body.decode("utf-8-sig", "replace"))
    except (ValueError, RecursionError) as exc:
        return _not_a_feed(f"not a feed (invalid JSON: {exc})")
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not version.startswith(_JSONFEED_VERSION):
        return _not_a_feed("not a feed (JSON without a jsonfeed.org version)")
    items = doc.get("items")
    entries = tuple(
        _entry_from_json(item, url)
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, dict)
    )
    next_url = _str(doc.get("next_url")).strip()
    return ParsedFeed(
        title=" ".join(_str(doc.get("title")).split()),
        entries=entries,
        ttl_seconds=None,
        next_url=_absolute(next_url, url) or None,
        is_feed=True,
        warnings=(),
    )


def _entry_from_json(item: Mapping[str, Any], base: str) -> Entry:
    link = _absolute(item.get("url") or item.get("external_url"), base)
    title = " ".join(_str(item.get("title")).split())
    summary = _str(item.get("summary"))
    content = _str(item.get("content_html")) or _str(item.get("content_text"))
    authors = item.get("authors")
    first = authors[0] if isinstance(authors, list) and authors else item.get("author")
    author = " ".join(_str(first.get("name")).split()) if isinstance(first, dict) else ""
    published = _iso_utc(item.get("date_published")) or _iso_utc(item.get("date_modified"))
    raw_id = item.get("id")
    guid = str(raw_id).strip() if isinstance(raw_id, str | int) else ""
    guid = guid or link or _hash_guid(title, summary, content)
    return Entry(guid, link, title, summary, content, author or None, published)


def _iso_utc(value: Any) -> datetime | None:
    """RFC 3339 as JSON Feed requires; a time without an offset is taken as UTC."""
    try:
        moment = datetime.fromisoformat(_str(value).strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _hash_guid(title: str, summary: str, content: str) -> str:
    # Content joins in only when there is nothing else, so that an edit to the
    # body of an entry with a title does not make it a new entry.
    basis = f"{title}\n{summary}" if title or summary else content
    return "sha256:" + hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()


def _absolute(link: Any, base: str) -> str:
    """`link` resolved against `base`; "" unless that is a web URL (not e.g. a tag: id)."""
    link = _str(link).strip()
    if not link:
        return ""
    try:
        absolute = urljoin(base, link)
    except ValueError:
        return ""
    return absolute if absolute.lower().startswith(("http://", "https://")) else ""


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""
