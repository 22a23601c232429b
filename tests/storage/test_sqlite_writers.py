"""SQLite under concurrent writers: BEGIN IMMEDIATE plus busy_timeout, no 'database is locked'."""

from __future__ import annotations

import threading
from datetime import timedelta

from storage import PollResult, Store
from tests.storage.builders import NOW, add_sources, alerting, article

ROUNDS = 25


def test_two_threads_writing_one_sqlite_file_both_succeed(sqlite_url: str) -> None:
    stores = [Store.open(sqlite_url), Store.open(sqlite_url)]
    ids = add_sources(stores[0], "t0", "t1")
    errors: list[BaseException] = []
    # Both threads start every round together, so their read-then-write
    # transactions overlap; a deferred BEGIN fails here at once with
    # "database is locked" when the other thread commits first.
    rounds = threading.Barrier(2)

    def write(index: int) -> None:
        store, source_id = stores[index], ids[f"t{index}"]
        try:
            for n in range(ROUNDS):
                rounds.wait()
                batch = [article(f"{index}-{n}-{k}") for k in range(20)]
                store.ingest(source_id, alerting(batch, "asean"), NOW)
                store.claim_deliveries(NOW, limit=5)
                store.record_poll(PollResult(source_id, NOW, NOW + timedelta(minutes=n)))
        except BaseException as exc:
            rounds.abort()
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sum(1 for _ in stores[0].iter_articles()) == 2 * ROUNDS * 20
        assert stores[1].delivery_counts()["sending"] == 2 * ROUNDS * 5
    finally:
        for store in stores:
            store.close()
