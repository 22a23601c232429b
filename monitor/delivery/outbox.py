"""The delivery loop: claim due outbox rows, render per channel, send, mark.

Rows are claimed with a lease before sending and marked after, so a crash
leaves them `sending` until the lease expires and another pass retries them:
at-least-once, with a duplicate possible only between the channel accepting
and the row being marked. A message sent in parts (Telegram) that fails
part-way marks the items of the accepted parts sent; only the rest is retried.
A channel that asks to wait (HTTP 429 "retry after N") is paused for the rest
of the pass: its other claimed rows are deferred N seconds, no attempt counted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from monitor import metrics
from monitor.delivery.plan import Message, Style, plan_messages
from monitor.delivery.retry import delivery_retry_at
from monitor.wording import counted
from notifiers import Channels, NotifyError
from notifiers.types import Alert, SendResult
from storage import Store
from storage.types import ClaimedDelivery

__all__ = [
    "DELIVERY_LEASE_SECONDS",
    "LATENCY_MAX_AGE",
    "Deliverer",
    "DeliveryReport",
    "SendOutcome",
]

log = logging.getLogger("newsmon.delivery")

DELIVERY_LEASE_SECONDS = 300  # how long a claimed row is ours before another sender may take it
# Older articles (a first poll, a backfill) say nothing about alert latency.
LATENCY_MAX_AGE = timedelta(days=7)


@dataclass(slots=True)
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    deferred: int = 0  # not attempted: the channel asked to wait

    def add(self, other: DeliveryReport) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.dead += other.dead
        self.deferred += other.deferred


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What one message did to its outbox rows."""

    channel: str
    alert: Alert
    result: SendResult
    rows: int
    retry_at: datetime | None = None  # the earliest retry when it failed; None: sent or dead
    sent_rows: int = 0  # rows the channel accepted: all when ok, the leading ones of a partial send

    @property
    def pause(self) -> float | None:
        """Seconds the channel asked us to wait before sending it anything else."""
        return None if self.result.ok else self.result.retry_after


class Deliverer:
    """Sends what the outbox holds and records each outcome on its rows."""

    def __init__(
        self,
        store: Store,
        channels: Channels,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        batch: int = 500,
        lease_seconds: int = DELIVERY_LEASE_SECONDS,
        claimant: str | None = None,
    ) -> None:
        self.store = store
        self.channels = channels
        self.clock = clock
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.claimant = claimant  # the replica id written on the rows it claims
        for name in channels.names():  # dashboards see 0, not a missing series
            metrics.ALERTS_FAILED.labels(name)
            metrics.ALERTS_DEAD.labels(name)
            metrics.ALERTS_SENT.labels(name)

    async def claim(
        self, *, mode: str | None, rule: str | None = None, retries_only: bool = False
    ) -> list[ClaimedDelivery]:
        """Lease the due deliveries of `mode` (and `rule`), at most one batch."""
        return await asyncio.to_thread(
            self.store.claim_deliveries,
            self.clock(),
            mode=mode,
            rule=rule,
            limit=self.batch,
            lease_seconds=self.lease_seconds,
            retries_only=retries_only,
            claimant=self.claimant,
        )

    async def deliver_pending(self) -> DeliveryReport:
        """One pass: claim every due instant delivery and send it, channels side by side."""
        rows = await self.claim(mode="instant")
        per_channel: dict[str, list[Message]] = {}
        for message in plan_messages(rows, "instant"):
            per_channel.setdefault(message.channel, []).append(message)
        reports = await asyncio.gather(*(self._send_in_turn(m) for m in per_channel.values()))
        total = DeliveryReport()
        for report in reports:
            total.add(report)
        return total

    async def _send_in_turn(self, messages: list[Message]) -> DeliveryReport:
        report = DeliveryReport()
        await self.send_messages(messages, report, {})
        return report

    async def deliver_claimed(
        self,
        *,
        mode: str,
        style: Style,
        rules: Sequence[str | None],
        report: DeliveryReport,
        retries_only: bool = False,
    ) -> list[SendOutcome]:
        """Claim rule by rule in batches until nothing is due; send each batch as planned.

        A channel that asks to wait gets nothing more in this call: its later
        messages are deferred.
        """
        outcomes: list[SendOutcome] = []
        paused: dict[str, SendOutcome] = {}
        for rule in rules:
            while True:
                rows = await self.claim(mode=mode, rule=rule, retries_only=retries_only)
                plan = plan_messages(rows, style)
                outcomes += await self.send_messages(plan, report, paused)
                if len(rows) < self.batch:
                    break
        return outcomes

    async def send_messages(
        self,
        messages: Sequence[Message],
        report: DeliveryReport,
        paused: dict[str, SendOutcome],
    ) -> list[SendOutcome]:
        """Send planned messages in order; a paused channel's messages are deferred."""
        outcomes: list[SendOutcome] = []
        for message in messages:
            channel = message.channel
            if channel in paused:
                await self.defer(channel, message.rows, paused[channel], report)
                continue
            outcome = await self.send(channel, message.alert, message.rows, report)
            outcomes.append(outcome)
            if outcome.pause is not None:
                paused[channel] = outcome
        return outcomes

    async def defer(
        self,
        channel: str,
        rows: Sequence[ClaimedDelivery],
        paused_by: SendOutcome,
        report: DeliveryReport,
    ) -> None:
        """Hand `rows` back unsent until the pause `paused_by` asked for is over."""
        if not rows:
            return
        until = self.clock() + timedelta(seconds=paused_by.pause or 0)
        reason = f"not sent: {channel} asked to wait ({paused_by.result.error or 'rate limited'})"
        await asyncio.to_thread(self.store.defer, [r.id for r in rows], until, reason)
        report.deferred += len(rows)
        log.warning(
            "%s asked to wait %.0fs: %s deferred",
            channel,
            paused_by.pause or 0,
            counted(len(rows), "alert"),
            extra={"channel": channel},
        )

    async def send(
        self,
        channel: str,
        alert: Alert,
        group: Sequence[ClaimedDelivery],
        report: DeliveryReport,
    ) -> SendOutcome:
        """Send one message for `group` and mark its rows sent, failed or dead."""
        try:
            result = await self.channels.send(channel, alert)
        except NotifyError as exc:  # e.g. a channel removed from the config since queueing
            result = SendResult(ok=False, error=str(exc))
        now = self.clock()
        accepted = len(group) if result.ok else min(result.delivered_items or 0, len(group))
        if accepted:
            done = group[:accepted]  # a split message delivers its items in order
            await asyncio.to_thread(self.store.mark_sent, [r.id for r in done], now)
            report.sent += accepted
            _count_sent(channel, done, now)
            log.info(
                "sent %s to %s", counted(accepted, "alert"), channel, extra={"channel": channel}
            )
        if result.ok:
            if result.error:  # accepted with a problem, e.g. some email recipients refused
                log.warning(
                    "sent to %s with a problem: %s",
                    channel,
                    result.error,
                    extra={"channel": channel},
                )
            return SendOutcome(channel, alert, result, len(group), sent_rows=accepted)
        rest = group[accepted:]
        error = result.error or "send failed"
        retries: list[datetime] = []
        for row in rest:
            retry_at = delivery_retry_at(
                now, row.attempts + 1, row.first_attempt_at or now, result.retry_after
            )
            await asyncio.to_thread(self.store.mark_failed, [row.id], error, now, retry_at)
            if retry_at is None:
                report.dead += 1
                metrics.ALERTS_DEAD.labels(channel).inc()
            else:
                report.failed += 1
                metrics.ALERTS_FAILED.labels(channel).inc()
                retries.append(retry_at)
        log.warning("delivery to %s failed: %s", channel, error, extra={"channel": channel})
        if len(retries) < len(rest):
            log.error(
                "gave up on %s to %s after 24 hours of failures",
                counted(len(rest) - len(retries), "alert"),
                channel,
                extra={"channel": channel},
            )
        retry_at = min(retries, default=None)
        return SendOutcome(channel, alert, result, len(group), retry_at, sent_rows=accepted)


def _count_sent(channel: str, group: Sequence[ClaimedDelivery], now: datetime) -> None:
    metrics.ALERTS_SENT.labels(channel).inc(len(group))
    for row in group:
        published = row.article.published_at
        if published is not None and now - LATENCY_MAX_AGE <= published <= now:
            metrics.ALERT_LATENCY.observe((now - published).total_seconds())
