"""Backfill: read a source's history into the store, page by page, resumably.

Pages come from the source's own kind: paged feeds (Atom/RFC 5005
``rel="next"``, else WordPress ``?paged=N``), listing pages
(``next_page_selector``) and sitemap indexes (children whose ``lastmod`` falls
in the window). Articles go through the same collection and ingest as a poll;
they queue alerts only with ``alert=True``. Progress is saved after every page
(`Store.save_backfill`), so a run that stopped (Ctrl-C, a crash, a failing
page, ``--max-pages``) is continued by the next run with the same window.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

from monitor.config.load import SourceConfig
from monitor.errors import FetchError, MonitorError
from monitor.fetch import Response
from monitor.pipeline.articles import deliveries_for
from monitor.pipeline.collect import (
    Collected,
    Harvest,
    Lead,
    check_sitemap_loop,
    collect,
    collect_leads,
)
from monitor.pipeline.poll import PollContext
from monitor.sources.sitemap import SitemapUrl, looks_like_sitemap, parse_sitemap
from storage.types import ArticleIn, BackfillState, DeliveryIn

__all__ = ["BackfillSummary", "Window", "backfill_source", "paged_url"]

log = logging.getLogger("newsmon.backfill")

_LEADS_PER_BATCH = 50  # sitemap URLs fetched and stored per step


@dataclass(frozen=True, slots=True)
class Window:
    """Which articles a backfill keeps, and how far it reads."""

    since: datetime | None = None
    until: datetime | None = None
    max_pages: int | None = None
    alert: bool = False
    restart: bool = False

    def params(self) -> dict[str, str | None]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }

    def keeps(self, when: datetime | None) -> bool:
        """Undated articles are kept: nothing says they are outside the window."""
        if when is None:
            return True
        return (self.since is None or when >= self.since) and (
            self.until is None or when <= self.until
        )


@dataclass(slots=True)
class BackfillSummary:
    source: str
    pages: int = 0
    new: int = 0
    duplicates: int = 0
    failed: int = 0
    skipped: int = 0  # outside --since/--until
    done: bool = False
    error: str | None = None


def paged_url(url: str, page: int) -> str:
    """WordPress-style ``?paged=N`` for a feed URL."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "paged"]
    return parts._replace(query=urlencode([*query, ("paged", str(page))])).geturl()


Progress = Callable[[str, BackfillSummary], None]


async def backfill_source(
    cfg: SourceConfig,
    source_id: int,
    ctx: PollContext,
    window: Window,
    progress: Progress | None = None,
) -> BackfillSummary:
    """Backfill one source; never raises for a source failure (it is in `error`)."""
    state = await asyncio.to_thread(ctx.store.load_backfill, source_id)
    if state is None or state.done or state.params != window.params() or window.restart:
        state = BackfillState(source_id, window.params(), queue=[cfg.url])
    elif state.queue:
        log.info("resuming at %s", state.queue[0], extra={"source": cfg.name})
    run = _Run(cfg, ctx, window, state, BackfillSummary(cfg.name))
    await run.pages(progress)
    return run.summary


@dataclass(slots=True)
class _Run:
    cfg: SourceConfig
    ctx: PollContext
    window: Window
    state: BackfillState
    summary: BackfillSummary
    # Sitemaps read in this run: an index listing one of them again is a loop.
    sitemaps_read: set[str] = field(default_factory=set)

    @property
    def timeout(self) -> float:
        return float(self.ctx.config.source_timeout(self.cfg))

    def harvest(self) -> Harvest:
        return Harvest(
            self.state.source_id,
            self.cfg.name,
            self.cfg,
            self.ctx.fetcher,
            self.ctx.store,
            self.timeout,
            max_pages=10_000,
            max_body=self.ctx.config.settings.max_body,
        )

    async def pages(self, progress: Progress | None) -> None:
        state, summary, window = self.state, self.summary, self.window
        while state.queue and (window.max_pages is None or summary.pages < window.max_pages):
            url = state.queue[0]
            try:
                # The source's own pages (also when resuming at page 5) may be on an
                # intranet as its url is; links elsewhere are a document's word.
                own = urlsplit(url).netloc == urlsplit(self.cfg.url).netloc
                response = await self.ctx.fetcher.get(
                    url,
                    subject=self.cfg.name,
                    origin="config" if own else "document",
                    timeout=self.timeout,
                )
                follow = await self._page(url, response)
            except FetchError as exc:
                if state.page_no > 1 and url == paged_url(self.cfg.url, state.page_no):
                    state.queue.pop(0)  # past WordPress's last page (404): the end
                    continue
                summary.error = str(exc)
                break
            except MonitorError as exc:
                summary.error = str(exc)
                break
            summary.pages += 1
            state.pages += 1
            state.queue[:1] = follow
            await asyncio.to_thread(self.ctx.store.save_backfill, state, self.ctx.clock())
            if progress is not None:
                progress(url, summary)
        state.done = not state.queue and summary.error is None
        summary.done = state.done
        await asyncio.to_thread(self.ctx.store.save_backfill, state, self.ctx.clock())

    async def _page(self, url: str, response: Response) -> list[str]:
        """Read one page into the store; the pages to read after it."""
        kind = self.cfg.kind
        if kind == "sitemap" or (kind is None and looks_like_sitemap(response.body)):
            return await self._sitemap(response)
        collected = await collect(response, kind, self.harvest())
        new = await self._store(collected)
        if self._all_older(collected):
            return []
        if collected.next_url:
            return [collected.next_url]
        page_no = self.state.page_no
        first = url == self.cfg.url and page_no == 1
        paging = page_no > 1 and url == paged_url(self.cfg.url, page_no)
        if collected.kind == "feed" and collected.seen and (first or (paging and new)):
            # No rel="next": try WordPress paging; a server that ignores ?paged
            # serves page 1 again, which brings nothing new and ends it.
            self.state.page_no += 1
            return [paged_url(self.cfg.url, self.state.page_no)]
        return []

    async def _sitemap(self, response: Response) -> list[str]:
        sitemap = await asyncio.to_thread(parse_sitemap, response.body, url=response.final_url)
        self.sitemaps_read.add(response.final_url)
        check_sitemap_loop(self.cfg.name, self.sitemaps_read, sitemap.sitemaps)
        window = self.window
        children = [c for c in sorted(sitemap.sitemaps, key=_newest) if window.keeps(c.when)]
        self.summary.skipped += len(sitemap.sitemaps) - len(children)
        leads = [Lead(u.url, u.title or "", u.published, u.lastmod) for u in sitemap.urls]
        kept = [lead for lead in leads if window.keeps(lead.published or lead.lastmod)]
        self.summary.skipped += len(leads) - len(kept)
        for start in range(0, len(kept), _LEADS_PER_BATCH):
            batch = kept[start : start + _LEADS_PER_BATCH]
            await self._store(await collect_leads(batch, self.harvest(), title_from_page=False))
        return [c.url for c in children]

    async def _store(self, collected: Collected) -> int:
        """Ingest the articles inside the window; how many were new."""
        kept = [a for a in collected.articles if self.window.keeps(a.published_at)]
        result = await asyncio.to_thread(
            self.ctx.store.ingest, self.state.source_id, kept, self._route, self.ctx.clock()
        )
        summary = self.summary
        summary.skipped += len(collected.articles) - len(kept)
        known_before = (
            collected.seen - len(collected.articles) - collected.failed - collected.held_back
        )
        summary.new += len(result.new)
        duplicates = result.duplicates + result.sightings + max(0, known_before)
        summary.duplicates += duplicates
        self.state.duplicates += duplicates
        summary.failed += collected.failed
        self.state.new += len(result.new)
        self.state.failed += collected.failed
        return len(result.new)

    def _route(self, article: ArticleIn) -> Sequence[DeliveryIn]:
        if not self.window.alert:
            return ()
        rules = self.ctx.rules
        return deliveries_for(
            article,
            matcher=rules.matcher,
            routes=rules.routes,
            source=self.cfg.name,
            tags=frozenset(self.cfg.tags),
        )

    def _all_older(self, collected: Collected) -> bool:
        """Whether every dated item of the page is older than --since (stop paging)."""
        since = self.window.since
        dates = [d for d in collected.dates if d] + [
            a.published_at for a in collected.articles if a.published_at
        ]
        return bool(since and dates and max(dates) < since)


def _newest(entry: SitemapUrl) -> float:
    return -entry.when.timestamp() if entry.when else 0.0
