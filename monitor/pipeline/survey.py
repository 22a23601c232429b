"""What `newsmon check --fetch` reports: the items a source lists, stored nowhere.

Handles every source kind the poll does (feed, html listing, sitemap, detected,
an HTML page advertising its feed) but fetches no article pages. Of a sitemap
index it reads the newest children, as the poll does, and counts their URLs.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from monitor.config.load import SourceConfig
from monitor.errors import MonitorError
from monitor.fetch import Fetcher
from monitor.sources.detect import detect_kind, discover_feeds
from monitor.sources.feed import parse_feed
from monitor.sources.html import parse_listing
from monitor.sources.sitemap import MAX_CHILD_SITEMAPS, newest_first, parse_sitemap

__all__ = ["Survey", "survey_source"]


@dataclass(frozen=True, slots=True)
class Survey:
    """One source's check: its kind, how many items it lists, or why it failed."""

    source: str
    status: str  # ok | error
    kind: str | None = None
    items: int = 0
    note: str | None = None  # e.g. the feed an HTML page advertises
    error: str | None = None

    def as_row(self) -> dict[str, object]:
        return {
            "source": self.source,
            "status": self.status,
            "kind": self.kind,
            "items": self.items,
            "note": self.note,
            "error": self.error,
        }


async def survey_source(cfg: SourceConfig, fetcher: Fetcher, deadline: float) -> Survey:
    """Fetch a source once and count its items; never raises."""
    try:
        return await _survey(cfg, fetcher, deadline)
    except MonitorError as exc:
        return Survey(cfg.name, "error", cfg.kind, error=str(exc))


async def _survey(cfg: SourceConfig, fetcher: Fetcher, deadline: float) -> Survey:
    response = await fetcher.get(cfg.url, subject=cfg.name, origin="config", timeout=deadline)
    content_type = response.headers.get("content-type")
    kind = cfg.kind or detect_kind(response.body, content_type)
    note = None
    if kind == "html" and not cfg.link_selector:
        feeds = discover_feeds(response.body, url=response.final_url, content_type=content_type)
        if not feeds:
            raise MonitorError(
                f"parse: {cfg.name}: URL is an HTML page that advertises no feed "
                "(set kind: html and link_selector)"
            )
        note = f"advertises {feeds[0]}"
        response = await fetcher.get(feeds[0], subject=cfg.name, timeout=deadline)
        kind = "feed"
    if kind == "unknown":
        raise MonitorError(f"parse: {cfg.name}: not a feed, sitemap or HTML page")
    if kind == "sitemap":
        return await _survey_sitemap(cfg, fetcher, deadline, response.body, response.final_url)
    count = await asyncio.to_thread(
        _count, response.body, response.final_url, kind, cfg, dict(response.headers)
    )
    return Survey(cfg.name, "ok", kind, count, note)


async def _survey_sitemap(
    cfg: SourceConfig, fetcher: Fetcher, deadline: float, body: bytes, url: str
) -> Survey:
    sitemap = await asyncio.to_thread(parse_sitemap, body, url=url)
    urls = len(sitemap.urls)
    if not sitemap.sitemaps:
        return Survey(cfg.name, "ok", "sitemap", urls)
    children = newest_first(sitemap.sitemaps)[:MAX_CHILD_SITEMAPS]
    read: list[str] = []
    for child in children:
        try:
            got = await fetcher.get(child.url, subject=cfg.name, timeout=deadline)
            child_map = await asyncio.to_thread(parse_sitemap, got.body, url=got.final_url)
        except MonitorError as exc:
            read.append(f"{child.url} ({exc})")
            continue
        urls += len(child_map.urls)
        read.append(f"{child.url} ({len(child_map.urls)} URLs)")
    note = f"index of {len(sitemap.sitemaps)} sitemaps; read the newest: " + ", ".join(read)
    return Survey(cfg.name, "ok", "sitemap", urls, note)


def _count(body: bytes, url: str, kind: str, cfg: SourceConfig, headers: dict[str, str]) -> int:
    if kind == "html":
        assert cfg.link_selector is not None
        listing = parse_listing(
            body,
            url=url,
            link_selector=cfg.link_selector,
            next_page_selector=cfg.next_page_selector,
            content_type=headers.get("content-type"),
        )
        if not listing.links:
            raise MonitorError(
                f"parse: {cfg.name}: link_selector {cfg.link_selector!r} matched no links"
            )
        return len(listing.links)
    feed = parse_feed(body, url=url, headers=headers)
    if not feed.is_feed:
        raise MonitorError(f"parse: {cfg.name}: response is not a feed ({url})")
    return len(feed.entries)
