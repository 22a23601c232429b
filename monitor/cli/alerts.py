"""`newsmon alerts`: the outbox. List it, requeue what failed, send what is due.

``alerts send`` is the delivery half of ``run --once`` without the polling: the
instant alerts that are due (new ones and failed ones whose retry time came)
go out now. Digests keep their schedule (``newsmon digest`` sends them now).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import typer

from monitor.cli.app import Format, Globals, UsageError, app, globals_of
from monitor.cli.output import delivery_json, display_of, print_rows
from monitor.config.load import Config
from monitor.delivery.outbox import Deliverer, DeliveryReport
from monitor.wording import counted
from storage import Store

__all__ = ["alerts", "alerts_app", "alerts_retry", "alerts_send"]

alerts_app = typer.Typer(help="The outbox of alerts: list, retry, send.")
app.add_typer(alerts_app, name="alerts")

STATUSES = ("pending", "sending", "sent", "failed", "dead")
RETRYABLE = ("failed", "dead")
ALERT_COLUMNS = ["id", "rule", "channel", "status", "attempts", "created_at", "title", "last_error"]
SEND_PASSES = 100  # each pass claims a batch; failures are not due again within a run


@alerts_app.callback(invoke_without_command=True)
def alerts(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option(help="Only this status: pending, sending, sent, failed, dead.")
    ] = None,
    rule: Annotated[str | None, typer.Option("--rule", help="Only this rule's alerts.")] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="At most this many, newest first.")
    ] = 1000,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
) -> None:
    """List alerts in the outbox, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    if status is not None and status not in STATUSES:
        raise UsageError(f"alerts: unknown status '{status}' (use {', '.join(STATUSES)})")
    g = globals_of(ctx)
    display = display_of(g) if fmt is Format.table else None
    store = g.reader()
    try:
        found = store.list_deliveries(status, limit=limit + 1, rule=rule)
    finally:
        store.close()
    rows = [delivery_json(d) for d in found[:limit]]
    title = None
    if fmt is Format.table and len(found) > limit:
        title = f"newest {counted(limit, 'alert')} (--limit {limit}); more are stored"
    print_rows(rows, fmt, ALERT_COLUMNS, secrets=g.secrets, title=title, display=display)


@alerts_app.command("retry")
def alerts_retry(
    ctx: typer.Context,
    ids: Annotated[
        list[int] | None, typer.Argument(help="Alert ids to send again (or --all).")
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every failed and dead alert (narrow it with the rest).")
    ] = False,
    rule: Annotated[str | None, typer.Option("--rule", help="With --all: this rule's.")] = None,
    channel: Annotated[
        str | None, typer.Option("--channel", help="With --all: this channel's.")
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="With --all: only failed or only dead.")
    ] = None,
) -> None:
    """Requeue failed or dead alerts: they are due now (`alerts send` or the daemon sends them)."""
    if every and ids:
        raise UsageError("alerts retry: give alert ids or --all, not both")
    if not every and not ids:
        raise UsageError("alerts retry: give alert ids or --all")
    if not every and (rule or channel or status):
        raise UsageError("alerts retry: --rule, --channel and --status go with --all")
    if status is not None and status not in RETRYABLE:
        raise UsageError(f"alerts retry: --status is failed or dead, not '{status}'")
    g = globals_of(ctx)
    store = g.store()
    now = datetime.now(UTC)
    try:
        if every:
            statuses = (status,) if status else RETRYABLE
            done = store.requeue_matching(now, statuses=statuses, rule=rule, channel=channel)
        else:
            done = store.requeue(ids or [], now)
    finally:
        store.close()
    missing = sorted(set(ids or []) - set(done))
    line = f"requeued {counted(len(done), 'alert')}"
    if every and not done:
        line = "nothing to requeue: no " + _scope(status, rule, channel)
    typer.echo(line + (f"; not failed or dead: {missing}" if missing else ""))
    if missing:
        raise typer.Exit(1)


def _scope(status: str | None, rule: str | None, channel: str | None) -> str:
    what = f"{status} alerts" if status else "failed or dead alerts"
    what += f" of rule {rule}" if rule else ""
    return what + (f" on channel {channel}" if channel else "")


@alerts_app.command("send")
def alerts_send(ctx: typer.Context) -> None:
    """Deliver the instant alerts that are due now, without polling any source."""
    g = globals_of(ctx)
    config = g.config()
    store = g.store(config)
    try:
        report = asyncio.run(_send_due(g, config, store))
    finally:
        store.close()
    failed = report.failed + report.dead
    if not (report.sent or failed or report.deferred):
        typer.echo("nothing due to send")
        return
    line = f"alerts send: {report.sent} sent, {failed} failed"
    if report.deferred:
        line += f", {report.deferred} held back (a channel asked to wait)"
    typer.echo(line)
    if failed:
        raise typer.Exit(1)


async def _send_due(g: Globals, config: Config, store: Store) -> DeliveryReport:
    deliverer = Deliverer(store, g.channels(config), lease_seconds=config.settings.delivery_lease)
    total = DeliveryReport()
    for _ in range(SEND_PASSES):  # one batch per pass: a large backlog takes several
        report = await deliverer.deliver_pending()
        total.add(report)
        if not (report.sent or report.failed or report.dead):
            break
    return total
