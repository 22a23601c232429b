"""`newsmon db prune`: apply the retention now (the daemon also does it daily).

Pruning empties article bodies and cannot be undone, so its duration needs a
unit (`--older-than 30` is refused: 30 seconds is never what was meant) and
`--dry-run` counts what would go.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Annotated

import typer

from monitor.cli.app import UsageError, globals_of, parse_since
from monitor.cli.commands import db_app
from monitor.clock import duration_words, local_time, zone
from monitor.config.units import parse_duration
from monitor.wording import counted
from storage.types import PruneReport

__all__ = ["db_prune", "prune_summary"]


@db_app.command("prune")
def db_prune(
    ctx: typer.Context,
    older_than: Annotated[
        str | None,
        typer.Option(
            help="Prune bodies fetched longer ago than this, with a unit: 30d, 12h "
            "(default settings.retention)."
        ),
    ] = None,
    before: Annotated[
        str | None, typer.Option(help="Prune bodies fetched before this date (2024-05-01).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be pruned; change nothing.")
    ] = False,
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
    age: int | None = None
    if before is not None:
        cutoff = parse_since(before, now)
    elif older_than is not None:
        age = _age(older_than)
        cutoff = now - timedelta(seconds=age)
    elif config.settings.retention is not None:
        age = config.settings.retention
        cutoff = now - timedelta(seconds=age)
    else:
        raise UsageError(
            "db prune: no retention configured (set settings.retention, e.g. 365d, "
            "or give --older-than 90d)"
        )
    assert cutoff is not None
    where = zone(config.settings.timezone)
    store = g.store(config)
    try:
        if dry_run:
            due, tombstones = store.prune_preview(cutoff)
            typer.echo(
                f"would prune {_bodies(due)} {_which(age, cutoff, where)}; "
                f"{counted(tombstones, 'tombstone')} kept already; nothing changed (--dry-run)"
            )
            return
        report = store.prune(cutoff, vacuum=vacuum)
    finally:
        store.close()
    typer.echo(prune_summary(report, age, where))


def _age(text: str) -> int:
    """--older-than's seconds; a bare number is refused (it would mean seconds)."""
    if text.strip().isdigit():
        n = text.strip()
        raise UsageError(f"db prune: --older-than {n}: give a unit: {n}d, {n}h, {n}m")
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"db prune: --older-than: {exc}") from None


def _bodies(n: int) -> str:
    return counted(n, "article body", "article bodies")


def _which(age: int | None, cutoff: datetime, where: tzinfo) -> str:
    fetched = f"fetched before {local_time(cutoff, where)}"
    return f"older than {duration_words(age)} ({fetched})" if age is not None else fetched


def prune_summary(report: PruneReport, age: int | None, where: tzinfo) -> str:
    """What a prune did, in words: pruned 120 article bodies older than 30 days (...)."""
    done = [
        what for what, ran in (("VACUUM", report.vacuumed), ("ANALYZE", report.analyzed)) if ran
    ]
    tail = f"; ran {' and '.join(done)}" if done else ""
    return (
        f"pruned {_bodies(report.pruned)} {_which(age, report.before, where)}; "
        f"{counted(report.tombstones, 'tombstone')} kept (titles, URLs and dates stay){tail}"
    )
