"""What every source kind needs to turn a fetched document into articles.

`Harvest` carries the source, the fetcher, the store (to tell new items from
stored ones) and the extraction pool; `Collected` is what a document yielded.
The shared steps live here: `collect_leads` fetches and extracts the article
pages of links not stored yet (listing pages, sitemaps), up to the per-poll
cap, and `article_from_page` builds an article from an extracted page.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from monitor.config.load import SourceConfig
from monitor.errors import MonitorError, ParseError
from monitor.fetch import Fetcher
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
from monitor.sources.extract import Extractor, Page
from monitor.sources.sitemap import SitemapUrl
from storage import Store
from storage.types import ArticleIn

T = TypeVar("T")

__all__ = [
    "LARGE_DOCUMENT",
    "MAX_PAGES_PER_POLL",
    "Collected",
    "Harvest",
    "Lead",
    "ParseSlots",
    "article_from_page",
    "check_sitemap_loop",
    "collect_leads",
]

log = logging.getLogger("newsmon.collect")

MAX_PAGES_PER_POLL = 30


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


LARGE_DOCUMENT = 1024 * 1024  # bytes: a parse this big can cost hundreds of MB


class ParseSlots:
    """Documents over `LARGE_DOCUMENT` are parsed one at a time.

    A parser's peak memory is many times the document, so a handful of huge
    feeds polled at once would multiply it; one at a time keeps the process's
    peak bounded whatever their number. Small documents go straight through.
    """

    def __init__(self) -> None:
        # One thread, not just one at a time: each thread gets its own malloc
        # arena, and freed parser memory is reused only by the thread that freed it.
        self._large = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsmon-parse")

    async def run(self, parse: Callable[..., T], body: bytes, /, **kwargs: Any) -> T:
        """`parse(body, **kwargs)` off the event loop, waiting its turn if `body` is large."""
        if len(body) <= LARGE_DOCUMENT:
            return await asyncio.to_thread(parse, body, **kwargs)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._large, functools.partial(parse, body, **kwargs))


@dataclass(slots=True)
class Harvest:
    """Everything a collection needs besides the document itself.

    `extractor` is the process's extraction pool, handed down from the
    `PollContext` so that every poll shares one.
    """

    source_id: int
    name: str
    cfg: SourceConfig | None
    fetcher: Fetcher
    store: Store
    timeout: float
    extractor: Extractor
    max_pages: int = MAX_PAGES_PER_POLL
    max_body: int = DEFAULT_MAX_BODY  # characters of article text kept
    parse_slots: ParseSlots = field(default_factory=ParseSlots)

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


def check_sitemap_loop(source: str, seen: set[str], children: Sequence[SitemapUrl]) -> None:
    """A ParseError when a sitemap index lists itself or a sitemap it was reached from."""
    for child in children:
        if child.url in seen:
            raise ParseError(f"sitemap: {source}: sitemap index refers to itself: {child.url}")


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


def _usable(lead: Lead, source: str) -> bool:
    problem = url_problem(lead.url)
    if problem is None:
        return True
    log.warning("parse: %s: link skipped: %s", source, problem, extra={"source": source})
    return False
