"""`newsmon sources pause NAME...` and `newsmon sources resume NAME...`.

A paused source stays configured and keeps its articles but is not polled,
by the daemon or by `run --once`, until resumed; the flag lives in the
database, so every replica and the next restart see it. `newsmon sources`
shows it as ``paused``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from monitor.cli.app import globals_of
from monitor.cli.commands import sources_app
from monitor.cli.pick import pick_sources
from monitor.daemon.service import source_specs

__all__ = ["sources_pause", "sources_resume"]

_NAMES = typer.Argument(help="Source names from the config.", metavar="NAME...")


@sources_app.command("pause")
def sources_pause(ctx: typer.Context, names: Annotated[list[str], _NAMES]) -> None:
    """Stop polling these sources until `sources resume` (articles are kept)."""
    _set(ctx, names, paused=True)


@sources_app.command("resume")
def sources_resume(ctx: typer.Context, names: Annotated[list[str], _NAMES]) -> None:
    """Poll paused sources again, from their next due time."""
    _set(ctx, names, paused=False)


def _set(ctx: typer.Context, names: list[str], *, paused: bool) -> None:
    g = globals_of(ctx)
    config = g.config()
    verb = "pause" if paused else "resume"
    wanted = pick_sources(config, names, f"sources {verb}")
    store = g.store(config)
    try:
        store.sync_sources(source_specs(config), datetime.now(UTC))
        done = store.set_paused(wanted, paused)
    finally:
        store.close()
    state = "paused" if paused else "resumed"
    for name in done:
        typer.echo(f"{state} {name}")
