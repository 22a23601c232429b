"""The outbox: claims with leases, sent/failed/dead, requeue and listings."""

from __future__ import annotations

import threading
from datetime import timedelta

from storage import Store
from tests.storage.builders import NOW, add_sources, alerting, article

MINUTE = timedelta(minutes=1)


def queue(
    store: Store, *keys: str, rules: tuple[str, ...] = ("asean",), mode: str = "instant"
) -> None:
    src = add_sources(store, "fresh-news")["fresh-news"]
    store.ingest(src, alerting([article(k) for k in keys], *rules, mode=mode), NOW)


def test_a_claimed_delivery_is_not_handed_out_again_while_leased(store: Store) -> None:
    queue(store, "a")
    [claimed] = store.claim_deliveries(NOW)
    assert store.claim_deliveries(NOW + 4 * MINUTE) == []  # the 5-minute lease holds
    [row] = store.list_deliveries()
    assert (row.status, row.attempts) == ("sending", 0)
    assert claimed.first_attempt_at == NOW


def test_a_sending_row_is_reclaimed_after_its_lease_expires(store: Store) -> None:
    queue(store, "a")
    [first] = store.claim_deliveries(NOW, lease_seconds=60)
    assert store.claim_deliveries(NOW + MINUTE) == []  # lease_until is not yet passed
    [again] = store.claim_deliveries(NOW + MINUTE + timedelta(seconds=1))
    assert again.id == first.id
    assert again.first_attempt_at == NOW  # the first attempt is remembered


def test_mark_sent_counts_the_attempt_and_ends_the_lease(store: Store) -> None:
    queue(store, "a", "b")
    claimed = store.claim_deliveries(NOW)
    store.mark_sent([d.id for d in claimed], NOW + MINUTE)
    assert store.claim_deliveries(NOW + timedelta(days=1)) == []
    assert {(r.status, r.attempts, r.sent_at) for r in store.list_deliveries()} == {
        ("sent", 1, NOW + MINUTE)
    }


def test_a_failed_delivery_is_retried_at_its_next_attempt(store: Store) -> None:
    queue(store, "a")
    [claimed] = store.claim_deliveries(NOW)
    store.mark_failed([claimed.id], "telegram: HTTP 502", NOW, NOW + 2 * MINUTE)
    [row] = store.list_deliveries("failed")
    assert (row.attempts, row.last_error, row.next_attempt_at) == (
        1,
        "telegram: HTTP 502",
        NOW + 2 * MINUTE,
    )
    assert store.claim_deliveries(NOW + MINUTE) == []
    [retry] = store.claim_deliveries(NOW + 2 * MINUTE)
    assert (retry.id, retry.attempts) == (claimed.id, 1)


def test_mark_failed_without_a_next_attempt_makes_it_dead(store: Store) -> None:
    queue(store, "a")
    [claimed] = store.claim_deliveries(NOW)
    store.mark_failed([claimed.id], "gave up after 24h", NOW, None)
    [row] = store.list_deliveries("dead")
    assert (row.id, row.attempts, row.last_error) == (claimed.id, 1, "gave up after 24h")
    assert store.claim_deliveries(NOW + timedelta(days=30)) == []


def test_requeue_brings_back_failed_and_dead_deliveries_only(store: Store) -> None:
    queue(store, "a", "b", "c")
    dead, failed, sent = store.claim_deliveries(NOW)
    store.mark_failed([dead.id], "gone", NOW, None)
    store.mark_failed([failed.id], "busy", NOW, NOW + timedelta(hours=1))
    store.mark_sent([sent.id], NOW)

    later = NOW + 5 * MINUTE
    assert store.requeue([sent.id, failed.id, dead.id, 999], later) == sorted([dead.id, failed.id])

    again = store.claim_deliveries(later)
    assert sorted(d.id for d in again) == sorted([dead.id, failed.id])
    assert {d.first_attempt_at for d in again} == {later}  # a fresh retry window
    assert {d.attempts for d in again} == {1}


def test_release_returns_claims_without_counting_an_attempt(store: Store) -> None:
    queue(store, "a")
    [claimed] = store.claim_deliveries(NOW)
    store.release([claimed.id])
    [again] = store.claim_deliveries(NOW)
    assert (again.id, again.attempts) == (claimed.id, 0)


def test_claims_filter_by_mode_and_rule(store: Store) -> None:
    queue(store, "a", rules=("asean", "russia"), mode="digest")
    queue(store, "b")
    assert [d.article.guid for d in store.claim_deliveries(NOW)] == ["guid-b"]
    assert [d.rule for d in store.claim_deliveries(NOW, mode="digest", rule="russia")] == ["russia"]
    assert [d.rule for d in store.claim_deliveries(NOW, mode=None)] == ["asean"]


def test_claimed_deliveries_list_every_outlet_known_at_sending_time(store: Store) -> None:
    ids = add_sources(store, "fresh-news", "khmer-daily")
    store.ingest(ids["fresh-news"], alerting([article("a")], "asean"), NOW)
    store.ingest(ids["khmer-daily"], alerting([article("a", guid="k1")], "asean"), NOW)
    [claimed] = store.claim_deliveries(NOW)
    assert claimed.outlets == ("fresh-news", "khmer-daily")


def test_two_senders_never_claim_the_same_delivery(db_url: str) -> None:
    stores = [Store.open(db_url), Store.open(db_url)]
    try:
        queue(stores[0], *[str(n) for n in range(60)])
        start = threading.Barrier(2)
        claimed: list[list[int]] = [[], []]

        def claim(index: int) -> None:
            start.wait()
            while batch := stores[index].claim_deliveries(NOW, limit=4):
                claimed[index] += [d.id for d in batch]

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not set(claimed[0]) & set(claimed[1])
        assert len(claimed[0]) + len(claimed[1]) == 60
    finally:
        for store in stores:
            store.close()


def test_list_deliveries_shows_newest_first_with_the_article(store: Store) -> None:
    src = add_sources(store, "fresh-news")["fresh-news"]
    store.ingest(src, alerting([article("old")], "asean"), NOW)
    store.ingest(src, alerting([article("new")], "asean"), NOW + MINUTE)
    rows = store.list_deliveries()
    assert [(r.title, r.url, r.status) for r in rows] == [
        ("Story new", "https://news.example/new", "pending"),
        ("Story old", "https://news.example/old", "pending"),
    ]
    assert [r.title for r in store.list_deliveries(limit=1)] == ["Story new"]
    assert store.list_deliveries("sent") == []


def test_delivery_counts_cover_every_status(store: Store) -> None:
    assert store.delivery_counts() == {
        "pending": 0,
        "sending": 0,
        "sent": 0,
        "failed": 0,
        "dead": 0,
    }
    queue(store, "a", "b", "c")
    first, *_ = store.claim_deliveries(NOW, limit=1)
    store.mark_sent([first.id], NOW)
    assert store.delivery_counts() == {
        "pending": 2,
        "sending": 0,
        "sent": 1,
        "failed": 0,
        "dead": 0,
    }
