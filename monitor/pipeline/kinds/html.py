"""HTML listing pages: the links `link_selector` selects are the articles.

A poll fetches and extracts the links not stored yet; backfill follows
`next_page_selector`.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.config.load import SourceConfig
from monitor.errors import ParseError
from monitor.fetch import Fetcher, Response
from monitor.pipeline.harvest import Collected, Harvest, Lead, ParseSlots, collect_leads
from monitor.pipeline.kinds.base import BackfillRun, Survey
from monitor.sources.html import Listing, parse_listing

__all__ = ["HTML", "HtmlKind"]


@dataclass(frozen=True, slots=True)
class HtmlKind:
    name: str = "html"

    async def collect(self, response: Response, h: Harvest) -> Collected:
        listing = await _parse(response, h.cfg, h.name, h.parse_slots)
        leads = [Lead(link.url, link.title) for link in listing.links]
        out = await collect_leads(leads, h, title_from_page=True)
        out.next_url, out.kind = listing.next_url, self.name
        return out

    async def backfill(self, url: str, response: Response, run: BackfillRun) -> list[str]:
        collected = await self.collect(response, run.harvest())
        await run.ingest(collected)
        if run.all_older(collected) or not collected.next_url:
            return []
        return [collected.next_url]

    async def survey(
        self, response: Response, cfg: SourceConfig, fetcher: Fetcher, deadline: float
    ) -> Survey:
        listing = await _parse(response, cfg, cfg.name, ParseSlots())
        if not listing.links:
            raise ParseError(
                f"parse: {cfg.name}: link_selector {cfg.link_selector!r} matched no links"
            )
        links = tuple(link.url for link in listing.links)
        return Survey(cfg.name, "ok", self.name, len(listing.links), links=links)


HTML = HtmlKind()


async def _parse(
    response: Response, cfg: SourceConfig | None, source: str, slots: ParseSlots
) -> Listing:
    if cfg is None or not cfg.link_selector:
        raise ParseError(f"parse: {source}: kind html needs link_selector")
    return await slots.run(
        parse_listing,
        response.body,
        url=response.final_url,
        link_selector=cfg.link_selector,
        next_page_selector=cfg.next_page_selector,
        content_type=response.headers.get("content-type"),
    )
