"""From a fetched source document to articles on a poll, per source kind (DESIGN §3, §4).

- feed: the entries; with ``full_text`` each NEW entry's page is fetched and
  extracted (stored entries are never fetched again);
- html: the listing page's links (``link_selector``); new ones are fetched and
  extracted;
- sitemap: the URLs (child sitemaps of an index are read, newest first); new
  ones are fetched and extracted, with Google News titles and dates;
- detect (kind omitted): whichever of the above the body is; an HTML page that
  advertises a feed becomes that feed.

The kinds are objects in `monitor.pipeline.kinds`; this module resolves the
kind and sets what the poll must know beyond the articles (whether the
response's validators may be kept).

"New" means not stored yet (`Store.known_keys`): a guid of this source or a
canonical URL of any source. A poll fetches at most `MAX_PAGES_PER_POLL`
article pages, newest first; the other new items are held back (not stored,
so the next poll, scheduled sooner, fetches their pages; `held_back`), and
`newsmon backfill` is for history. A page that
cannot be fetched or extracted is counted in `failed` and left for the next
poll (a feed entry is stored with its feed text instead).
"""

from __future__ import annotations

from monitor.fetch import Response
from monitor.pipeline.harvest import MAX_PAGES_PER_POLL, Collected, Harvest
from monitor.pipeline.kinds import resolve_kind

__all__ = ["MAX_PAGES_PER_POLL", "collect"]


async def collect(response: Response, kind: str | None, h: Harvest) -> Collected:
    """The articles in a fetched source document of `kind` (None: detect it)."""
    resolved = await resolve_kind(
        response,
        kind,
        source=h.name,
        link_selector=h.cfg.link_selector if h.cfg else None,
        fetcher=h.fetcher,
        timeout=h.timeout,
    )
    out = await resolved.kind.collect(resolved.response, h)
    if resolved.advertised:
        out.cacheable = False  # the validators are the page's, not the feed's
    if out.held_back:
        out.cacheable = False  # a 304 next time would strand the held-back items
    return out
