"""Digests: every pending match of a digest rule, one message per rule and channel.

The scheduler (`monitor.daemon.scheduler`) decides when a rule's digest is due;
`newsmon digest` sends them on demand. Both call `send_digests`. A digest with
nothing pending sends nothing. Rows of a digest that fails stay `failed` in
the database with their next attempt time; the daemon's digest job retries
them when due (`send_digests(retries_only=True)`, so also after a restart), and
`newsmon digest` sends them along with the pending matches.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from monitor.delivery.outbox import Deliverer, DeliveryReport, SendOutcome
from monitor.wording import counted

__all__ = ["send_backfill_alerts", "send_digests"]

log = logging.getLogger("newsmon.digest")


async def send_digests(
    deliverer: Deliverer,
    rules: Sequence[str] | None = None,
    report: DeliveryReport | None = None,
    *,
    retries_only: bool = False,
) -> list[SendOutcome]:
    """Send the pending digests of `rules` (None: of every rule) now; one outcome per message.

    `retries_only`: just the failed digest rows due for a retry. Claims in
    batches until nothing due is left, so a large backlog becomes several
    messages rather than one unbounded one. A channel that asks to wait gets
    nothing more in this call: its other digests are deferred.
    """
    report = report if report is not None else DeliveryReport()
    outcomes = await deliverer.deliver_claimed(
        mode="digest",
        style="digest",
        rules=list(rules) if rules is not None else [None],
        report=report,
        retries_only=retries_only,
    )
    for outcome in outcomes:
        log.info(
            "digest %s to %s: %s %s",
            outcome.alert.rule,
            outcome.channel,
            counted(outcome.rows, "match"),
            "sent" if outcome.result.ok else "failed",
            extra={"channel": outcome.channel, "rule": outcome.alert.rule},
        )
    return outcomes


async def send_backfill_alerts(deliverer: Deliverer, rules: Sequence[str]) -> DeliveryReport:
    """Send each rule's pending instant alerts; more than the flood threshold: one digest."""
    report = DeliveryReport()
    await deliverer.deliver_claimed(mode="instant", style="backfill", rules=rules, report=report)
    return report
