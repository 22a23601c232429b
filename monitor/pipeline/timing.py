"""Polling arithmetic: when to poll a source next.

Pure functions of their inputs and an explicit `now`; randomness comes in as
a number in [0, 1) so tests can pin it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "MAX_BACKOFF",
    "MIN_INTERVAL",
    "PAGE_RETRY_BASE",
    "PAGE_RETRY_MAX",
    "PollTiming",
    "max_age_seconds",
    "next_poll_at",
    "page_retry_at",
]

MAX_BACKOFF = 6 * 3600  # seconds: the longest wait after consecutive errors
MIN_INTERVAL = 60  # seconds: the floor when polling sooner after a window overflow
JITTER = 0.10
PAGE_RETRY_BASE = 3600  # seconds: the first wait before an article page that failed is tried again
PAGE_RETRY_MAX = 7 * 86400  # seconds: the longest wait between tries of a failing page


@dataclass(frozen=True, slots=True)
class PollTiming:
    """What the last poll tells about the next one."""

    interval: int  # configured seconds
    error_count: int = 0  # consecutive errors, including this poll's
    retry_after: float | None = None  # server's Retry-After (429/503)
    max_age: int | None = None  # Cache-Control max-age
    ttl: int | None = None  # RSS <ttl>, seconds
    window_overflow: bool = False  # every item was new: some may have been missed
    overflow_streak: int = 1  # consecutive such polls, this one included: halve per step


def next_poll_at(now: datetime, timing: PollTiming, jitter: float = 0.5) -> datetime:
    """The next poll time: interval ±10 %, backoff on errors, never before the server asks.

    `jitter` in [0, 1) picks the point in the ±10 % band (0.5 = no jitter).
    """
    base = float(timing.interval)
    if timing.error_count > 0:
        base = min(base * 2 ** min(timing.error_count, 20), max(MAX_BACKOFF, base))
    elif timing.window_overflow:
        halved = base / 2 ** min(max(timing.overflow_streak, 1), 20)
        base = max(halved, min(MIN_INTERVAL, base))
    delay = base * (1 + JITTER * (2 * jitter - 1))
    floors = [timing.retry_after, timing.max_age, timing.ttl]
    # The server's wishes win over our jitter and over the overflow speed-up,
    # but an error backoff longer than them still applies.
    delay = max([delay, *(float(f) for f in floors if f)])
    return now + timedelta(seconds=delay)


def page_retry_at(now: datetime, failures: int, interval: int) -> datetime:
    """When to fetch an article page again after `failures` failures in a row.

    The source's interval (at least `PAGE_RETRY_BASE`), doubling per failure,
    capped at `PAGE_RETRY_MAX`: a page that answers 404 is not fetched on every poll.
    """
    base = max(interval, PAGE_RETRY_BASE)
    delay = min(base * 2 ** min(max(failures, 1) - 1, 20), max(PAGE_RETRY_MAX, base))
    return now + timedelta(seconds=delay)


_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


def max_age_seconds(cache_control: str | None) -> int | None:
    """The max-age of a Cache-Control header (no-store/no-cache mean none)."""
    if not cache_control:
        return None
    match = _MAX_AGE.search(cache_control)
    return int(match.group(1)) if match else None
