"""``newsmon backfill``: fetch sources' history into the store (DESIGN §9).

A progress bar on a terminal, one log line per page otherwise; a summary
table at the end. Alerts only with ``--alert``: then each rule's matches go
out per channel, as one digest message when there are more than
`FLOOD_THRESHOLD` of them (`monitor.delivery.plan`).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from monitor.cli.app import UsageError, app, globals_of, parse_since
from monitor.cli.output import print_table
from monitor.config.load import Config
from monitor.daemon.service import fetch_limits, source_specs
from monitor.delivery.digest import send_backfill_alerts
from monitor.delivery.outbox import Deliverer, DeliveryReport
from monitor.fetch import Fetcher
from monitor.logs import JsonFormatter
from monitor.pipeline.backfill import BackfillSummary, Window, backfill_source
from monitor.pipeline.backfill import Progress as PageCallback
from monitor.pipeline.poll import PollContext, Rules, compile_config_rules
from monitor.wording import counted
from notifiers import Channels
from storage import Store

__all__ = ["backfill", "run_backfill"]

log = logging.getLogger("newsmon.backfill")

COLUMNS = ["source", "pages", "new", "duplicate", "failed", "skipped", "status"]


@app.command()
# Over 60 lines only by its Typer option declarations; the body is checks, one run, the table.
def backfill(
    ctx: typer.Context,
    source: Annotated[
        list[str] | None, typer.Option("--source", help="Only this source (repeatable).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only articles published since (2024-05-01, 30d).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Only articles published until.")] = None,
    max_pages: Annotated[
        int | None, typer.Option("--max-pages", min=1, help="Read at most N pages per source.")
    ] = None,
    alert: Annotated[bool, typer.Option("--alert", help="Send alerts for matches.")] = False,
    restart: Annotated[
        bool, typer.Option("--restart", help="Start from the first page, not where it stopped.")
    ] = False,
) -> None:
    """Fetch history into the store: paged feeds, listing pages, sitemap indexes."""
    g = globals_of(ctx)
    config = g.config()
    rules = compile_config_rules(config)
    known = [s.name for s in config.sources]
    for name in source or []:
        if name not in known:
            raise UsageError(f"backfill: unknown source '{name}' (known: {', '.join(known)})")
    end = parse_since(until)
    if end is not None and until is not None and len(until.strip()) == 10:
        end += timedelta(days=1) - timedelta(microseconds=1)  # --until 2024-05-01: the whole day
    window = Window(parse_since(since), end, max_pages, alert, restart)
    if window.since and window.until and window.since > window.until:
        raise UsageError("backfill: --since is after --until")
    names = list(dict.fromkeys(source)) if source else known
    store = g.store(config)
    try:
        summaries, sent = asyncio.run(
            run_backfill(config, store, rules, names, window, g.channels(config))
        )
    except KeyboardInterrupt:
        typer.echo("newsmon: backfill interrupted; run it again to continue", err=True)
        raise typer.Exit(130) from None
    finally:
        store.close()
    rows = [
        {
            "source": s.source,
            "pages": s.pages,
            "new": s.new,
            "duplicate": s.duplicates,
            "failed": s.failed,
            "skipped": s.skipped,
            "status": "done" if s.done else (f"error: {s.error}" if s.error else "paused"),
        }
        for s in summaries
    ]
    print_table(rows, COLUMNS, secrets=g.secrets)
    if alert:
        typer.echo(f"alerts: {sent.sent} sent, {sent.failed + sent.dead} failed")
    for s in summaries:
        if s.error:
            typer.echo(f"newsmon: {s.error}", err=True)
    if any(s.error for s in summaries):
        raise typer.Exit(1)


async def run_backfill(
    config: Config,
    store: Store,
    rules: Rules,
    names: list[str],
    window: Window,
    channels: Channels | None = None,
) -> tuple[list[BackfillSummary], DeliveryReport]:
    """Backfill the named sources one after the other, then send alerts if asked.

    With `window.alert`, the matches go out through `channels` (required then).
    """
    await asyncio.to_thread(store.sync_sources, source_specs(config), datetime.now(UTC))
    ids = await asyncio.to_thread(store.source_ids, names)
    by_name = {s.name: s for s in config.sources}
    summaries: list[BackfillSummary] = []
    async with Fetcher(fetch_limits(config)) as fetcher:
        ctx = PollContext(config, store, fetcher, rules)
        with _progress(window.max_pages) as report:
            for name in names:
                summary = await backfill_source(by_name[name], ids[name], ctx, window, report)
                _log_end(summary)
                summaries.append(summary)
    sent = DeliveryReport()
    if window.alert:
        if channels is None:
            raise ValueError("run_backfill: window.alert needs channels")
        instant = [r.name for r in config.rules if r.mode == "instant"]
        deliverer = Deliverer(store, channels, lease_seconds=config.settings.delivery_lease)
        sent = await send_backfill_alerts(deliverer, instant)
    return summaries, sent


def _log_end(summary: BackfillSummary) -> None:
    """How a source's backfill ended: failed (with the error), done, or paused."""
    counts = (
        f"{counted(summary.pages, 'page')}, {summary.new} new, "
        f"{summary.duplicates} duplicate, {summary.failed} failed"
    )
    extra = {"source": summary.source}
    if summary.error:
        log.error("backfill failed after %s: %s", counts, summary.error, extra=extra)
    elif summary.done:
        log.info("backfill done: %s", counts, extra=extra)
    else:
        log.info("backfill paused: %s (run it again to continue)", counts, extra=extra)


@contextmanager
def _progress(max_pages: int | None) -> Iterator[PageCallback]:
    """A callback per page: one rich progress bar on a terminal, log lines otherwise.

    On a terminal the log lines go through the bar's console (rich's logging
    handler bound to it), so they print above the bar instead of over it.
    """
    json_logs = any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers)
    if json_logs or not sys.stderr.isatty():

        def line(url: str, s: BackfillSummary) -> None:
            log.info(
                "page %d: %s (%d new, %d duplicate, %d failed so far)",
                s.pages,
                url,
                s.new,
                s.duplicates,
                s.failed,
                extra={"source": s.source},
            )

        yield line
        return
    console = Console(stderr=True)
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("page {task.completed}" + (f"/{max_pages}" if max_pages else "")),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
    )
    tasks: dict[str, TaskID] = {}
    with Progress(*columns, console=console, transient=True) as bar, logs_through(console):

        def update(url: str, s: BackfillSummary) -> None:
            if s.source not in tasks:
                tasks[s.source] = bar.add_task(s.source, total=max_pages, counts="")
            counts = f"{s.new} new, {s.duplicates} duplicate, {s.failed} failed"
            bar.update(tasks[s.source], completed=s.pages, counts=counts)

        yield update


@contextmanager
def logs_through(console: Console) -> Iterator[None]:
    """Route the root logger's lines through `console` (rich's handler), then restore."""
    root = logging.getLogger()
    saved = root.handlers[:]
    handler = RichHandler(
        console=console, show_path=False, markup=False, rich_tracebacks=False, show_time=False
    )
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    for old in saved:  # the secrets mask and the level stay as set up
        for flt in old.filters:
            handler.addFilter(flt)
    root.handlers[:] = [handler]
    try:
        yield
    finally:
        root.handlers[:] = saved
