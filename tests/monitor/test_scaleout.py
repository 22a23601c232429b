"""Scale-out end to end: `newsmon run` replicas as subprocesses on one database.

Each test gets a database of its own (PostgreSQL: CREATE DATABASE, dropped
WITH (FORCE)), feeds and a webhook sink on a threaded local server, and
waits on conditions with deadlines. Alerts are counted by article URL: the
flood rule combines a pass's alerts into one message, so a message may carry many.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.daemon.scheduler import DIGEST_JITTER, DISPATCH_SECONDS
from tests.helpers import wait_for
from tests.monitor.scale_helpers import (
    ARTICLE,
    Replica,
    Web,
    fresh_database,
    query,
    query_soon,
    replica_states,
    write_config,
)

pytestmark = pytest.mark.postgres

JITTER = DIGEST_JITTER  # a replica's digest fires up to this late after its minute
TICK = DISPATCH_SECONDS


@pytest.fixture
def database() -> Iterator[str]:
    with fresh_database() as url:
        yield url


@pytest.fixture
def run(tmp_path: Path) -> Iterator[list[Replica]]:
    """The replicas a test starts; any still running at the end is killed."""
    started: list[Replica] = []
    yield started
    for replica in started:
        replica.kill()


def start(run: list[Replica], count: int, config: Path, database: str) -> list[Replica]:
    # Popen back to back: the interpreters start together, as `compose --scale` does.
    replicas = [Replica(f"r{i}", config, database) for i in range(count)]
    run.extend(replicas)
    return replicas


def wait_delivered(web: Web, replicas: list[Replica], count: int, timeout: float) -> None:
    """Wait until `count` distinct articles reached the sink, failing early if a replica died."""

    def done() -> bool:
        dead = [r for r in replicas if not r.alive()]
        assert not dead, f"a replica exited while the others worked:\n{replica_states(dead)}"
        return len(set(web.delivered())) >= count

    try:
        wait_for(done, timeout=timeout, what=f"{count} distinct alerts at the sink")
    except AssertionError as exc:
        got = len(set(web.delivered()))
        raise AssertionError(f"{exc}: got {got}\n{replica_states(replicas)}") from None


def stop_all(replicas: list[Replica]) -> None:
    codes = {r.name: r.stop() for r in replicas}
    assert all(code == 0 for code in codes.values()), (
        f"SIGTERM should end every replica with exit 0, got {codes}\n{replica_states(replicas)}"
    )


def test_three_replicas_started_together_all_stay_up_and_share_the_work(
    tmp_path: Path, database: str, run: list[Replica]
) -> None:
    web = Web(feeds=120)
    try:
        replicas = start(run, 3, write_config(tmp_path, web), database)
        wait_delivered(web, replicas, 120, timeout=60)
        assert all(r.alive() for r in replicas), replica_states(replicas)
        repeats = {url: n for url, n in Counter(web.delivered()).items() if n > 1}
        assert not repeats, f"alerts delivered more than once: {repeats}"
        fetched_twice = {path: n for path, n in web.hits.items() if n != 1}
        assert len(web.hits) == 120, f"feeds never fetched: {set(web.bodies) - set(web.hits)}"
        assert not fetched_twice, (
            f"each feed fetched once within its 1h interval; twice or more: {fetched_twice}"
        )
        statuses_become(database, [("sent", 120)])
        polled = {r.name: len(r.polled()) for r in replicas}
        assert sum(polled.values()) == 120, polled
        assert sum(1 for n in polled.values() if n > 0) > 1, (
            f"the work was not shared: polls per replica {polled}"
        )
        stop_all(replicas)
    finally:
        web.close()


def holders(database: str, table: str) -> dict[int, int]:
    """pid -> rows of `table` whose lease a live replica holds now."""
    rows = query_soon(
        database,
        f"SELECT r.pid, count(*) FROM {table} t JOIN replica r ON r.id = t.claimed_by "
        "WHERE t.lease_until > now() GROUP BY r.pid",
    )
    return {int(pid): int(n) for pid, n in rows}


def test_a_killed_replica_s_sources_and_alerts_are_taken_over(
    tmp_path: Path, database: str, run: list[Replica]
) -> None:
    web = Web(feeds=40)
    # Slow feeds and a slow sink: every replica holds sources and alerts for a while.
    web.slow, web.delay, web.sink_delay = set(web.bodies), 0.5, 0.2
    settings = "  timeout: 2s\n  delivery_lease: 2s\n  concurrency: 4\n"
    try:
        replicas = start(run, 3, write_config(tmp_path, web, settings=settings), database)
        victim: list[Replica] = []

        def someone_holds_both() -> bool:
            sources, deliveries = holders(database, "source"), holders(database, "delivery")
            victim[:] = [r for r in replicas if r.proc.pid in sources and r.proc.pid in deliveries]
            return bool(victim)

        wait_for(someone_holds_both, timeout=40, what="a replica holding sources and alerts")
        killed = victim[0]
        killed.kill()  # SIGKILL: no release, no goodbye; its leases must run out
        survivors = [r for r in replicas if r is not killed]
        wait_delivered(web, survivors, 40, timeout=60)
        # Alerts the killed replica had sent but not marked go out again: one message at most.
        seen: set[str] = set()
        again = []
        for message in web.messages():
            urls = ARTICLE.findall(message)
            if seen.intersection(urls):
                again.append(urls)
            seen.update(urls)
        assert len(again) <= 1, f"more than one message sent twice: {again}"
        # Every alert, the killed replica's too, ends marked sent (its lease runs out first).
        statuses_become(database, [("sent", 40)], timeout=30)
        assert all(path in web.hits for path in web.bodies), "every feed was fetched"
        stop_all(survivors)
    finally:
        web.close()


def test_two_processes_on_one_sqlite_file_share_the_work(
    tmp_path: Path, run: list[Replica]
) -> None:
    web = Web(feeds=30)
    database = f"sqlite:///{tmp_path / 'newsmon.db'}"
    try:
        replicas = start(run, 2, write_config(tmp_path, web), database)
        wait_delivered(web, replicas, 30, timeout=40)
        assert all(r.alive() for r in replicas), replica_states(replicas)
        repeats = {url: n for url, n in Counter(web.delivered()).items() if n > 1}
        assert not repeats, f"alerts delivered more than once: {repeats}"
        assert sorted(web.hits.values()) == [1] * 30, f"feeds fetched more than once: {web.hits}"
        statuses_become(database, [("sent", 30)])
        stop_all(replicas)
    finally:
        web.close()


def statuses_become(database: str, expected: list[tuple[str, int]], timeout: float = 15) -> None:
    """The outbox reaches `expected` (status, count) rows: a sender marks a row only
    after the channel accepted it, so the sink may see an alert a moment earlier."""
    sql = "SELECT status, count(*) FROM delivery GROUP BY status ORDER BY status"
    last: list[tuple[object, ...]] = []

    def reached() -> bool:
        last[:] = query(database, sql)
        return last == expected

    try:
        wait_for(reached, timeout=timeout, what=f"the outbox to hold {expected}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; it holds {last}") from None
