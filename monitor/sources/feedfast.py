"""The fast path of XML feed parsing: feedparser-rs, used only where it reads as feedparser does.

feedparser-rs is 10-100 times faster than feedparser but reads some feeds
differently: entities left in links, a feed's author copied into its entries,
an empty ``<dc:creator/>`` taking the next element's text, relative ids that
feedparser resolves, bytes that feedparser decodes in another charset. So
`read_fast` answers either the `ParsedFeed` feedparser would give (through
the same `monitor.sources.feedentry.parsed_feed`) or the reason it cannot
vouch for that, and the caller then asks feedparser. The checks are cheap
next to feedparser itself:

- before parsing (`monitor.sources.feedprobe`): both would decode the body
  alike (UTF-8, ASCII or declared ISO-8859-1) and feedparser would not
  complain about its Content-Type; expat (feedparser's strict parser,
  namespaces on) finds it well-formed, else feedparser reports it malformed
  ("bozo") and reads it with its loose parser; no item has two titles,
  summaries or authors, whose order the two parsers weigh differently;
- after: feedparser-rs itself found no problem and as many entries as the
  body has item/entry tags, no resource limit of feedparser-rs was reached,
  and no value is one that feedparser would have rewritten or read otherwise
  (`monitor.sources.feedrewrite`, and `_entry` here). Where feedparser's
  rewriting is known exactly (entities in attribute values, relative ids, no
  inherited author) it is done here.

Summary and content are the same HTML up to serialisation: feedparser
re-serialises markup while resolving relative links in it (``<br>`` becomes
``<br />``), feedparser-rs keeps it as written. Their plain text, which is
all the pipeline reads of them (`monitor.normalize.clean.html_to_text`), is
the same.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from monitor.sources.feedentry import ParsedFeed, absolute_url, parsed_feed
from monitor.sources.feedprobe import (
    codec_problem,
    guid_permalinks,
    item_layout,
    layout_problem,
    malformed,
)
from monitor.sources.feedrewrite import (
    base_free,
    feedparser_urljoin,
    link_problem,
    markup_problem,
    name_problem,
    text_problem,
    title_problem,
    xml_attribute,
)

__all__ = ["read_fast"]


def _feedparser_rs() -> ModuleType | None:
    try:
        import feedparser_rs
    except ImportError:  # a runtime dependency, but feedparser can still read every feed
        return None
    return feedparser_rs


_RS = _feedparser_rs()
_LIMITS = _RS.ParserLimits() if _RS is not None else None
_ENTRY_FIELDS = (
    "id", "link", "links", "title", "title_detail", "summary", "content", "author", "authors",
    "author_detail", "published", "published_parsed", "updated", "updated_parsed",
)  # fmt: skip
_TIME = r"(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?"  # no leap second, no 24:00
_MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
# Dates whose reading is not in doubt: RFC 822 with an English weekday and a
# numeric or UTC zone, RFC 3339 and its date alone (midnight UTC). feedparser
# reads more, each its own way.
_PLAIN_DATE = re.compile(
    rf"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{{1,2}} {_MONTH} \d{{4}}"
    rf" {_TIME} (?:[+-]\d{{4}}|GMT|UTC|UT|Z)"
    rf"|\d{{4}}-\d{{2}}-\d{{2}}(?:T{_TIME}(?:\.\d+)?(?:Z|[+-]\d{{2}}:\d{{2}}))?"
)


def read_fast(body: bytes, content_type: str, base: str) -> ParsedFeed | str:
    """The feed as feedparser would read it, or why feedparser-rs's reading is not used.

    `body` has been through `monitor.sources.feedbytes` (no DOCTYPE, repaired
    UTF-8); `content_type` is the one feedparser is given; links resolve
    against `base`.
    """
    if _RS is None:
        return "feedparser-rs is not installed"
    codec, reason = codec_problem(body, content_type)
    reason = reason or layout_problem(body) or malformed(body, codec)
    if reason:
        return reason
    authored, reason = item_layout(body)
    if reason:
        return reason
    try:
        result = _RS.parse(
            body.removeprefix(codecs.BOM_UTF8), sanitize_html=False, resolve_relative_uris=False
        )
    except Exception as exc:  # a Rust panic arrives as an exception; feedparser gets its turn
        return f"feedparser-rs failed: {type(exc).__name__}"
    if result.bozo:
        return f"feedparser-rs: {result.bozo_exception}"
    if not result.version:
        return "feedparser-rs found no feed"
    if len(result.entries) != len(authored):
        return f"feedparser-rs found {len(result.entries)} entries for {len(authored)} item tags"
    permalinks = guid_permalinks(body, len(authored))
    return _read(result, _Ids(base, result.version, body, permalinks), authored)


class _Ids:
    """How feedparser resolves ids and links of this feed (mixin.pop, urls._urljoin)."""

    def __init__(
        self, base: str, version: str, body: bytes, permalinks: list[bool | None] | None
    ) -> None:
        self.base = base
        self.atom = version.startswith("atom")
        # xml:base: feedparser resolves against it, feedparser-rs does not
        self.rebased = b"xml:base" in body
        # feedparser resolves the ids that may be permalinks: every Atom id and every
        # RSS guid whose isPermaLink attribute does not say otherwise (`permalinks`,
        # per item; None: in doubt); RDF ids (rdf:about) never
        self.rss = version.startswith("rss") and version not in ("rss090", "rss10")
        self.permalinks = permalinks

    def guid(self, raw: str, index: int) -> str | None:
        """feedparser's id for feedparser-rs's `raw` one of the `index`th entry (from 1),
        None if that is in doubt."""
        if self.rebased:
            return raw if base_free(raw) else None
        resolved = feedparser_urljoin(self.base, raw)
        if resolved == raw:
            return raw
        if self.atom:
            return resolved or None
        permalink = self.permalinks[index - 1] if self.rss and self.permalinks else None
        if permalink is None:
            return None
        return (resolved or None) if permalink else raw

    def href(self, raw: str, *, attribute: bool) -> str | None:
        """feedparser's link for feedparser-rs's `raw` one, None if that is in doubt."""
        href = xml_attribute(raw) if attribute else raw
        if self.rebased and href and not base_free(href):
            return None
        return href


def _read(result: Any, ids: _Ids, authored: list[bool]) -> ParsedFeed | str:
    feed = result.feed
    links = _links(feed.get("links"), ids, "max_links_per_feed")
    if isinstance(links, str):
        return f"feed: {links}"
    reason = title_problem(_str(feed.get("title")))
    if reason:
        return f"feed: {reason}"
    feed_view = {
        "title": feed.get("title"),
        "title_detail": feed.get("title_detail"),
        "ttl": feed.get("ttl"),
        "links": links,
    }
    feed_authors = _names(feed.get("authors"))
    entries = []
    for index, entry in enumerate(result.entries, 1):
        view = _entry(entry, ids, feed_authors, index=index, authored=authored[index - 1])
        if isinstance(view, str):
            return f"entry {index}: {view}"
        entries.append(view)
    parsed = parsed_feed(feed_view, entries, ids.base, ())
    for index, (entry, view) in enumerate(zip(parsed.entries, entries, strict=True), 1):
        # the guid of an entry without id or link hashes its summary as given,
        # which feedparser gives re-serialised when it holds markup
        if not entry.link and not view["id"].strip() and _markup_in(view):
            return f"entry {index}: no id or link, and markup in the summary it is known by"
    return parsed


def _entry(
    entry: Any, ids: _Ids, feed_authors: list[str], *, index: int, authored: bool
) -> dict[str, Any] | str:
    """The entry as feedparser would give it, or why that is in doubt.

    `index`: its place among the entries, from 1; `authored`: the entry has an
    author element of its own.
    """
    # each get() builds new Python objects from Rust ones: once per field
    view = {field: entry.get(field) for field in _ENTRY_FIELDS}
    contents = [
        {"type": _str(c.get("type")), "value": _str(c.get("value"))} for c in view["content"] or []
    ]
    links = _links(view["links"], ids, "max_links_per_entry")
    if isinstance(links, str):
        return links
    reason = (
        _limit_reached(contents, "max_content_blocks")
        or _limit_reached(view["authors"], "max_authors")
        or title_problem(_str(view["title"]))
    )
    if reason:
        return reason
    raw_id, raw_link = _str(view["id"]), _str(view["link"])
    if raw_id and not absolute_url(raw_link, ids.base):
        return "an id and no web link"  # feedparser may take a permalink guid as the link
    guid = ids.guid(raw_id, index) if raw_id else ""
    link = ids.href(raw_link, attribute=ids.atom)
    if guid is None or link is None:
        return f"id {raw_id[:60]!r} or link {raw_link[:60]!r} that feedparser resolves"
    reason = link_problem(guid) or link_problem(link)
    if reason:
        return reason
    if not authored:
        # feedparser-rs copies the feed's author into entries without one, feedparser not
        if _names(view["authors"]) not in ([], feed_authors):
            return "an author but no author element"
        view.update(author=None, author_detail=None, authors=[])
    author = _str(view["author"])
    reason = name_problem(author)
    for markup in (_str(view["summary"]), *(c["value"] for c in contents)):
        reason = reason or text_problem(markup) or markup_problem(markup)
    if reason:
        return reason
    for field in ("published", "updated"):
        raw = _str(view[field]).strip()
        if raw and (view[f"{field}_parsed"] is None or not _PLAIN_DATE.fullmatch(raw)):
            return f"{field} date {raw[:40]!r}"
    view.update(id=guid, link=link, links=links, content=contents, author=author)
    return view


def _links(links: Any, ids: _Ids, limit: str) -> list[dict[str, str]] | str:
    """feedparser's `links` for feedparser-rs's, or why they are in doubt."""
    links = links or []
    reason = _limit_reached(links, limit)
    if reason:
        return reason
    view = []
    for link in links:
        rel, raw = _str(link.get("rel")), _str(link.get("href"))
        if not raw:
            return "a link without href"
        # RSS <link> is element text, every other link an attribute
        href = ids.href(raw, attribute=ids.atom or rel != "alternate")
        reason = "a link feedparser resolves" if href is None else link_problem(href)
        if reason:
            return reason
        view.append({"rel": rel, "href": href or ""})
    return view


def _markup_in(entry: Mapping[str, Any]) -> bool:
    texts = (_str(entry["summary"]), *(part["value"] for part in entry["content"]))
    return any("<" in text or "&" in text for text in texts)


def _limit_reached(values: Any, limit: str) -> str | None:
    """feedparser-rs stops reading a list at its limit; feedparser reads on."""
    cap = getattr(_LIMITS, limit, None)
    if isinstance(values, list) and isinstance(cap, int) and len(values) >= cap:
        return f"feedparser-rs limit {limit}"
    return None


def _names(authors: Any) -> list[str]:
    return [_str(person.get("name")) for person in authors or []]


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""
