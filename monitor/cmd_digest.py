"""`newsmon digest [--rule NAME]`: send the pending digests now."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from monitor.cli import UsageError, app, globals_of, make_channels
from monitor.config import Config
from monitor.delivery import Deliverer, SendOutcome
from monitor.digest import send_digests

__all__ = ["digest", "digest_line"]


def digest_line(outcome: SendOutcome) -> str:
    """One line per digest message: rule, channel, how many matches, what happened."""
    n = outcome.rows
    what = f"{n} match" if n == 1 else f"{n} matches"
    head = f"digest {outcome.alert.rule} -> {outcome.channel}: {what}"
    if outcome.result.ok:
        return f"{head} sent"
    when = f" (retry after {outcome.retry_at:%Y-%m-%dT%H:%M:%SZ})" if outcome.retry_at else ""
    return f"{head} failed: {outcome.result.error}{when}"


def _check_rule(config: Config, rule: str) -> None:
    digests = [r.name for r in config.rules if r.mode == "digest"]
    found = next((r for r in config.rules if r.name == rule), None)
    if found is None:
        known = ", ".join(digests) or "none"
        raise UsageError(f"digest: unknown rule '{rule}' (digest rules: {known})")
    if found.mode != "digest":
        raise UsageError(f"digest: rule '{rule}' is not a digest rule (its mode is {found.mode})")


@app.command()
def digest(
    ctx: typer.Context,
    rule: Annotated[
        str | None, typer.Option("--rule", help="Only this rule's digest (default: every rule).")
    ] = None,
) -> None:
    """Send the pending digests now; an empty digest is not sent."""
    g = globals_of(ctx)
    config = g.config()
    if rule is not None:
        _check_rule(config, rule)
    channels = make_channels(config)
    store = g.store(config)
    try:
        deliverer = Deliverer(store, channels, lease_seconds=config.settings.delivery_lease)
        outcomes = asyncio.run(send_digests(deliverer, None if rule is None else [rule]))
    finally:
        store.close()
    if not outcomes:
        typer.echo("no pending digest matches" + (f" for {rule}" if rule else ""))
    for outcome in outcomes:
        typer.echo(digest_line(outcome), err=not outcome.result.ok)
    if any(not o.result.ok for o in outcomes):
        raise typer.Exit(1)
