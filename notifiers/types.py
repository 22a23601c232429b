"""What a message is: `notifiers` owns these; `monitor` builds them from stored rows."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, tzinfo

__all__ = ["Alert", "AlertItem", "Rendered", "SendResult"]


@dataclass(frozen=True, slots=True)
class AlertItem:
    """One matched article inside an alert."""

    title: str
    url: str
    snippet: str  # plain text, unescaped
    spans: tuple[tuple[int, int], ...] = ()  # hit spans [start, end) inside snippet
    terms: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()  # source names carrying the story
    published_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    """A message for one rule: one item (instant) or several (combined, digest)."""

    rule: str
    items: tuple[AlertItem, ...]
    kind: str = "instant"  # instant | combined | digest

    def in_zone(self, zone: tzinfo) -> Alert:
        """The alert with its items' times in `zone`, as people should read them."""
        return replace(
            self,
            items=tuple(
                replace(item, published_at=item.published_at.astimezone(zone))
                if item.published_at is not None and item.published_at.tzinfo is not None
                else item
                for item in self.items
            ),
        )


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message rendered for one channel family."""

    title: str
    body: str
    body_format: str  # "html" | "text"


@dataclass(frozen=True, slots=True)
class SendResult:
    """The outcome of one send; `error` is safe to show (no secrets)."""

    ok: bool
    error: str | None = None
    retry_after: float | None = None  # seconds, when the service asked for it
    # A failed multi-part send: how many leading items of the alert the channel
    # accepted before the failure. None: all of them (ok) or none (failed).
    delivered_items: int | None = None
