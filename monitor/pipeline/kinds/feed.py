"""RSS, Atom, RDF and JSON feeds.

A poll stores the entries; with ``full_text`` each NEW entry's page is fetched
and extracted (stored entries are never fetched again). Backfill follows the
feed's ``rel="next"`` (Atom/RFC 5005), else WordPress ``?paged=N``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

from monitor.config.load import SourceConfig
from monitor.errors import MonitorError, ParseError
from monitor.fetch import Fetcher, Response
from monitor.normalize.clean import canonical_url
from monitor.pipeline.articles import feed_articles, log_skipped
from monitor.pipeline.harvest import (
    Collected,
    Harvest,
    Lead,
    ParseSlots,
    article_from_page,
    log_page_failures,
)
from monitor.pipeline.kinds.base import BackfillRun, Survey
from monitor.sources.feed import ParsedFeed, parse_feed
from storage.types import ArticleIn

__all__ = ["FEED", "FeedKind", "FeedRead", "paged_url", "read_feed"]


def paged_url(url: str, page: int) -> str:
    """WordPress-style ``?paged=N`` for a feed URL."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "paged"]
    return parts._replace(query=urlencode([*query, ("paged", str(page))])).geturl()


@dataclass(frozen=True, slots=True)
class FeedKind:
    name: str = "feed"

    async def collect(self, response: Response, h: Harvest) -> Collected:
        read = await h.parse_slots.run(
            read_feed,
            response.body,
            url=response.final_url,
            headers=response.headers,
            source=h.name,
            max_body=h.max_body,
        )
        if not read.feed.is_feed:
            raise ParseError(f"parse: {h.name}: response is not a feed ({response.final_url})")
        log_skipped(h.name, read.skipped)
        out = Collected(
            read.articles,
            seen=len(read.articles),
            ttl_seconds=read.feed.ttl_seconds,
            next_url=read.feed.next_url,
            dates=read.dates,
        )
        if h.cfg is not None and h.cfg.full_text:
            await _full_text(out, h)
        return out

    async def backfill(self, url: str, response: Response, run: BackfillRun) -> list[str]:
        collected = await self.collect(response, run.harvest())
        new = await run.ingest(collected)
        if run.all_older(collected):
            return []
        if collected.next_url:
            return [collected.next_url]
        start = run.cfg.url
        first = url == start and run.page_no == 1
        paging = run.page_no > 1 and url == paged_url(start, run.page_no)
        if collected.seen and (first or (paging and new)):
            # No rel="next": try WordPress paging; a server that ignores ?paged
            # serves page 1 again, which brings nothing new and ends it.
            run.page_no += 1
            return [paged_url(start, run.page_no)]
        return []

    async def survey(
        self, response: Response, cfg: SourceConfig, fetcher: Fetcher, deadline: float
    ) -> Survey:
        feed = await _parse(response, cfg.name, ParseSlots())
        return Survey(cfg.name, "ok", self.name, len(feed.entries))


FEED = FeedKind()


@dataclass(frozen=True, slots=True)
class FeedRead:
    """A feed document read into articles: what one parsing job hands back (pickled,
    from a worker process): the feed without its entries, their articles and dates,
    and why entries were skipped."""

    feed: ParsedFeed
    articles: list[ArticleIn]
    dates: list[datetime | None]
    skipped: list[str]


def read_feed(
    body: bytes, *, url: str, headers: Mapping[str, str], source: str, max_body: int
) -> FeedRead:
    """Parse a feed body and normalise its entries into articles (pure)."""
    feed = parse_feed(body, url=url, headers=headers)
    articles, skipped = feed_articles(feed.entries, source=source, feed_url=url, max_body=max_body)
    dates = [e.published for e in feed.entries]
    return FeedRead(replace(feed, entries=()), articles, dates, skipped)


async def _parse(response: Response, source: str, slots: ParseSlots) -> ParsedFeed:
    feed = await slots.run(
        parse_feed, response.body, url=response.final_url, headers=response.headers
    )
    if not feed.is_feed:
        raise ParseError(f"parse: {source}: response is not a feed ({response.final_url})")
    return feed


async def _full_text(out: Collected, h: Harvest) -> None:
    """Replace the new entries' feed text with their pages', up to the per-poll cap."""
    articles = out.articles
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
    pages = await asyncio.gather(*(h.fetch_page(articles[i].url) for i in todo))
    failures: list[tuple[str, str]] = []
    for i, page in zip(todo, pages, strict=True):
        if isinstance(page, MonitorError):
            # The entry is stored with its feed text instead.
            failures.append((articles[i].url, str(page)))
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
    out.failed += len(failures)
    log_page_failures(h.name, failures, len(todo))


def _newest_article(article: ArticleIn) -> float:
    when = article.published_at
    return -when.timestamp() if when else 0.0
