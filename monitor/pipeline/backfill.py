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
from urllib.parse import urlsplit

from monitor.config.load import SourceConfig
from monitor.errors import FetchError, MonitorError
from monitor.fetch import Response
from monitor.pipeline.articles import fingerprinted
from monitor.pipeline.harvest import Collected, Harvest
from monitor.pipeline.kinds import resolve_kind
from monitor.pipeline.kinds.feed import paged_url
from monitor.pipeline.poll import PollContext, match_candidates
from storage.types import ArticleIn, BackfillState, Candidate

__all__ = ["BackfillSummary", "Window", "backfill_source", "paged_url"]

log = logging.getLogger("newsmon.backfill")


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
            self.ctx.extractor,
            max_pages=10_000,
            max_body=self.ctx.config.settings.max_body,
            parse_slots=self.ctx.parse_slots,
            skip_failing=False,  # history is asked for: try pages that failed on polls too
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
        resolved = await resolve_kind(
            response,
            self.cfg.kind,
            source=self.cfg.name,
            link_selector=self.cfg.link_selector,
            fetcher=self.ctx.fetcher,
            timeout=self.timeout,
        )
        return await resolved.kind.backfill(url, resolved.response, self)

    # What a kind's backfill step uses of the run (kinds.BackfillRun).

    @property
    def page_no(self) -> int:
        return self.state.page_no

    @page_no.setter
    def page_no(self, value: int) -> None:
        self.state.page_no = value

    def keeps(self, when: datetime | None) -> bool:
        return self.window.keeps(when)

    def skip(self, count: int) -> None:
        self.summary.skipped += count

    async def ingest(self, collected: Collected) -> int:
        return await self._store(collected)

    async def _store(self, collected: Collected) -> int:
        """Ingest the articles inside the window; how many were new."""
        kept = [a for a in collected.articles if self.window.keeps(a.published_at)]
        matched = await asyncio.to_thread(self._route, kept)
        result = await asyncio.to_thread(
            self.ctx.store.ingest,
            self.state.source_id,
            matched,
            self.ctx.clock(),
            self.ctx.stories,
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

    def _route(self, articles: Sequence[ArticleIn]) -> list[Candidate]:
        """The articles with their deliveries, as a poll matches them (blocking)."""
        if not self.window.alert:
            return [Candidate(fingerprinted(a)) for a in articles]
        source_id, tags = self.state.source_id, frozenset(self.cfg.tags)
        return match_candidates(self.ctx, source_id, self.cfg.name, tags, articles)

    def all_older(self, collected: Collected) -> bool:
        """Whether every dated item of the page is older than --since (stop paging)."""
        since = self.window.since
        dates = [d for d in collected.dates if d] + [
            a.published_at for a in collected.articles if a.published_at
        ]
        return bool(since and dates and max(dates) < since)
