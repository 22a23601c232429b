"""What `newsmon check --fetch` reports: the items a source lists, stored nowhere.

Handles every source kind the poll does (feed, html listing, sitemap, detected,
an HTML page advertising its feed) but fetches no article pages. Of a sitemap
index it reads the newest children, as the poll does, and counts their URLs.
"""

from __future__ import annotations

from dataclasses import replace

from monitor.config.load import SourceConfig
from monitor.errors import MonitorError
from monitor.fetch import Fetcher
from monitor.pipeline.kinds import Survey, resolve_kind

__all__ = ["Survey", "survey_source"]


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
