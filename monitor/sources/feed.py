"""Feed parsing: RSS 0.9x/1.0/2.0, Atom 0.3/1.0, RDF and JSON Feed bytes to `ParsedFeed`.

`parse_feed` never raises. A body that is not a feed (an HTML page, an
unrelated XML or JSON document, nothing at all) comes back as
``ParsedFeed(is_feed=False, entries=())`` with a warning saying what it looked
like; the caller decides whether that is an error for its source (a `feed`
source) or a cue to look elsewhere (kind detection). Malformed but readable
feeds are recovered and carry warnings.

XML is read after `monitor.sources.feedbytes` has removed any DOCTYPE
(entity bombs), supplied a charset for undeclared legacy encodings, and
cleaned UTF-8 bodies with a few stray bytes (which feedparser would decode
whole as windows-1252). feedparser-rs reads it where its reading is checked
to be feedparser's (`monitor.sources.feedfast`), feedparser everywhere else;
one debug line per feed says which did and why. JSON Feed (1.0 and 1.1) is
read with `json`; feedparser does not know it.
"""

from __future__ import annotations

import io
import json
import logging
import xml.sax
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from monitor.sources.feedbytes import repair_utf8, root_name, strip_doctype
from monitor.sources.feedentry import Entry, ParsedFeed, absolute_url, hash_guid, parsed_feed
from monitor.sources.feedfast import read_fast

__all__ = ["Entry", "FeedReading", "ParsedFeed", "looks_like_feed", "parse_feed", "read_feed"]

log = logging.getLogger("newsmon.feed")

_FEED_ROOTS = frozenset({"rss", "feed", "RDF"})
_JSONFEED_VERSION = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")


@dataclass(frozen=True, slots=True)
class FeedReading:
    """A parsed feed and who read it: "feedparser-rs", "feedparser" or "json"."""

    feed: ParsedFeed
    parser: str
    fallback: str | None  # why feedparser-rs's reading was not used, None if it was not tried


def looks_like_feed(body: bytes) -> bool:
    """Cheap sniff: an RSS, Atom or RDF root element, or a JSON Feed object."""
    root = root_name(body)
    if root == "{":
        return b"jsonfeed.org/version" in body[:4096]
    return root.rpartition(":")[2] in _FEED_ROOTS


def parse_feed(body: bytes, *, url: str, headers: Mapping[str, str] | None = None) -> ParsedFeed:
    """Parse a feed body fetched from `url` (whose response `headers` help decoding)."""
    return read_feed(body, url=url, headers=headers).feed


def read_feed(
    body: bytes, *, url: str, headers: Mapping[str, str] | None = None, fast: bool = True
) -> FeedReading:
    """`parse_feed` saying which parser read the feed; `fast=False` asks feedparser alone."""
    try:
        if root_name(body) == "{":
            return FeedReading(_parse_json_feed(body, url), "json", None)
        return _read_xml_feed(body, url, headers or {}, fast=fast)
    except Exception as exc:  # hostile input meets third-party code here; never crash a poll
        failed = _not_a_feed(f"parser failed: {type(exc).__name__}: {exc}")
        return FeedReading(failed, "none", None)


def _not_a_feed(reason: str) -> ParsedFeed:
    return ParsedFeed("", (), None, None, False, (reason,))


def _read_xml_feed(body: bytes, url: str, given: Mapping[str, str], *, fast: bool) -> FeedReading:
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
    fallback = None
    if fast:
        read = read_fast(body, headers["content-type"], headers["content-location"])
        if isinstance(read, ParsedFeed):
            log.debug("%s: read by feedparser-rs", url)
            return FeedReading(read, "feedparser-rs", None)
        fallback = read
        log.debug("%s: read by feedparser (%s)", url, fallback)
    return FeedReading(_feedparser(body, headers), "feedparser", fallback)


def _feedparser(body: bytes, headers: dict[str, str]) -> ParsedFeed:
    # Content becomes plain text later (scripts and styles dropped there), so
    # feedparser need not sanitise the HTML inside it: a third of its time.
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers, sanitize_html=False)
    if not parsed.get("version"):
        return _not_a_feed(_what_it_looks_like(body))
    base = headers["content-location"]
    return parsed_feed(parsed.get("feed", {}), parsed.get("entries", []), base, _warnings(parsed))


def _what_it_looks_like(body: bytes) -> str:
    root = root_name(body)
    if root.lower() in ("html", "head", "body") or root == "":
        if b"<html" in body[:4096].lower() or b"<body" in body[:4096].lower():
            return "not a feed (looks like HTML)"
        if not body.strip():
            return "not a feed (empty body)"
        return "not a feed (no XML root element)"
    return f"not a feed (root element <{root}>)"


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
        next_url=absolute_url(next_url, url) or None,
        is_feed=True,
        warnings=(),
    )


def _entry_from_json(item: Mapping[str, Any], base: str) -> Entry:
    link = absolute_url(item.get("url") or item.get("external_url"), base)
    title = " ".join(_str(item.get("title")).split())
    summary = _str(item.get("summary"))
    content = _str(item.get("content_html")) or _str(item.get("content_text"))
    authors = item.get("authors")
    first = authors[0] if isinstance(authors, list) and authors else item.get("author")
    author = " ".join(_str(first.get("name")).split()) if isinstance(first, dict) else ""
    published = _iso_utc(item.get("date_published")) or _iso_utc(item.get("date_modified"))
    raw_id = item.get("id")
    guid = str(raw_id).strip() if isinstance(raw_id, str | int) else ""
    guid = guid or link or hash_guid(title, summary, content)
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


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""
