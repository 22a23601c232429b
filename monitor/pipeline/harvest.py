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
import importlib
import logging
import multiprocessing
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from monitor.config.load import SourceConfig
from monitor.errors import FetchError, MonitorError, ParseError
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
from monitor.pipeline.timing import page_retry_at
from monitor.sources.extract import Extractor, Page
from monitor.sources.sitemap import SitemapUrl
from storage import Store
from storage.types import ArticleIn, PageFailureIn

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
    "log_page_failures",
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
    waiting: int = 0  # new items whose page failed before and waits for its retry
    known: int = 0  # listed items stored already
    page_error: str | None = None  # one failed page: "URL: why", for the source's error

    def pages_all_failed(self) -> bool:
        """Links were listed, none stored yet, and not one of their pages could be had."""
        return not self.articles and self.failed + self.waiting > 0 and self.known == 0

    def pages_error(self, source: str) -> FetchError:
        """The source's error when `pages_all_failed`: counts, the stage and an example URL."""
        parts = [f"{self.failed} failed on this poll"] if self.failed else []
        if self.waiting:
            parts.append(f"{self.waiting} wait for their retry after failing")
        if self.held_back:
            parts.append(f"{self.held_back} left for the next poll")
        return FetchError(
            f"fetch: {source}: 0 of {self.seen} article pages fetched ({', '.join(parts)}); "
            f"e.g. {self.page_error}"
        )


LARGE_DOCUMENT = 1024 * 1024  # bytes: a parse this big can cost hundreds of MB


class ParseSlots:
    """Where documents are parsed: off the event loop, huge ones one at a time.

    Documents over `LARGE_DOCUMENT` are parsed one at a time in a thread of
    this process: a parser's peak memory is many times the document, so a
    handful of huge feeds polled at once would multiply it; one at a time keeps
    the process's peak bounded whatever their number.

    Smaller documents go to threads, or with `processes` > 0 to a pool of that
    many worker processes (started by `start` or the first document, ended by
    `close`): parsing is Python code that holds the GIL, so threads parse one at
    a time while a worker process uses another core. The parser and the
    document go to the worker pickled, the parsed document comes back the same
    way; `compute` sends other pure jobs there (story fingerprints). A worker
    that dies (killed, out of memory) fails only the job it held: the pool is
    started anew for the next one.
    """

    def __init__(self, processes: int = 0) -> None:
        # One thread, not just one at a time: each thread gets its own malloc
        # arena, and freed parser memory is reused only by the thread that freed it.
        self._large = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsmon-parse")
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None

    async def run(self, parse: Callable[..., T], body: bytes, /, **kwargs: Any) -> T:
        """`parse(body, **kwargs)` off the event loop, waiting its turn if `body` is large.

        Raises ParseError only when a worker process died parsing it.
        """
        job = functools.partial(parse, body, **kwargs)
        if len(body) > LARGE_DOCUMENT:
            return await asyncio.get_running_loop().run_in_executor(self._large, job)
        return await self.compute(job, subject=kwargs.get("url", "a document"))

    async def compute(self, job: Callable[[], T], *, subject: str) -> T:
        """`job()`, pure CPU work on bounded input, in a worker process when there is a
        pool (else in a thread); ParseError naming `subject` when its worker died."""
        pool = self._workers()
        if pool is None:
            return await asyncio.to_thread(job)
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, job)
        except BrokenProcessPool:
            self._restart(pool)
            raise ParseError(f"parse: {subject}: the parsing process died") from None

    def start(self, *modules: str) -> None:
        """Start the worker processes now and have them import `modules` (the ones the
        jobs come from), so that they are ready by the first document."""
        pool = self._workers()
        if pool is not None:
            for module in modules:
                pool.submit(_load, module)

    def _workers(self) -> ProcessPoolExecutor | None:
        if self._processes and self._pool is None:
            self._pool = ProcessPoolExecutor(
                self._processes,
                # Not fork: this process has threads (the event loop's helpers, SQLite's).
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_start,
            )
        return self._pool

    def _restart(self, broken: ProcessPoolExecutor) -> None:
        if self._pool is broken:
            self._pool = None
        broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """End the worker processes and the large-document thread (waits for running parses)."""
        pool, self._pool, self._processes = self._pool, None, 0
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self._large.shutdown(wait=False, cancel_futures=True)


def _load(module: str) -> None:
    importlib.import_module(module)  # the module object itself would not pickle back


def _worker_start() -> None:
    # Ctrl-C reaches the whole process group; the daemon stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


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
    interval: int = 900  # the source's poll interval: the first wait before a failed page
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # Polls leave pages that failed alone until their retry time; backfill tries them all.
    skip_failing: bool = True

    async def unknown(self, keys: Sequence[str]) -> set[str]:
        known = await asyncio.to_thread(self.store.known_keys, self.source_id, keys)
        return set(keys) - known

    async def fetch_page(self, url: str) -> Page | MonitorError:
        """Fetch and extract one article page; the error instead when that fails."""
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
            return exc

    async def waiting(self, keys: Sequence[str]) -> dict[str, str]:
        """Pages among `keys` that failed before and wait for their retry: key -> error."""
        if not self.skip_failing or not keys:
            return {}
        return await asyncio.to_thread(self.store.failing_pages, self.source_id, keys, self.clock())

    async def record_pages(
        self, failed: Sequence[PageFailureIn], fetched: Sequence[str], listed: set[str]
    ) -> None:
        """Remember the pages that failed (retried with backoff) and forget fetched ones
        (on a poll, also those the document no longer lists)."""
        if not self.skip_failing and not failed and not fetched:
            return
        now, interval = self.clock(), self.interval
        await asyncio.to_thread(
            self.store.record_pages,
            self.source_id,
            failed,
            fetched,
            now,
            lambda failures: page_retry_at(now, failures, interval),
            listed if self.skip_failing else None,
        )


def log_page_failures(source: str, failures: Sequence[tuple[str, str]], tried: int) -> None:
    """The failed article pages of a poll, one warning per distinct error.

    Pages failing the same way (30 pages answering 404) make one line with the
    count and one of their URLs; `failures` holds (url, error) pairs.
    """
    groups: dict[str, list[str]] = {}
    for url, error in failures:
        groups.setdefault(error, []).append(url)
    for error, urls in groups.items():
        extra = {"source": source, "url": urls[0]}
        if len(urls) == 1:
            log.warning("article page skipped: %s", error, extra=extra)
            continue
        log.warning(
            "article pages skipped: %d of %d failed: %s (e.g. %s)",
            len(urls),
            tried,
            error,
            urls[0],
            extra=extra,
        )


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
    """Fetch and extract the leads not stored yet, up to the per-poll cap.

    Pages that failed on an earlier poll wait for their retry time (`waiting`);
    the pages that fail now are recorded with a backoff and logged as one line.
    """
    leads = [lead for lead in leads if _usable(lead, h.name)]
    keys = {lead.url: canonical_url(lead.url) for lead in leads}
    fresh = await h.unknown(list(keys.values()))
    new = [lead for lead in leads if keys[lead.url] in fresh]
    waiting = await h.waiting([keys[lead.url] for lead in new])
    ready = [lead for lead in new if keys[lead.url] not in waiting]
    todo = ready[: h.max_pages]
    pages = await asyncio.gather(*(h.fetch_page(lead.url) for lead in todo))
    articles: list[ArticleIn] = []
    failures: list[PageFailureIn] = []
    logged: list[tuple[str, str]] = []
    for lead, page in zip(todo, pages, strict=True):
        if isinstance(page, MonitorError) or not (page.text or page.title):
            why = str(page) if isinstance(page, MonitorError) else f"extract: {h.name}: no text"
            failures.append(PageFailureIn(keys[lead.url], lead.url, _reason(why, h.name)))
            logged.append((lead.url, why))
            continue
        # On a listing page the link text is often "Read more"; the page knows better.
        hint = replace(lead, title="") if title_from_page and page.title else lead
        articles.append(article_from_page(page, hint, guid=keys[lead.url], max_body=h.max_body))
    await h.record_pages(failures, [a.guid for a in articles], set(keys.values()))
    log_page_failures(h.name, logged, len(todo))
    example = next(((f.url, f.error) for f in failures), None)
    if example is None:
        example = next(
            ((lead.url, waiting[keys[lead.url]]) for lead in new if keys[lead.url] in waiting), None
        )
    return Collected(
        articles,
        seen=len(leads),
        failed=len(failures),
        dates=[lead.published or lead.lastmod for lead in leads],
        held_back=len(ready) - len(todo),
        waiting=len(new) - len(ready),
        known=sum(1 for lead in leads if keys[lead.url] not in fresh),
        page_error=f"{example[0]}: {example[1]}" if example else None,
    )


def _reason(error: str, source: str) -> str:
    """A fetch error without its ``fetch: SOURCE:`` prefix (the source's error says it);
    other stages keep theirs (``extract: SOURCE: no text``)."""
    stage, _, rest = error.partition(f": {source}: ")
    return rest if rest and stage == "fetch" else error


def _usable(lead: Lead, source: str) -> bool:
    problem = url_problem(lead.url)
    if problem is None:
        return True
    log.warning("parse: %s: link skipped: %s", source, problem, extra={"source": source})
    return False
