"""The CLI commands. Each is a thin edge: parse options, call the core, print."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from monitor.cli.app import (
    ExportFormat,
    Format,
    Globals,
    UsageError,
    app,
    fail,
    globals_of,
    parse_since,
)
from monitor.cli.output import (
    article_json,
    display_of,
    print_csv,
    print_json,
    print_jsonl,
    print_rows,
    source_json,
)
from monitor.cli.pick import pick_sources
from monitor.cli.tuning import check_one_source
from monitor.config.load import Config
from monitor.config.models import Settings
from monitor.daemon.scheduler import run_daemon
from monitor.daemon.service import (
    Daemon,
    fetch_limits,
    parse_processes,
    source_specs,
    usable_cpus,
)
from monitor.fetch import Fetcher
from monitor.logs import log_to
from monitor.normalize.fingerprint import FINGERPRINT_VERSION
from monitor.pipeline.articles import story_policy
from monitor.pipeline.harvest import ParseSlots
from monitor.pipeline.poll import compile_config_rules
from monitor.pipeline.stories import fingerprint_archive
from monitor.pipeline.survey import survey_source
from monitor.wording import counted
from storage import Store

__all__ = ["db_app", "sources_app"]

log = logging.getLogger("newsmon.cli")

EXPORT_COLUMNS = [
    "id",
    "source",
    "url",
    "title",
    "published_at",
    "fetched_at",
    "author",
    "summary",
    "cluster_id",
    "outlets",
    "body",
]
CHECK_COLUMNS = ["source", "status", "kind", "items", "note", "error"]
SOURCE_COLUMNS = [
    "name",
    "status",
    "kind",
    "last_poll_at",
    "next_poll_at",
    "error_count",
    "articles",
    "window_overflows",
    "last_error",
]


# --- run -------------------------------------------------------------------


@app.command()
def run(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Poll every source once, deliver, exit.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="With --once: also poll sources waiting out a backoff or Retry-After."
        ),
    ] = False,
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source", metavar="NAME", help="With --once: only this source (repeatable)."
        ),
    ] = None,
) -> None:
    """Run the daemon (or one pass with --once)."""
    if not once:
        log_to(sys.stdout)  # a service logs on stdout, for `docker logs` and log shippers
    g = globals_of(ctx)
    config = g.config()
    compile_config_rules(config)  # rule errors are config errors: fail before touching the DB
    names = pick_sources(config, source, "run") if source else None
    if names is not None and not once:
        raise UsageError("run: --source is only used with --once")
    polled = len(names) if names is not None else len(config.sources)
    slots = ParseSlots(parse_processes(polled, usable_cpus()))
    # The parsing processes import the pipeline while the database is opened.
    slots.start("monitor.pipeline")
    try:
        store = g.store(config)
        try:
            _warn_unfingerprinted(store)
            code = asyncio.run(_run(g, config, store, slots, once, force=force, names=names))
        finally:
            store.close()
    finally:
        slots.close()
    raise typer.Exit(code)


def _warn_unfingerprinted(store: Store) -> None:
    """Starting migrates the schema but leaves an old archive unclustered: say so."""
    pending = store.unfingerprinted_count(FINGERPRINT_VERSION)
    if pending:
        log.warning(
            "%s no story fingerprint yet: run `newsmon db upgrade` "
            "so that their copies join their stories",
            counted(pending, "stored article has", "stored articles have"),
        )


async def _run(
    g: Globals,
    config: Config,
    store: Store,
    slots: ParseSlots,
    once: bool,
    force: bool = False,
    names: list[str] | None = None,
) -> int:
    async with Fetcher(fetch_limits(config)) as fetcher:
        daemon = Daemon(config, store, fetcher, g.channels(config), parse_slots=slots)
        try:
            if not once:

                async def reload() -> None:  # SIGHUP
                    new = await asyncio.to_thread(g.config)
                    await daemon.reload(new, g.channels(new))

                await run_daemon(daemon, reload=reload)
                return 0
            await daemon.sync_sources()
            reports = await daemon.poll_all(names, force=force)
            delivered = await daemon.deliver()
        finally:
            await asyncio.to_thread(daemon.close)
    failed = [r for r in reports if r.outcome == "error"]
    new = sum(r.new for r in reports)
    log.info(
        "run --once: %s polled (%d failed), %s, %s; alerts: %d sent, %d failed",
        counted(len(reports), "source"),
        len(failed),
        counted(sum(r.items for r in reports), "item"),
        counted(new, "new article", "new articles"),
        delivered.sent,
        delivered.failed + delivered.dead,
    )
    # Cron-friendly: a broken source is reported, not fatal, unless nothing worked.
    return 1 if reports and len(failed) == len(reports) else 0


# --- check -----------------------------------------------------------------


@app.command()
def check(
    ctx: typer.Context,
    source: Annotated[
        str | None,
        typer.Argument(
            help="With --fetch: only this source, and fetch its article pages too.",
            show_default=False,
        ),
    ] = None,
    fetch: Annotated[
        bool, typer.Option("--fetch", help="Fetch each source once (nothing is stored).")
    ] = False,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
) -> None:
    """Validate the config; with --fetch, fetch each source and report items found."""
    g = globals_of(ctx)
    config = g.config()
    compile_config_rules(config)
    channels = g.channels(config)
    if source is not None:
        check_one_source(g, config, source, fmt)
        return
    if not fetch:
        summary = {
            "config": str(g.config_path()),
            "sources": len(config.sources),
            "rules": len(config.rules),
            "channels": {name: channels.privacy_url(name) for name in channels.names()},
        }
        if fmt is Format.json:
            print_json(summary, secrets=g.secrets)
        else:
            typer.echo(
                f"{g.config_path()}: OK ({counted(len(config.sources), 'source')}, "
                f"{counted(len(config.rules), 'rule')}, "
                f"{counted(len(channels.names()), 'channel')})"
            )
            for name in channels.names():
                typer.echo(f"  channel {name}: {channels.privacy_url(name)}")
        return
    rows = asyncio.run(_check_fetch(config))
    print_rows(rows, fmt, CHECK_COLUMNS, secrets=g.secrets, csv_columns=CHECK_COLUMNS)
    if any(r["status"] == "error" for r in rows):
        raise typer.Exit(1)


async def _check_fetch(config: Config) -> list[dict[str, object]]:
    async with Fetcher(fetch_limits(config)) as fetcher:
        surveys = await asyncio.gather(
            *(survey_source(s, fetcher, config.source_timeout(s)) for s in config.sources)
        )
    return [s.as_row() for s in surveys]


# --- export ---------------------------------------------------------


@app.command()
def export(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(help="Only articles newsmon fetched since (2024-05-01, 7d): fetched_at."),
    ] = None,
    published_since: Annotated[
        str | None,
        typer.Option(
            "--published-since",
            help="Only articles published since, by their publication date "
            "(published_at; undated ones are left out).",
        ),
    ] = None,
    fmt: Annotated[
        ExportFormat, typer.Option("--format", help="Output format.")
    ] = ExportFormat.jsonl,
) -> None:
    """Print every stored article (times in UTC)."""
    g = globals_of(ctx)
    fetched_after, published_after = parse_since(since), parse_since(published_since)
    store = g.reader()
    try:
        found = store.iter_articles(fetched_since=fetched_after, published_since=published_after)
        rows = (article_json(r, body=True) for r in found)
        if fmt is ExportFormat.jsonl:
            print_jsonl(rows, secrets=g.secrets)
        elif fmt is ExportFormat.csv:
            print_csv(rows, EXPORT_COLUMNS, secrets=g.secrets)
        else:
            print_json(list(rows), secrets=g.secrets)
    finally:
        store.close()


# --- sources -----------------------------------------------------------------

sources_app = typer.Typer(help="List sources and their polling state.", no_args_is_help=False)
app.add_typer(sources_app, name="sources")


@sources_app.callback(invoke_without_command=True)
def sources(
    ctx: typer.Context,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
) -> None:
    """Each source: last poll, status, items, errors, next poll."""
    if ctx.invoked_subcommand is not None:
        return
    g = globals_of(ctx)
    config = g.config()
    store = g.reader(config)
    try:
        if store.read_only:
            # Nothing can be written: list the sources as last stored, this config's only.
            names = {s.name for s in config.sources}
            statuses = [s for s in store.source_statuses(now()) if s.name in names]
            log.warning("database is read-only: sources are shown as last stored")
        else:
            store.sync_sources(source_specs(config), now())
            statuses = store.source_statuses(now())
        rows = [source_json(s) for s in statuses]
    finally:
        store.close()
    print_rows(rows, fmt, SOURCE_COLUMNS, secrets=g.secrets, display=display_of(g, config))


def now() -> datetime:
    return datetime.now(UTC)


# --- notify-test -------------------------------------------------------------


@app.command("notify-test")
def notify_test(
    ctx: typer.Context,
    channel: Annotated[str, typer.Argument(help="A channel name from the config.")],
) -> None:
    """Send a test message through a channel."""
    g = globals_of(ctx)
    config = g.config()
    channels = g.channels(config)
    if channel not in channels.names():
        raise UsageError(
            f"notify-test: unknown channel '{channel}' (known: {', '.join(channels.names())})"
        )
    result = asyncio.run(channels.send_test(channel))
    if not result.ok:
        fail(f"notify-test: {channel}: {result.error}", 1, g.secrets)
    typer.echo(f"sent a test message to {channel} ({channels.privacy_url(channel)})")


# --- db ----------------------------------------------------------------------

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply database migrations, then fingerprint and cluster the stored articles
    that have no current fingerprint (in batches, with progress)."""
    g = globals_of(ctx)
    url = g.database_url()
    # The cluster window is the config's when there is a config file, else the default.
    settings = g.config().settings if g.config_path().is_file() else Settings()
    store = Store(url)
    try:
        store.upgrade()
        with _fingerprint_progress() as report:
            done = fingerprint_archive(
                store, story_policy(settings.cluster_window), progress=report
            )
    finally:
        store.close()
    if done:
        typer.echo(f"fingerprinted {counted(done, 'article')} and placed them in their stories")
    typer.echo("database is up to date")


@contextmanager
def _fingerprint_progress() -> Iterator[Callable[[int, int], None]]:
    """A callback per batch: a rich progress bar on a terminal, log lines otherwise."""
    if not sys.stderr.isatty():

        def line(done: int, total: int) -> None:
            log.info("db upgrade: fingerprinted %d of %s", done, counted(total, "article"))

        yield line
        return
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("fingerprinting articles", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
