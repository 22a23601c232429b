"""Sitemaps to URL lists: urlset, sitemapindex, text, robots.txt and feeds-as-sitemaps.

`parse_sitemap` is pure. It reads what real servers send rather than what the
protocol says: gzip is recognised by its magic bytes, not by the ``.gz`` name
(some ``.gz`` files are plain, some compressed files have no ``.gz``); element
names are matched by local name, so a wrong namespace still works; ``<loc>``
values lose their whitespace (CDATA is fine), and an entry without ``<loc>``
is read from its own text; a malformed file yields the
entries that could be recovered. Google News extensions give each URL a title
and a publication timestamp. RSS/Atom used as a sitemap (sitemaps.org allows
it) is read with the feed parser.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from lxml import etree

from monitor.errors import ParseError
from monitor.sources.extract import parse_date
from monitor.sources.feed import looks_like_feed, parse_feed
from monitor.sources.feedbytes import root_name, strip_doctype

__all__ = [
    "MAX_CHILD_SITEMAPS",
    "Sitemap",
    "SitemapUrl",
    "gunzip",
    "looks_like_sitemap",
    "newest_first",
    "parse_sitemap",
]

MAX_CHILD_SITEMAPS = 3  # per poll (and check): the newest children of a sitemap index

_ROOTS = frozenset({"urlset", "sitemapindex"})
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True, slots=True)
class SitemapUrl:
    """One ``<url>`` (an article) or ``<sitemap>`` (a child sitemap)."""

    url: str
    lastmod: datetime | None = None
    title: str | None = None  # news:title
    published: datetime | None = None  # news:publication_date (or a feed entry's date)

    @property
    def when(self) -> datetime | None:
        """The best date for ordering and windows: publication, else last modification.

        Not an article date: ``lastmod`` changes with every edit or comment.
        """
        return self.published or self.lastmod


@dataclass(frozen=True, slots=True)
class Sitemap:
    """A parsed sitemap: article URLs (`urls`) and/or child sitemaps (`sitemaps`)."""

    kind: Literal["urlset", "index", "text", "feed", "robots"]
    urls: tuple[SitemapUrl, ...] = ()
    sitemaps: tuple[SitemapUrl, ...] = ()


def newest_first(entries: Iterable[SitemapUrl]) -> list[SitemapUrl]:
    """The entries newest first by `SitemapUrl.when`; undated ones last, in order."""
    return sorted(entries, key=lambda e: -e.when.timestamp() if e.when else 0.0)


def gunzip(body: bytes, max_bytes: int = 50 * 1024 * 1024) -> bytes:
    """The body, inflated when it is gzip data (whatever its name), at most `max_bytes`."""
    if not body.startswith(_GZIP_MAGIC):
        return body
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        out = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise ParseError(f"sitemap: cannot decompress gzip data: {exc}") from None
    if len(out) > max_bytes:
        raise ParseError(f"sitemap: larger than {max_bytes} bytes once decompressed")
    return out


def looks_like_sitemap(body: bytes) -> bool:
    """Cheap sniff: a urlset or sitemapindex root, after gunzip."""
    try:
        head = gunzip(body[:65536] if not body.startswith(_GZIP_MAGIC) else body)
    except ParseError:
        return False
    return root_name(head).rpartition(":")[2] in _ROOTS


def parse_sitemap(body: bytes, *, url: str, max_bytes: int = 50 * 1024 * 1024) -> Sitemap:
    """Parse a sitemap fetched from `url`; ParseError when it is none of the known kinds."""
    data = gunzip(body, max_bytes)
    root = root_name(data).rpartition(":")[2]
    if root in _ROOTS:
        return _parse_xml(data, url)
    if looks_like_feed(data):
        feed = parse_feed(data, url=url)
        urls = tuple(SitemapUrl(e.link, published=e.published) for e in feed.entries if e.link)
        return Sitemap("feed", urls=urls)
    text = data.decode("utf-8", "replace").removeprefix("\ufeff")
    if not text.lstrip().startswith("<"):
        lines = [line.strip() for line in text.splitlines()]
        robots = [
            line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("sitemap:")
        ]
        if robots:
            return Sitemap("robots", sitemaps=tuple(SitemapUrl(u) for u in robots if _http(u)))
        urls = tuple(SitemapUrl(line) for line in lines if _http(line))
        if urls:
            return Sitemap("text", urls=urls)
    raise ParseError(f"sitemap: {url}: not a sitemap (no urlset or sitemapindex, no URL list)")


def _parse_xml(data: bytes, url: str) -> Sitemap:
    parser = etree.XMLParser(
        recover=True, resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True
    )
    try:
        root = etree.fromstring(strip_doctype(data), parser)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"sitemap: {url}: unreadable XML ({exc})") from None
    if root is None:
        raise ParseError(f"sitemap: {url}: unreadable XML")
    urls: list[SitemapUrl] = []
    sitemaps: list[SitemapUrl] = []
    for node in root.iter():
        name = _local(node)
        if name not in ("url", "sitemap"):
            continue
        entry = _entry(node)
        if entry is not None:
            (urls if name == "url" else sitemaps).append(entry)
    kind: Literal["urlset", "index"] = "index" if _local(root) == "sitemapindex" else "urlset"
    return Sitemap(kind, urls=tuple(urls), sitemaps=tuple(sitemaps))


def _entry(node: Any) -> SitemapUrl | None:
    loc = lastmod = title = published = None
    for child in node:
        name = _local(child)
        if name == "loc":
            loc = "".join((child.text or "").split())
        elif name == "lastmod":
            lastmod = parse_date(child.text or "")
        elif name == "news":
            for item in child.iter():
                item_name = _local(item)
                if item_name == "title" and item.text and item.text.strip():
                    title = " ".join(item.text.split())
                elif item_name == "publication_date":
                    published = parse_date(item.text or "")
    if loc is None:
        # Some indexes put the URL straight inside <sitemap>/<url>, with no <loc>.
        loc = "".join((node.text or "").split())
    if not loc or not _http(loc):
        return None
    return SitemapUrl(loc, lastmod=lastmod, title=title, published=published)


def _local(node: Any) -> str:
    tag = node.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _http(text: str) -> bool:
    return text.startswith(("http://", "https://")) and len(text) > 8
