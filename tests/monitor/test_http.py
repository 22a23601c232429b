"""/healthz decides from data: the dispatcher's last tick and whether the database answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.daemon.ops_http import StoreState, health

STARTED = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
UP = StoreState(True, {"ok": 3, "backoff": 1, "error": 1}, 0)
DOWN = StoreState(False, {}, None)


@pytest.mark.parametrize(
    ("seconds_since_start", "tick_after", "state", "status", "problems"),
    [
        (12, 10, UP, 200, []),  # ticked 2 s ago
        (25, 10, UP, 200, []),  # 15 s = 3 intervals of 5 s: still fine
        (26, 10, UP, 503, ["dispatcher has not ticked for 16s"]),
        (14, None, UP, 200, []),  # not ticked yet, within the grace period
        (30, None, UP, 503, ["dispatcher has not ticked for 30s"]),
        (12, 10, DOWN, 503, ["database unreachable"]),
    ],
)
def test_healthz_is_503_when_the_dispatcher_is_stuck_or_the_database_is_down(
    seconds_since_start: int,
    tick_after: int | None,
    state: StoreState,
    status: int,
    problems: list[str],
) -> None:
    now = STARTED + timedelta(seconds=seconds_since_start)
    tick = STARTED + timedelta(seconds=tick_after) if tick_after is not None else None
    answer = health(now, last_tick=tick, started_at=STARTED, dispatch_seconds=5, state=state)
    assert answer.status == status
    assert answer.body["problems"] == problems
    assert answer.body["status"] == ("ok" if status == 200 else "unhealthy")


def test_healthz_counts_sources_ok_and_erroring() -> None:
    now = STARTED + timedelta(seconds=3)
    answer = health(now, last_tick=now, started_at=STARTED, dispatch_seconds=5, state=UP)
    assert answer.body["sources"] == {"total": 5, "ok": 3, "erroring": 2}
    assert answer.body["last_tick"] == "2025-03-01T08:00:03Z"
    assert answer.body["database"] == "ok"
