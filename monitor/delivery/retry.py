"""The delivery retry policy: when to try a failed alert again, and when to give up (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["DELIVERY_GIVE_UP", "delivery_retry_at"]

DELIVERY_FIRST_RETRY = 60  # seconds
DELIVERY_MAX_RETRY = 3600
DELIVERY_GIVE_UP = timedelta(hours=24)


def delivery_retry_at(
    now: datetime,
    attempts: int,
    first_attempt_at: datetime,
    retry_after: float | None = None,
) -> datetime | None:
    """When to retry a failed delivery after `attempts` tries, or None to give up (dead).

    1 minute doubling to 1 hour, never sooner than the channel asked; after
    24 hours of trying, give up.
    """
    if now - first_attempt_at >= DELIVERY_GIVE_UP:
        return None
    delay = min(DELIVERY_FIRST_RETRY * 2 ** max(attempts - 1, 0), DELIVERY_MAX_RETRY)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return now + timedelta(seconds=delay)
