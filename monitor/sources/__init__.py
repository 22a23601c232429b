"""The parsing stage: bytes of a fetched document to entries, links and pages (pure).

One module per source kind (`feed`, `html` listing pages, `sitemap`), what a
body is (`detect`), byte decoding (`feedbytes`, `encoding`) and article-page
extraction (`extract`). Takes bytes and returns data; imports only
`monitor.normalize` and `monitor.errors`, never fetching or storage.
"""

from monitor.sources.detect import detect_kind, discover_feeds
from monitor.sources.feed import Entry, ParsedFeed, parse_feed
from monitor.sources.html import Listing, parse_listing
from monitor.sources.sitemap import Sitemap, parse_sitemap

__all__ = [
    "Entry",
    "Listing",
    "ParsedFeed",
    "Sitemap",
    "detect_kind",
    "discover_feeds",
    "parse_feed",
    "parse_listing",
    "parse_sitemap",
]
