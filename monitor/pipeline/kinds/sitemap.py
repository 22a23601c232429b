"""Sitemaps: urlsets, indexes, plain URL lists (and gzip of any).

A poll reads the newest children of an index (`MAX_CHILD_SITEMAPS`) and
fetches and extracts the URLs not stored yet, newest first, with Google News
titles and dates. Backfill reads every child whose ``lastmod`` falls in the
window, in batches of `LEADS_PER_BATCH` URLs. An index that lists itself or a
sitemap it was reached from is a ParseError.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from monitor.config.load import SourceConfig
from monitor.errors import MonitorError
from monitor.fetch import Fetcher, Response
from monitor.pipeline.harvest import (
    Collected,
    Harvest,
    Lead,
    ParseSlots,
    check_sitemap_loop,
    collect_leads,
)
from monitor.pipeline.kinds.base import BackfillRun, Survey
from monitor.sources.sitemap import (
    MAX_CHILD_SITEMAPS,
    Sitemap,
    SitemapUrl,
    newest_first,
    parse_sitemap,
)
from monitor.wording import counted

__all__ = ["LEADS_PER_BATCH", "SITEMAP", "SitemapKind"]

log = logging.getLogger("newsmon.collect")

LEADS_PER_BATCH = 50  # sitemap URLs fetched and stored per backfill step


@dataclass(frozen=True, slots=True)
class SitemapKind:
    name: str = "sitemap"

    async def collect(self, response: Response, h: Harvest) -> Collected:
        sitemap = await _parse(response, h.parse_slots)
        entries = list(sitemap.urls)
        index = {response.final_url, h.cfg.url if h.cfg else response.final_url}
        check_sitemap_loop(h.name, index, sitemap.sitemaps)
        for child_url in _newest_children(sitemap):
            child = await _read(child_url, h.fetcher, h.name, h.timeout, h.parse_slots)
            if child.sitemap is None:
                log.warning("child sitemap skipped: %s", child.error, extra={"source": h.name})
                continue
            entries.extend(child.sitemap.urls)
            seen = index | {child.url, child.final_url}
            check_sitemap_loop(h.name, seen, child.sitemap.sitemaps)
        leads = [Lead(e.url, e.title or "", e.published, e.lastmod) for e in newest_first(entries)]
        out = await collect_leads(leads, h, title_from_page=False)
        out.kind = self.name
        return out

    async def backfill(self, url: str, response: Response, run: BackfillRun) -> list[str]:
        sitemap = await _parse(response, run.harvest().parse_slots)
        run.sitemaps_read.add(response.final_url)
        check_sitemap_loop(run.cfg.name, run.sitemaps_read, sitemap.sitemaps)
        children = [c for c in sorted(sitemap.sitemaps, key=_newest) if run.keeps(c.when)]
        run.skip(len(sitemap.sitemaps) - len(children))
        leads = [Lead(u.url, u.title or "", u.published, u.lastmod) for u in sitemap.urls]
        kept = [lead for lead in leads if run.keeps(lead.published or lead.lastmod)]
        run.skip(len(leads) - len(kept))
        for start in range(0, len(kept), LEADS_PER_BATCH):
            batch = kept[start : start + LEADS_PER_BATCH]
            await run.ingest(await collect_leads(batch, run.harvest(), title_from_page=False))
        return [c.url for c in children]

    async def survey(
        self, response: Response, cfg: SourceConfig, fetcher: Fetcher, deadline: float
    ) -> Survey:
        slots = ParseSlots()
        sitemap = await _parse(response, slots)
        entries = list(sitemap.urls)
        if not sitemap.sitemaps:
            links = tuple(e.url for e in newest_first(entries))
            return Survey(cfg.name, "ok", self.name, len(entries), links=links)
        read: list[str] = []
        for child_url in _newest_children(sitemap):
            child = await _read(child_url, fetcher, cfg.name, deadline, slots)
            if child.sitemap is None:
                read.append(f"{child.url} ({child.error})")
                continue
            entries.extend(child.sitemap.urls)
            read.append(f"{child.url} ({counted(len(child.sitemap.urls), 'URL')})")
        index = counted(len(sitemap.sitemaps), "sitemap")
        note = f"index of {index}; read the newest: " + ", ".join(read)
        links = tuple(e.url for e in newest_first(entries))
        return Survey(cfg.name, "ok", self.name, len(entries), note, links=links)


SITEMAP = SitemapKind()


@dataclass(frozen=True, slots=True)
class _Child:
    """A child sitemap of an index: read (`sitemap`) or not (`error`)."""

    url: str
    final_url: str = ""
    sitemap: Sitemap | None = None
    error: MonitorError | None = None


async def _parse(response: Response, slots: ParseSlots) -> Sitemap:
    return await slots.run(parse_sitemap, response.body, url=response.final_url)


def _newest_children(sitemap: Sitemap) -> list[str]:
    """The children of an index a poll or a check reads."""
    return [child.url for child in newest_first(sitemap.sitemaps)[:MAX_CHILD_SITEMAPS]]


async def _read(
    url: str, fetcher: Fetcher, source: str, deadline: float, slots: ParseSlots
) -> _Child:
    try:
        got = await fetcher.get(url, subject=source, timeout=deadline)
        child_map = await slots.run(parse_sitemap, got.body, url=got.final_url)
    except MonitorError as exc:
        return _Child(url, error=exc)
    return _Child(url, got.final_url, child_map)


def _newest(entry: SitemapUrl) -> float:
    return -entry.when.timestamp() if entry.when else 0.0
