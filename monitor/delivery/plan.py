"""The one delivery planner: claimed outbox rows grouped into messages (pure).

Every sender groups with it: the daemon's instant pass, digests, `backfill
--alert` and `rematch --alert`. A style names the grouping:

- ``instant``: one message per row, except that more than `FLOOD_THRESHOLD`
  rows for one channel in one pass become one combined message;
- ``digest``: one message per rule and channel with every row;
- ``backfill``: per rule and channel, one message per row, or one digest when
  there are more than `FLOOD_THRESHOLD` (history must not flood a channel).

Messages keep claim order within a channel, so a channel that asks to wait
defers exactly the messages after the one that was refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from notifiers.types import Alert, AlertItem
from storage.types import ClaimedDelivery

__all__ = ["FLOOD_THRESHOLD", "Message", "Style", "alert_item", "plan_messages"]

FLOOD_THRESHOLD = 10  # more alerts than this for one channel in one pass: combine
Style = Literal["instant", "digest", "backfill"]


@dataclass(frozen=True, slots=True)
class Message:
    """One message to send on one channel, and the outbox rows it carries."""

    channel: str
    alert: Alert
    rows: list[ClaimedDelivery]


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


def plan_messages(
    rows: Sequence[ClaimedDelivery], style: Style, *, threshold: int = FLOOD_THRESHOLD
) -> list[Message]:
    """Group claimed rows into messages in the given style, in claim order."""
    if style == "instant":
        return [m for group in _grouped(rows, by_rule=False) for m in _instant(group, threshold)]
    messages: list[Message] = []
    for group in _grouped(rows, by_rule=True):
        if style == "digest" or len(group) > threshold:
            messages.append(_combined(group, "digest"))
        else:
            messages.extend(_single(row) for row in group)
    return messages


def _grouped(rows: Sequence[ClaimedDelivery], *, by_rule: bool) -> list[list[ClaimedDelivery]]:
    groups: dict[tuple[str, str], list[ClaimedDelivery]] = {}
    for row in rows:
        key = (row.rule if by_rule else "", row.channel)
        groups.setdefault(key, []).append(row)
    return list(groups.values())


def _instant(group: list[ClaimedDelivery], threshold: int) -> list[Message]:
    if len(group) > threshold:
        return [_combined(group, "combined")]
    return [_single(row) for row in group]


def _single(row: ClaimedDelivery) -> Message:
    return Message(row.channel, Alert(rule=row.rule, items=(alert_item(row),)), [row])


def _combined(group: list[ClaimedDelivery], kind: Literal["combined", "digest"]) -> Message:
    rules = ", ".join(dict.fromkeys(r.rule for r in group))
    items = tuple(alert_item(r) for r in group)
    return Message(group[0].channel, Alert(rule=rules, items=items, kind=kind), list(group))
