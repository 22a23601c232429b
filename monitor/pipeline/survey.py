"""What `newsmon check --fetch` reports: the items a source lists, stored nowhere.

Handles every source kind the poll does (feed, html listing, sitemap, detected,
an HTML page advertising its feed). Of a sitemap index it reads the newest
children, as the poll does, and counts their URLs. For one source
(``check --fetch SOURCE``) it also fetches and extracts the article pages a
listing page or sitemap names, up to a poll's worth, and says how many could
be had: a sitemap whose pages all fail is an error, not "ok 74".
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from monitor.config.load import SourceConfig
from monitor.errors import MonitorError
from monitor.fetch import Fetcher
from monitor.pipeline.kinds import Survey, resolve_kind
from monitor.sources.extract import Extractor

__all__ = ["PageCheck", "Survey", "check_pages", "survey_source"]


@dataclass(frozen=True, slots=True)
class PageCheck:
    """One article page of a survey: fetched and extracted, or why not."""

    url: str
    title: str | None = None
    error: str | None = None

    def as_row(self) -> dict[str, object]:
        return {"url": self.url, "ok": self.error is None, "title": self.title, "error": self.error}


async def survey_source(cfg: SourceConfig, fetcher: Fetcher, deadline: float) -> Survey:
    """Fetch a source once and count its items; never raises."""
    try:
        return await _survey(cfg, fetcher, deadline)
    except MonitorError as exc:
        return Survey(cfg.name, "error", cfg.kind, error=str(exc))


async def _survey(cfg: SourceConfig, fetcher: Fetcher, deadline: float) -> Survey:
    response = await fetcher.get(cfg.url, subject=cfg.name, origin="config", timeout=deadline)
    resolved = await resolve_kind(
        response,
        cfg.kind,
        source=cfg.name,
        link_selector=cfg.link_selector,
        fetcher=fetcher,
        timeout=deadline,
    )
    survey = await resolved.kind.survey(resolved.response, cfg, fetcher, deadline)
    if resolved.advertised:
        survey = replace(survey, note=f"advertises {resolved.advertised}")
    return survey


async def check_pages(
    survey: Survey, cfg: SourceConfig, fetcher: Fetcher, deadline: float, *, limit: int
) -> tuple[Survey, list[PageCheck]]:
    """Fetch and extract up to `limit` of the survey's article links (newest first).

    The survey becomes an error when not one of them could be had, naming the
    count, the reason and an example URL; with some fetched its note says how many.
    """
    links = survey.links[:limit]
    if survey.status != "ok" or not links:
        return survey, []
    extractor = Extractor()
    try:
        checks = await asyncio.gather(
            *(_page(url, cfg, fetcher, deadline, extractor) for url in links)
        )
    finally:
        extractor.close()
    fetched = sum(1 for c in checks if c.error is None)
    counts = f"{fetched} of {len(checks)} article pages fetched"
    if len(checks) < survey.items:
        counts += f" (the newest {len(checks)} of {survey.items})"
    failed = next((c for c in checks if c.error is not None), None)
    if fetched == 0 and failed is not None:
        error = f"{counts}: {failed.error} (e.g. {failed.url})"
        return replace(survey, status="error", error=error), checks
    note = "; ".join(n for n in (survey.note, counts) if n)
    return replace(survey, note=note), checks


async def _page(
    url: str, cfg: SourceConfig, fetcher: Fetcher, deadline: float, extractor: Extractor
) -> PageCheck:
    try:
        response = await fetcher.get(url, subject=cfg.name, timeout=deadline)
        page = await extractor.extract(
            response.body,
            url=response.final_url,
            content_type=response.headers.get("content-type"),
            title_selector=cfg.title_selector,
            date_selector=cfg.date_selector,
        )
    except MonitorError as exc:
        return PageCheck(url, error=str(exc))
    if not (page.text or page.title):
        return PageCheck(url, error=f"extract: {cfg.name}: no text in the page")
    return PageCheck(url, title=page.title or None)
