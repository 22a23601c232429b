"""Helpers for the delivery tests: an injectable clock and outbox rows from real ingests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage import Candidate, DeliveryIn, Store
from tests.storage.builders import add_sources, article

NOW = datetime(2024, 5, 6, 0, 30, tzinfo=UTC)


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def queue_matches(
    store: Store,
    keys: Sequence[str],
    *,
    rule: str = "asean-russia",
    channels: Sequence[str] = ("mail",),
    mode: str = "instant",
    now: datetime = NOW,
    published_at: datetime | None = None,
) -> None:
    """Store one article per key (title `ASEAN story <key>`) with its deliveries queued."""
    source_id = add_sources(store, "wire", now=now)["wire"]
    articles = [
        article(
            key,
            title=f"ASEAN story {key}",
            published_at=published_at or now - timedelta(minutes=10),
        )
        for key in keys
    ]

    deliveries = tuple(
        DeliveryIn(rule, channel, mode, ("ASEAN",), "ASEAN leaders met.", ((0, 5),))
        for channel in channels
    )
    store.ingest(source_id, [Candidate(a, deliveries) for a in articles], now)


def utc_plus(text: str) -> datetime:
    """An ISO time without offset, read as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
