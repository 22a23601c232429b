"""The delivery loop: claim due outbox rows, render per channel, send, mark.

Rows are claimed with a lease before sending and marked after, so a crash
leaves them `sending` until the lease expires and another pass retries them:
at-least-once, with a duplicate possible only between the channel accepting
and the row being marked.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor import metrics
from monitor.schedule import delivery_retry_at
from notifiers import Channels, NotifyError
from notifiers.types import Alert, AlertItem, SendResult
from storage import Store
from storage.types import ClaimedDelivery

__all__ = [
    "DELIVERY_LEASE_SECONDS",
    "FLOOD_THRESHOLD",
    "Deliverer",
    "DeliveryReport",
    "SendOutcome",
    "alert_item",
    "plan_alerts",
]

log = logging.getLogger("newsmon.delivery")

FLOOD_THRESHOLD = 10  # more instant alerts than this for one channel in one pass: combine
DELIVERY_LEASE_SECONDS = 300  # how long a claimed row is ours before another sender may take it


@dataclass(slots=True)
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0

    def add(self, other: DeliveryReport) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.dead += other.dead


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What one message did to its outbox rows."""

    channel: str
    alert: Alert
    result: SendResult
    rows: int
    retry_at: datetime | None = None  # the earliest retry when it failed; None: sent or dead


def alert_item(row: ClaimedDelivery) -> AlertItem:
    """The notifiers' view of a claimed delivery."""
    return AlertItem(
        title=row.article.title or row.article.url,
        url=row.article.original_url or row.article.url,
        snippet=row.snippet,
        spans=row.spans,
        terms=row.terms,
        outlets=row.outlets,
        published_at=row.article.published_at,
    )


def plan_alerts(
    rows: Sequence[ClaimedDelivery], threshold: int = FLOOD_THRESHOLD
) -> list[tuple[Alert, list[ClaimedDelivery]]]:
    """Group one channel's rows into messages: one each, or one combined past the threshold."""
    if len(rows) > threshold:
        rules = ", ".join(dict.fromkeys(r.rule for r in rows))
        items = tuple(alert_item(r) for r in rows)
        return [(Alert(rule=rules, items=items, kind="combined"), list(rows))]
    return [(Alert(rule=r.rule, items=(alert_item(r),)), [r]) for r in rows]


def by_channel(rows: Sequence[ClaimedDelivery]) -> dict[str, list[ClaimedDelivery]]:
    """Claimed rows per channel, in claim order."""
    groups: dict[str, list[ClaimedDelivery]] = defaultdict(list)
    for row in rows:
        groups[row.channel].append(row)
    return groups


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
    ) -> None:
        self.store = store
        self.channels = channels
        self.clock = clock
        self.batch = batch
        self.lease_seconds = lease_seconds

    async def claim(self, *, mode: str | None, rule: str | None = None) -> list[ClaimedDelivery]:
        """Lease the due deliveries of `mode` (and `rule`), at most one batch."""
        return await asyncio.to_thread(
            self.store.claim_deliveries,
            self.clock(),
            mode=mode,
            rule=rule,
            limit=self.batch,
            lease_seconds=self.lease_seconds,
        )

    async def deliver_pending(self) -> DeliveryReport:
        """One pass: claim every due instant delivery and send it."""
        rows = await self.claim(mode="instant")
        reports = await asyncio.gather(
            *(self._deliver_channel(name, group) for name, group in by_channel(rows).items())
        )
        total = DeliveryReport()
        for report in reports:
            total.add(report)
        return total

    async def _deliver_channel(self, channel: str, rows: list[ClaimedDelivery]) -> DeliveryReport:
        report = DeliveryReport()
        for alert, group in plan_alerts(rows):
            await self.send(channel, alert, group, report)
        return report

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
        ids = [r.id for r in group]
        if result.ok:
            await asyncio.to_thread(self.store.mark_sent, ids, now)
            report.sent += len(ids)
            _count_sent(channel, group, now)
            log.info("sent %d alert(s) to %s", len(ids), channel, extra={"channel": channel})
            if result.error:  # accepted with a problem, e.g. some email recipients refused
                log.warning(
                    "sent to %s with a problem: %s",
                    channel,
                    result.error,
                    extra={"channel": channel},
                )
            return SendOutcome(channel, alert, result, len(ids))
        error = result.error or "send failed"
        retries: list[datetime] = []
        for row in group:
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
        if len(retries) < len(group):
            log.error(
                "gave up on %d alert(s) to %s after 24 hours of failures",
                len(group) - len(retries),
                channel,
                extra={"channel": channel},
            )
        return SendOutcome(channel, alert, result, len(ids), min(retries, default=None))


def _count_sent(channel: str, group: Sequence[ClaimedDelivery], now: datetime) -> None:
    metrics.ALERTS_SENT.labels(channel).inc(len(group))
    for row in group:
        published = row.article.published_at
        if published is not None and published <= now:
            metrics.ALERT_LATENCY.observe((now - published).total_seconds())
