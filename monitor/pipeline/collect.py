"""From a fetched source document to articles, per source kind (DESIGN §3, §4).

- feed: the entries; with ``full_text`` each NEW entry's page is fetched and
  extracted (stored entries are never fetched again);
- html: the listing page's links (``link_selector``); new ones are fetched and
  extracted;
- sitemap: the URLs (child sitemaps of an index are read, newest first); new
  ones are fetched and extracted, with Google News titles and dates;
- detect (kind omitted): whichever of the above the body is; an HTML page that
  advertises a feed becomes that feed.

"New" means not stored yet (`Store.known_keys`): a guid of this source or a
canonical URL of any source. A poll fetches at most `MAX_PAGES_PER_POLL`
article pages, newest first; the other new items are held back (not stored,
so the next poll, scheduled sooner, fetches their pages; `held_back`), and
`newsmon backfill` is for history. A page that
cannot be fetched or extracted is counted in `failed` and left for the next
poll (a feed entry is stored with its feed text instead).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from monitor.config.load import SourceConfig
from monitor.errors import MonitorError, ParseError
from monitor.fetch import Fetcher, Response
from monitor.normalize.clean import canonical_url, clean_title, content_hash
from monitor.normalize.limits import (
    DEFAULT_MAX_BODY,
    MAX_AUTHOR,
    MAX_SUMMARY,
    MAX_TITLE,
    clip,
    raw_bound,
    url_problem,
)
from monitor.pipeline.articles import articles_from_entries
from monitor.sources.detect import detect_kind, discover_feeds
from monitor.sources.extract import Extractor, Page
from monitor.sources.feed import parse_feed
from monitor.sources.html import parse_listing
from monitor.sources.sitemap import MAX_CHILD_SITEMAPS, SitemapUrl, newest_first, parse_sitemap
from storage import Store
from storage.types import ArticleIn

__all__ = [
    "MAX_PAGES_PER_POLL",
    "Collected",
    "Harvest",
    "Lead",
    "article_from_page",
    "check_sitemap_loop",
    "collect",
    "collect_leads",
    "shared_extractor",
]

log = logging.getLogger("newsmon.collect")

MAX_PAGES_PER_POLL = 30

_EXTRACTOR: Extractor | None = None


def shared_extractor() -> Extractor:
    """The process's extraction pool, made on first use."""
    global _EXTRACTOR
    if _EXTRACTOR is None:
        _EXTRACTOR = Extractor()
    return _EXTRACTOR


@dataclass(frozen=True, slots=True)
class Lead:
    """An article known only by its link so far (listing page or sitemap)."""

    url: str
    title: str = ""
    published: datetime | None = None  # a real publication date (feed, news:publication_date)
    lastmod: datetime | None = None  # a sitemap's lastmod: only when the page has no date


@dataclass(slots=True)
class Collected:
    """What a source document yielded."""

    articles: list[ArticleIn]
    seen: int  # items the document listed (new or not)
    ttl_seconds: int | None = None
    failed: int = 0
    cacheable: bool = True  # False: the validators belong to a page we did not read as such
    next_url: str | None = None  # the next page, for backfill
    kind: str = "feed"
    dates: list[datetime | None] = field(default_factory=list)  # of the listed items
    held_back: int = 0  # new items left for the next poll by the per-poll page cap


@dataclass(slots=True)
class Harvest:
    """Everything a collection needs besides the document itself."""

    source_id: int
    name: str
    cfg: SourceConfig | None
    fetcher: Fetcher
    store: Store
    timeout: float
    extractor: Extractor = field(default_factory=shared_extractor)
    max_pages: int = MAX_PAGES_PER_POLL
    max_body: int = DEFAULT_MAX_BODY  # characters of article text kept

    async def unknown(self, keys: Sequence[str]) -> set[str]:
        known = await asyncio.to_thread(self.store.known_keys, self.source_id, keys)
        return set(keys) - known

    async def page(self, url: str) -> Page | None:
        """Fetch and extract one article page; None (logged) when that fails."""
        cfg = self.cfg
        try:
            response = await self.fetcher.get(url, subject=self.name, timeout=self.timeout)
            return await self.extractor.extract(
                response.body,
                url=response.final_url,
                content_type=response.headers.get("content-type"),
                title_selector=cfg.title_selector if cfg else None,
                date_selector=cfg.date_selector if cfg else None,
            )
        except MonitorError as exc:
            log.warning("article page skipped: %s", exc, extra={"source": self.name, "url": url})
            return None


def article_from_page(
    page: Page, lead: Lead, *, guid: str, summary: str = "", max_body: int = DEFAULT_MAX_BODY
) -> ArticleIn:
    """An article from an extracted page; the lead's (feed/sitemap) title and date win.

    A sitemap's ``lastmod`` is only a fallback: it moves with every edit, so it
    must not replace the date the page itself states.
    """
    title = clip(clean_title(raw_bound(lead.title, MAX_TITLE)) or page.title, MAX_TITLE)
    body = clip(page.text or summary, max_body)
    return ArticleIn(
        guid=guid,
        url=lead.url,
        canonical_url=page.url,
        title=title,
        summary=clip(summary or page.description, MAX_SUMMARY),
        body=body,
        author=clip(page.author, MAX_AUTHOR) if page.author else page.author,
        published_at=lead.published or page.published or lead.lastmod,
        content_hash=content_hash(title, body),
        lang=page.lang,
    )


async def collect(response: Response, kind: str | None, h: Harvest) -> Collected:
    """The articles in a fetched source document of `kind` (None: detect it)."""
    content_type = response.headers.get("content-type")
    if kind is None:
        detected = detect_kind(response.body, content_type)
        if detected == "html" and not (h.cfg and h.cfg.link_selector):
            return await _advertised_feed(response, h)
        if detected == "unknown":
            raise MonitorError(
                f"parse: {h.name}: not a feed, sitemap or HTML page ({response.final_url})"
            )
        kind = detected
    if kind == "html":
        out = await _listing(response, h)
    elif kind == "sitemap":
        out = await _sitemap(response, h)
    else:
        out = await _feed(response, h)
    if out.held_back:
        out.cacheable = False  # a 304 next time would strand the held-back items
    return out


async def _feed(response: Response, h: Harvest) -> Collected:
    feed = await asyncio.to_thread(
        parse_feed, response.body, url=response.final_url, headers=response.headers
    )
    if not feed.is_feed:
        raise MonitorError(f"parse: {h.name}: response is not a feed ({response.final_url})")
    articles = articles_from_entries(
        feed.entries, source=h.name, feed_url=response.final_url, max_body=h.max_body
    )
    out = Collected(
        articles,
        seen=len(articles),
        ttl_seconds=feed.ttl_seconds,
        next_url=feed.next_url,
        dates=[e.published for e in feed.entries],
    )
    if h.cfg is None or not h.cfg.full_text:
        return out
    fresh = await h.unknown([a.guid for a in articles] + [a.canonical_url for a in articles])
    new = [
        i
        for i, a in enumerate(articles)
        if a.guid in fresh and a.canonical_url in fresh and a.url.startswith("http")
    ]
    new.sort(key=lambda i: _newest_article(articles[i]))
    todo, held = new[: h.max_pages], set(new[h.max_pages :])
    out.held_back = len(held)
    # Held back: stored teaser-only they would never be fetched, so the next poll
    # gets them. Stored already: the body is the page's, the teaser is no update.
    drop = held | {i for i, a in enumerate(articles) if a.guid not in fresh}
    if drop:
        kept = [i for i in range(len(articles)) if i not in drop]
        position = {old: pos for pos, old in enumerate(kept)}
        out.articles = articles = [articles[i] for i in kept]
        todo = [position[i] for i in todo]
    pages = await asyncio.gather(*(h.page(articles[i].url) for i in todo))
    for i, page in zip(todo, pages, strict=True):
        if page is None:
            out.failed += 1
            continue
        feed_item = articles[i]
        lead = Lead(feed_item.url, feed_item.title, feed_item.published_at)
        full = article_from_page(
            page, lead, guid=feed_item.guid, summary=feed_item.summary, max_body=h.max_body
        )
        if canonical_url(feed_item.canonical_url) == full.canonical_url:
            # The page is the day's page; the feed's fragment names this post on it.
            full = replace(full, canonical_url=feed_item.canonical_url)
        articles[i] = full if page.text else replace(full, body=feed_item.body)
    return out


async def _listing(response: Response, h: Harvest) -> Collected:
    cfg = h.cfg
    if cfg is None or not cfg.link_selector:
        raise MonitorError(f"parse: {h.name}: kind html needs link_selector")
    listing = await asyncio.to_thread(
        parse_listing,
        response.body,
        url=response.final_url,
        link_selector=cfg.link_selector,
        next_page_selector=cfg.next_page_selector,
        content_type=response.headers.get("content-type"),
    )
    leads = [Lead(link.url, link.title) for link in listing.links]
    out = await collect_leads(leads, h, title_from_page=True)
    out.next_url, out.kind = listing.next_url, "html"
    return out


async def _sitemap(response: Response, h: Harvest) -> Collected:
    sitemap = await asyncio.to_thread(parse_sitemap, response.body, url=response.final_url)
    entries = list(sitemap.urls)
    children = newest_first(sitemap.sitemaps)[:MAX_CHILD_SITEMAPS]
    index = {response.final_url, h.cfg.url if h.cfg else response.final_url}
    check_sitemap_loop(h.name, index, sitemap.sitemaps)
    for child in children:
        try:
            got = await h.fetcher.get(child.url, subject=h.name, timeout=h.timeout)
            child_map = await asyncio.to_thread(parse_sitemap, got.body, url=got.final_url)
            entries.extend(child_map.urls)
        except MonitorError as exc:
            log.warning("child sitemap skipped: %s", exc, extra={"source": h.name})
            continue
        check_sitemap_loop(h.name, index | {child.url, got.final_url}, child_map.sitemaps)
    entries = newest_first(entries)
    leads = [Lead(e.url, e.title or "", e.published, e.lastmod) for e in entries]
    out = await collect_leads(leads, h, title_from_page=False)
    out.kind = "sitemap"
    return out


def check_sitemap_loop(source: str, seen: set[str], children: Sequence[SitemapUrl]) -> None:
    """A ParseError when a sitemap index lists itself or a sitemap it was reached from."""
    for child in children:
        if child.url in seen:
            raise ParseError(f"sitemap: {source}: sitemap index refers to itself: {child.url}")


def _newest_article(article: ArticleIn) -> float:
    when = article.published_at
    return -when.timestamp() if when else 0.0


async def collect_leads(leads: list[Lead], h: Harvest, *, title_from_page: bool) -> Collected:
    """Fetch and extract the leads not stored yet, up to the per-poll cap."""
    leads = [lead for lead in leads if _usable(lead, h.name)]
    keys = {lead.url: canonical_url(lead.url) for lead in leads}
    fresh = await h.unknown(list(keys.values()))
    new = [lead for lead in leads if keys[lead.url] in fresh]
    todo = new[: h.max_pages]
    pages = await asyncio.gather(*(h.page(lead.url) for lead in todo))
    articles: list[ArticleIn] = []
    failed = 0
    for lead, page in zip(todo, pages, strict=True):
        if page is None or not (page.text or page.title):
            failed += 1
            continue
        # On a listing page the link text is often "Read more"; the page knows better.
        hint = replace(lead, title="") if title_from_page and page.title else lead
        articles.append(article_from_page(page, hint, guid=keys[lead.url], max_body=h.max_body))
    return Collected(
        articles,
        seen=len(leads),
        failed=failed,
        dates=[lead.published or lead.lastmod for lead in leads],
        held_back=len(new) - len(todo),
    )


async def _advertised_feed(response: Response, h: Harvest) -> Collected:
    feeds = await asyncio.to_thread(
        discover_feeds,
        response.body,
        url=response.final_url,
        content_type=response.headers.get("content-type"),
    )
    if not feeds:
        raise MonitorError(
            f"parse: {h.name}: {response.final_url} is an HTML page that advertises no feed "
            "(set kind: html and link_selector to read it as a listing page)"
        )
    log.info("following advertised feed %s", feeds[0], extra={"source": h.name})
    got = await h.fetcher.get(feeds[0], subject=h.name, timeout=h.timeout)
    out = await _feed(got, h)
    out.cacheable = False
    return out


def _usable(lead: Lead, source: str) -> bool:
    problem = url_problem(lead.url)
    if problem is None:
        return True
    log.warning("parse: %s: link skipped: %s", source, problem, extra={"source": source})
    return False
