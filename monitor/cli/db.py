"""`newsmon db prune`: apply the retention now (the daemon also does it daily)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from monitor.cli.app import UsageError, globals_of, parse_since
from monitor.cli.commands import db_app
from monitor.config.units import parse_duration

__all__ = ["db_prune"]


@db_app.command("prune")
def db_prune(
    ctx: typer.Context,
    older_than: Annotated[
        str | None,
        typer.Option(
            help="Prune bodies fetched longer ago than this (default settings.retention)."
        ),
    ] = None,
    before: Annotated[
        str | None, typer.Option(help="Prune bodies fetched before this date (2024-05-01).")
    ] = None,
    vacuum: Annotated[
        bool | None,
        typer.Option(
            "--vacuum/--no-vacuum", help="Force or skip VACUUM (default: when worthwhile)."
        ),
    ] = None,
) -> None:
    """Empty the bodies of old articles; metadata and tombstones stay."""
    g = globals_of(ctx)
    config = g.config()
    now = datetime.now(UTC)
    if older_than is not None and before is not None:
        raise UsageError("db prune: give --older-than or --before, not both")
    if before is not None:
        cutoff = parse_since(before, now)
    elif older_than is not None:
        try:
            cutoff = now - timedelta(seconds=parse_duration(older_than))
        except ValueError as exc:
            raise UsageError(f"db prune: --older-than: {exc}") from None
    elif config.settings.retention is not None:
        cutoff = now - timedelta(seconds=config.settings.retention)
    else:
        raise UsageError(
            "db prune: no retention configured (set settings.retention, e.g. 365d, "
            "or give --older-than 90d)"
        )
    assert cutoff is not None
    store = g.store(config)
    try:
        report = store.prune(cutoff, vacuum=vacuum)
    finally:
        store.close()
    typer.echo(report.describe())
