"""What a response is (feed, sitemap or HTML page) and which feeds an HTML page advertises.

Both functions are pure. Detection looks at the body first and the
Content-Type last: servers label feeds ``text/html`` and pages ``text/xml``.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml import html as lxml_html

from monitor.sources.encoding import decode_html
from monitor.sources.feed import looks_like_feed
from monitor.sources.feedbytes import root_name
from monitor.sources.sitemap import looks_like_sitemap

__all__ = ["FEED_TYPES", "Kind", "detect_kind", "discover_feeds"]

Kind = Literal["feed", "sitemap", "html", "unknown"]
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/rdf+xml",
)


def detect_kind(body: bytes, content_type: str | None = None) -> Kind:
    """Classify a response body."""
    if looks_like_feed(body):
        return "feed"
    if looks_like_sitemap(body):
        return "sitemap"
    root = root_name(body).lower()
    if root == "html" or b"<html" in body[:4096].lower():
        return "html"
    if content_type and "html" in content_type.lower():
        return "html"
    return "unknown"


def discover_feeds(body: bytes, *, url: str, content_type: str | None = None) -> list[str]:
    """Absolute URLs of the feeds a page advertises with ``<link rel="alternate">``, in order.

    Comment feeds (WordPress puts one on every article) come last.
    """
    try:
        tree = lxml_html.document_fromstring(decode_html(body, content_type))
    except (etree.ParserError, ValueError):
        return []
    feeds: list[str] = []
    comments: list[str] = []
    base = url
    for node in tree.iterfind(".//base"):
        if node.get("href"):
            base = urljoin(url, node.get("href").strip())
            break
    for link in tree.iterfind(".//link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        href = (link.get("href") or "").strip()
        if "alternate" not in rel or kind not in FEED_TYPES or not href:
            continue
        target = urljoin(base, href)
        if urlsplit(target).scheme not in ("http", "https") or target in feeds + comments:
            continue
        title = (link.get("title") or "").lower()
        (comments if "comment" in title or "/comments/" in target else feeds).append(target)
    return feeds + comments
