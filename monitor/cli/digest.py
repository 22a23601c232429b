"""`newsmon digest [--rule NAME]`: send the pending digests now.

Failed digest matches that are due for a retry are sent too; ones still
waiting for their next attempt are listed with its time.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import Annotated

import typer

from monitor.cli.app import UsageError, app, globals_of
from monitor.clock import local_time, zone
from monitor.config.load import Config
from monitor.delivery.digest import send_digests
from monitor.delivery.outbox import Deliverer, SendOutcome
from storage.types import DeliveryRow

__all__ = ["digest", "digest_line", "waiting_lines"]


def _matches(n: int) -> str:
    return f"{n} match" if n == 1 else f"{n} matches"


def digest_line(outcome: SendOutcome, where: tzinfo = UTC) -> str:
    """One line per digest message: rule, channel, how many matches, what happened."""
    head = f"digest {outcome.alert.rule} -> {outcome.channel}: {_matches(outcome.rows)}"
    if outcome.result.ok:
        return f"{head} sent"
    if outcome.sent_rows:  # a message in parts that failed part-way
        head += f", {outcome.sent_rows} sent, {outcome.rows - outcome.sent_rows}"
    when = f" (retry after {local_time(outcome.retry_at, where)})" if outcome.retry_at else ""
    return f"{head} failed: {outcome.result.error}{when}"


def waiting_lines(
    rows: Sequence[DeliveryRow], rule: str | None = None, where: tzinfo = UTC
) -> list[str]:
    """Failed digest matches not yet due, per rule and channel, with their next attempt."""
    count: Counter[tuple[str, str]] = Counter()
    first: dict[tuple[str, str], datetime] = {}
    for row in rows:
        if row.mode != "digest" or row.status != "failed" or row.next_attempt_at is None:
            continue
        if rule is not None and row.rule != rule:
            continue
        key = (row.rule, row.channel)
        count[key] += 1
        first[key] = min(first.get(key, row.next_attempt_at), row.next_attempt_at)
    return [
        f"digest {r} -> {c}: {_matches(n)} waiting to be retried at "
        f"{local_time(first[(r, c)], where)}"
        for (r, c), n in sorted(count.items())
    ]


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
    channels = g.channels(config)
    store = g.store(config)
    try:
        deliverer = Deliverer(store, channels, lease_seconds=config.settings.delivery_lease)
        outcomes = asyncio.run(send_digests(deliverer, None if rule is None else [rule]))
        where = zone(config.settings.timezone)
        waiting = waiting_lines(store.list_deliveries("failed", limit=100_000), rule, where)
    finally:
        store.close()
    for line in waiting:
        typer.echo(line)
    if not outcomes and not waiting:
        typer.echo("no pending digest matches" + (f" for {rule}" if rule else ""))
    for outcome in outcomes:
        typer.echo(digest_line(outcome, where), err=not outcome.result.ok)
    if any(not o.result.ok for o in outcomes):
        raise typer.Exit(1)
