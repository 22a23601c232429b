"""Digests: every pending match of a digest rule, one message per rule and channel.

The scheduler (`monitor.scheduler`) decides when a rule's digest is due;
`newsmon digest` sends them on demand. Both call `send_digests`. A digest with
nothing pending sends nothing. Rows of a digest that fails stay `failed` in
the database with their next attempt time; the daemon's digest job retries
them when due (`send_digests(retries_only=True)`, so also after a restart), and
`newsmon digest` sends them along with the pending matches.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from monitor.delivery import Deliverer, DeliveryReport, SendOutcome, alert_item
from notifiers.types import Alert
from storage.types import ClaimedDelivery

__all__ = ["digest_alerts", "send_digests"]

log = logging.getLogger("newsmon.digest")


def digest_alerts(
    rows: Sequence[ClaimedDelivery],
) -> list[tuple[str, Alert, list[ClaimedDelivery]]]:
    """(channel, digest alert, its rows) for each rule and channel, in claim order."""
    groups: dict[tuple[str, str], list[ClaimedDelivery]] = {}
    for row in rows:
        groups.setdefault((row.rule, row.channel), []).append(row)
    return [
        (channel, Alert(rule=rule, items=tuple(alert_item(r) for r in group), kind="digest"), group)
        for (rule, channel), group in groups.items()
    ]


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
    outcomes: list[SendOutcome] = []
    paused: dict[str, SendOutcome] = {}
    for rule in rules if rules is not None else [None]:
        while True:
            rows = await deliverer.claim(mode="digest", rule=rule, retries_only=retries_only)
            for channel, alert, group in digest_alerts(rows):
                if channel in paused:
                    await deliverer.defer(channel, group, paused[channel], report)
                    continue
                outcome = await deliverer.send(channel, alert, group, report)
                outcomes.append(outcome)
                if outcome.pause is not None:
                    paused[channel] = outcome
                log.info(
                    "digest %s to %s: %d match(es) %s",
                    alert.rule,
                    channel,
                    len(group),
                    "sent" if outcome.result.ok else "failed",
                    extra={"channel": channel, "rule": alert.rule},
                )
            if len(rows) < deliverer.batch:
                break
    return outcomes
