from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.delivery.retry import delivery_retry_at
from monitor.pipeline.timing import PollTiming, max_age_seconds, next_poll_at

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("timing", "jitter", "expected_seconds"),
    [
        (PollTiming(interval=600), 0.5, 600),
        (PollTiming(interval=600), 0.0, 540),  # -10 %
        (PollTiming(interval=600), 1.0, 660),  # +10 %
        (PollTiming(interval=600, error_count=1), 0.5, 1200),
        (PollTiming(interval=600, error_count=3), 0.5, 4800),
        (PollTiming(interval=600, error_count=10), 0.5, 6 * 3600),  # capped at 6 h
        (PollTiming(interval=600, retry_after=3000), 0.5, 3000),  # server asks for later
        (PollTiming(interval=600, retry_after=30), 0.5, 600),  # but never sooner than us
        (PollTiming(interval=600, max_age=1800), 0.5, 1800),
        (PollTiming(interval=600, ttl=3600), 0.0, 3600),
        (PollTiming(interval=600, window_overflow=True), 0.5, 300),  # sooner
        (PollTiming(interval=600, window_overflow=True, overflow_streak=2), 0.5, 150),  # again
        (PollTiming(interval=600, window_overflow=True, overflow_streak=9), 0.5, 60),  # floor
        (PollTiming(interval=90, window_overflow=True), 0.5, 60),  # bounded by a floor
        (PollTiming(interval=30, window_overflow=True), 0.5, 30),  # floor never slows down
        (PollTiming(interval=86400, error_count=2), 0.5, 86400),  # backoff never shortens
    ],
)
def test_next_poll_at(timing: PollTiming, jitter: float, expected_seconds: float) -> None:
    assert next_poll_at(NOW, timing, jitter) == NOW + timedelta(seconds=expected_seconds)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("max-age=300", 300),
        ("public, max-age=600, must-revalidate", 600),
        ('s-maxage=10, max-age="120"', 120),
        ("no-cache", None),
        ("MAX-AGE=60", 60),
    ],
)
def test_max_age_seconds(header: str | None, expected: int | None) -> None:
    assert max_age_seconds(header) == expected


@pytest.mark.parametrize(
    ("attempts", "tried_for", "retry_after", "expected_delay"),
    [
        (1, timedelta(0), None, 60),
        (2, timedelta(minutes=1), None, 120),
        (3, timedelta(minutes=3), None, 240),
        (7, timedelta(hours=1), None, 3600),  # 64 min capped at 1 h
        (30, timedelta(hours=20), None, 3600),
        (1, timedelta(0), 300.0, 300),  # the channel asked to wait longer
        (5, timedelta(hours=24), None, None),  # gave up: dead
    ],
)
def test_delivery_retry_at(
    attempts: int, tried_for: timedelta, retry_after: float | None, expected_delay: int | None
) -> None:
    result = delivery_retry_at(NOW, attempts, NOW - tried_for, retry_after)
    if expected_delay is None:
        assert result is None
    else:
        assert result == NOW + timedelta(seconds=expected_delay)
