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

from monitor.schedule import delivery_retry_at
from notifiers import Channels, NotifyError
from notifiers.types import Alert, AlertItem, SendResult
from storage import Store
from storage.types import ClaimedDelivery

__all__ = ["FLOOD_THRESHOLD", "Deliverer", "DeliveryReport", "alert_item"]

log = logging.getLogger("newsmon.delivery")

FLOOD_THRESHOLD = 10  # more instant alerts than this for one channel in one pass: combine


@dataclass(slots=True)
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0


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


class Deliverer:
    """Sends what the outbox holds for instant rules."""

    def __init__(
        self,
        store: Store,
        channels: Channels,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        batch: int = 500,
    ) -> None:
        self.store = store
        self.channels = channels
        self.clock = clock
        self.batch = batch

    async def deliver_pending(self) -> DeliveryReport:
        """One pass: claim every due instant delivery and send it."""
        rows = await asyncio.to_thread(
            self.store.claim_deliveries, self.clock(), mode="instant", limit=self.batch
        )
        by_channel: dict[str, list[ClaimedDelivery]] = defaultdict(list)
        for row in rows:
            by_channel[row.channel].append(row)
        reports = await asyncio.gather(
            *(self._deliver_channel(name, group) for name, group in by_channel.items())
        )
        total = DeliveryReport()
        for report in reports:
            total.sent += report.sent
            total.failed += report.failed
            total.dead += report.dead
        return total

    async def _deliver_channel(self, channel: str, rows: list[ClaimedDelivery]) -> DeliveryReport:
        report = DeliveryReport()
        for alert, group in plan_alerts(rows):
            try:
                result = await self.channels.send(channel, alert)
            except NotifyError as exc:
                result = SendResult(ok=False, error=str(exc))
            await self._record(channel, group, result, report)
        return report

    async def _record(
        self,
        channel: str,
        group: list[ClaimedDelivery],
        result: SendResult,
        report: DeliveryReport,
    ) -> None:
        now = self.clock()
        ids = [r.id for r in group]
        if result.ok:
            await asyncio.to_thread(self.store.mark_sent, ids, now)
            report.sent += len(ids)
            log.info("sent %d alert(s) to %s", len(ids), channel, extra={"channel": channel})
            return
        error = result.error or "send failed"
        for row in group:
            retry_at = delivery_retry_at(
                now, row.attempts + 1, row.first_attempt_at or now, result.retry_after
            )
            await asyncio.to_thread(self.store.mark_failed, [row.id], error, now, retry_at)
            if retry_at is None:
                report.dead += 1
            else:
                report.failed += 1
        log.warning("delivery to %s failed: %s", channel, error, extra={"channel": channel})
