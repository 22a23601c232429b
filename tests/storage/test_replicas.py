"""Replicas on one database: heartbeats, who holds what, clean stops, singleton jobs."""

from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa

from storage import PollResult, ReplicaInfo, ReplicaRow, Store
from tests.storage.builders import NOW, add_sources, alerting, article

MINUTE = timedelta(minutes=1)
A = ReplicaInfo("host-a:101:2025-03-01T11:00:00Z", "host-a", 101, NOW - 60 * MINUTE, "1.2.0")
B = ReplicaInfo("host-b:202:2025-03-01T11:30:00Z", "host-b", 202, NOW - 30 * MINUTE, "1.2.0")


def claimants(store: Store, table: str) -> dict[int, str | None]:
    """id -> claimed_by of every row of `table`."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT id, claimed_by FROM {table}"))
        return {id_: claimant for id_, claimant in rows}


def queue_alerts(store: Store, source_id: int, *keys: str) -> None:
    store.ingest(source_id, alerting([article(k) for k in keys], "asean"), NOW)


def test_replicas_lists_each_heartbeat_with_what_it_holds(store: Store) -> None:
    ids = add_sources(store, "s1", "s2", "s3")
    queue_alerts(store, ids["s3"], "a", "b")
    store.heartbeat(A, NOW - 5 * MINUTE)
    store.heartbeat(A, NOW)  # an upsert: still one row, seen now
    store.heartbeat(B, NOW - 2 * MINUTE)
    store.claim_sources(["s1", "s2"], NOW, claimant=A.id)
    store.claim_deliveries(NOW, claimant=B.id)
    store.claim_sources(["s3"], NOW - 20 * MINUTE, lease_seconds=60, claimant=B.id)  # expired

    assert store.replicas(NOW) == [
        ReplicaRow(A.id, "host-a", 101, A.started_at, NOW, True, ["s1", "s2"], 0, "1.2.0"),
        ReplicaRow(B.id, "host-b", 202, B.started_at, NOW - 2 * MINUTE, False, [], 2, "1.2.0"),
    ]
    assert [row.alive for row in store.replicas(NOW, stale_after=180)] == [True, True]


def test_forgetting_a_replica_releases_its_leases_for_the_others(store: Store) -> None:
    ids = add_sources(store, "s1", "s2")
    queue_alerts(store, ids["s1"], "a")
    for replica in (A, B):
        store.heartbeat(replica, NOW)
    assert len(store.claim_due_sources(NOW, claimant=A.id)) == 2
    [delivery] = store.claim_deliveries(NOW, claimant=A.id)
    assert store.claim_due_sources(NOW, claimant=B.id) == []

    store.forget_replica(A.id)

    assert [row.id for row in store.replicas(NOW)] == [B.id]
    assert sorted(s.name for s in store.claim_due_sources(NOW, claimant=B.id)) == ["s1", "s2"]
    assert [d.id for d in store.claim_deliveries(NOW, claimant=B.id)] == [delivery.id]
    assert set(claimants(store, "source").values()) == {B.id}
    assert claimants(store, "delivery") == {delivery.id: B.id}


def test_forgetting_leaves_sent_deliveries_and_other_replicas_alone(store: Store) -> None:
    ids = add_sources(store, "s1", "s2")
    queue_alerts(store, ids["s1"], "a", "b")
    store.claim_sources(["s2"], NOW, claimant=B.id)
    first, second = store.claim_deliveries(NOW, claimant=A.id)
    store.mark_sent([first.id], NOW)

    store.forget_replica(A.id)

    assert {row.id: row.status for row in store.list_deliveries()} == {
        first.id: "sent",
        second.id: "pending",
    }
    assert claimants(store, "source") == {ids["s1"]: None, ids["s2"]: B.id}


def test_source_claims_record_the_claimant_and_clear_it_when_done(store: Store) -> None:
    ids = add_sources(store, "s1", "s2", "s3")
    store.claim_due_sources(NOW, limit=2, claimant=A.id)
    store.claim_sources(["s3"], NOW, claimant=B.id)
    assert claimants(store, "source") == {ids["s1"]: A.id, ids["s2"]: A.id, ids["s3"]: B.id}

    store.record_poll(PollResult(ids["s1"], NOW, NOW + 10 * MINUTE))
    store.release_leases([ids["s2"]])
    store.renew_leases([ids["s3"]], NOW + 20 * MINUTE)
    assert claimants(store, "source") == {ids["s1"]: None, ids["s2"]: None, ids["s3"]: B.id}
    store.claim_due_sources(NOW, claimant=None)  # a claim without a claimant stores none
    assert claimants(store, "source")[ids["s2"]] is None


def test_delivery_claims_record_the_claimant_and_every_outcome_clears_it(store: Store) -> None:
    src = add_sources(store, "s1")["s1"]
    queue_alerts(store, src, "a", "b", "c", "d")
    sent, failed, released, deferred = (d.id for d in store.claim_deliveries(NOW, claimant=A.id))
    assert set(claimants(store, "delivery").values()) == {A.id}

    store.mark_sent([sent], NOW)
    store.mark_failed([failed], "HTTP 500", NOW, NOW + MINUTE)
    store.release([released])
    store.defer([deferred], NOW + MINUTE, "paused: HTTP 429")
    assert set(claimants(store, "delivery").values()) == {None}
    [again] = store.claim_deliveries(NOW + 2 * MINUTE, limit=1, claimant=B.id)
    assert claimants(store, "delivery")[again.id] == B.id


def test_claim_job_is_won_once_per_job_and_period_across_concurrent_callers(
    db_url: str,
) -> None:
    callers = 4
    periods = [f"2025-03-01T12:{m:02d}:00Z" for m in range(10)]
    stores = [Store.open(db_url) for _ in range(callers)]
    wins: list[list[str]] = [[] for _ in range(callers)]
    errors: list[BaseException] = []
    together = threading.Barrier(callers)

    def claim(index: int) -> None:
        try:
            for period in periods:
                together.wait(30)  # every caller asks for each period at once
                if stores[index].claim_job("digest:asean", period, f"r{index}", NOW):
                    wins[index].append(period)
        except BaseException as exc:
            together.abort()
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(callers)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sorted(period for won in wins for period in won) == periods
        # Another job shares no periods with the digest.
        assert stores[0].claim_job("retention", periods[0], "r0", NOW) is True
    finally:
        for store in stores:
            store.close()


def test_job_runs_are_pruned_after_a_week(store: Store) -> None:
    assert store.claim_job("retention", "2025-03-01", A.id, NOW) is True
    assert store.claim_job("retention", "2025-03-01", B.id, NOW + 6 * 24 * 60 * MINUTE) is False
    assert store.claim_job("retention", "2025-03-09", B.id, NOW + 8 * 24 * 60 * MINUTE) is True
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT job, period, claimant FROM job_run")).all()
    assert [tuple(row) for row in rows] == [("retention", "2025-03-09", B.id)]


def test_a_replica_silent_for_a_day_is_forgotten_at_the_next_heartbeat(store: Store) -> None:
    store.heartbeat(B, NOW - timedelta(days=1, minutes=1))  # killed a day ago
    store.heartbeat(A, NOW - 5 * MINUTE)
    store.heartbeat(A, NOW)

    assert [row.id for row in store.replicas(NOW)] == [A.id]
