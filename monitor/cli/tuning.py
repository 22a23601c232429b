"""`newsmon check --fetch SOURCE`: one source as a poll would see it, for tuning its config.

Fetches the source, shows which article links its `link_selector` (or sitemap)
gives, and fetches and extracts up to a poll's worth of those pages, so a
listing whose links are wrong or a sitemap whose pages all fail shows as an
error with the reason and an example URL. Nothing is stored.
"""

from __future__ import annotations

import asyncio

import typer

from monitor.cli.app import Format, Globals
from monitor.cli.output import print_json, print_rows
from monitor.cli.pick import pick_sources
from monitor.config.load import Config, SourceConfig
from monitor.daemon.service import fetch_limits
from monitor.fetch import Fetcher
from monitor.pipeline.harvest import MAX_PAGES_PER_POLL
from monitor.pipeline.kinds import Survey
from monitor.pipeline.survey import PageCheck, check_pages, survey_source
from monitor.wording import counted

__all__ = ["check_one_source"]

COLUMNS = ["source", "status", "kind", "items", "note", "error"]


def check_one_source(g: Globals, config: Config, name: str, fmt: Format) -> None:
    """Survey one source and its article pages; exit 1 when it is in error."""
    [name] = pick_sources(config, [name], "check")
    cfg = next(s for s in config.sources if s.name == name)
    survey, pages = asyncio.run(_check(config, cfg))
    row = survey.as_row()
    if fmt is Format.json:
        print_json([{**row, "pages": [p.as_row() for p in pages]}], secrets=g.secrets)
    else:
        print_rows([row], fmt, COLUMNS, secrets=g.secrets, csv_columns=COLUMNS)
        if fmt is Format.table:
            _print_pages(g, cfg, survey, pages)
    if survey.status == "error":
        raise typer.Exit(1)


async def _check(config: Config, cfg: SourceConfig) -> tuple[Survey, list[PageCheck]]:
    deadline = config.source_timeout(cfg)
    async with Fetcher(fetch_limits(config)) as fetcher:
        survey = await survey_source(cfg, fetcher, deadline)
        return await check_pages(survey, cfg, fetcher, deadline, limit=MAX_PAGES_PER_POLL)


def _print_pages(g: Globals, cfg: SourceConfig, survey: Survey, pages: list[PageCheck]) -> None:
    if not survey.links:
        return
    how = f"link_selector {cfg.link_selector!r}" if survey.kind == "html" else survey.kind
    typer.echo(f"\n{counted(len(survey.links), 'article link')} from {how}; pages fetched:")
    for page in pages:
        mark = "ok  " if page.error is None else "FAIL"
        detail = page.title if page.error is None else page.error
        typer.echo(g.secrets.mask(f"  {mark} {page.url}  {detail or ''}".rstrip()))
    rest = len(survey.links) - len(pages)
    if rest > 0:
        more = counted(rest, "more link")
        typer.echo(f"  ... and {more}, not fetched (a poll fetches at most {len(pages)})")
