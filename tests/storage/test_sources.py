"""The source mirror, polling leases and poll results."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from storage import DueSource, PollResult, SourceSpec, Store
from storage.store_sources import source_status
from tests.storage.builders import NOW, add_sources, article, quiet

SOON = NOW + timedelta(minutes=5)


def names(due: list[DueSource]) -> list[str]:
    return [d.name for d in due]


def test_sync_sources_adds_updates_and_deactivates(store: Store) -> None:
    store.sync_sources(
        [
            SourceSpec("a", "https://a.example/feed", "feed", 600),
            SourceSpec("b", "https://b/", None, 60),
        ],
        NOW,
    )
    store.sync_sources(
        [
            SourceSpec("a", "https://a.example/feed", "html", 900),
            SourceSpec("c", "https://c/", None, 60),
        ],
        SOON,
    )
    statuses = {s.name: s for s in store.source_statuses(SOON)}
    assert sorted(statuses) == ["a", "c"]
    assert store.source_names() == ["a", "c"]  # the same sources, without counting articles
    assert (statuses["a"].kind, statuses["a"].next_poll_at) == ("html", NOW)
    assert statuses["c"].next_poll_at == SOON

    store.sync_sources([SourceSpec("b", "https://b/", None, 60)], SOON)
    assert names(store.claim_due_sources(SOON)) == ["b"]  # back, and due since NOW


def test_a_source_whose_url_changed_forgets_its_validators(store: Store) -> None:
    src = add_sources(store, "a")["a"]
    store.claim_due_sources(NOW)
    store.record_poll(
        PollResult(src, NOW, NOW + timedelta(hours=1), etag='"v1"', last_modified="x")
    )
    store.sync_sources([SourceSpec("a", "https://moved.example/rss", "feed", 600)], SOON)
    [due] = store.claim_due_sources(SOON)
    assert (due.url, due.etag, due.last_modified) == ("https://moved.example/rss", None, None)


def test_a_shorter_interval_on_reload_applies_without_waiting_for_the_old_schedule(
    store: Store,
) -> None:
    six_hours, five_minutes = 6 * 3600, 300
    feed = "https://a.example/feed.xml"
    store.sync_sources([SourceSpec("a", feed, "feed", six_hours)], NOW)
    [due] = store.claim_due_sources(NOW)
    store.record_poll(PollResult(due.id, NOW, NOW + timedelta(seconds=six_hours)))
    store.sync_sources([SourceSpec("a", feed, "feed", five_minutes)], NOW + timedelta(minutes=1))
    assert names(store.claim_due_sources(SOON - timedelta(seconds=1))) == []
    assert names(store.claim_due_sources(SOON)) == ["a"]  # last poll + 5 min, not + 6 h
    [status] = store.source_statuses(SOON)
    assert status.next_poll_at == SOON


def test_a_longer_interval_on_reload_keeps_the_poll_already_planned(store: Store) -> None:
    feed = "https://a.example/feed.xml"
    store.sync_sources([SourceSpec("a", feed, "feed", 300)], NOW)
    [due] = store.claim_due_sources(NOW)
    store.record_poll(PollResult(due.id, NOW, SOON))
    store.sync_sources([SourceSpec("a", feed, "feed", 6 * 3600)], NOW)
    [status] = store.source_statuses(NOW)
    assert status.next_poll_at == SOON


def test_claim_due_sources_respects_next_poll_at_and_leases(store: Store) -> None:
    add_sources(store, "early", now=NOW)
    store.sync_sources(
        [
            SourceSpec("early", "https://early.example/feed.xml", "feed", 600),
            SourceSpec("late", "https://late/", None, 60),
        ],
        SOON,
    )
    assert names(store.claim_due_sources(NOW)) == ["early"]
    assert store.claim_due_sources(NOW + timedelta(minutes=1)) == []  # early leased, late not due
    assert names(store.claim_due_sources(SOON)) == ["late"]
    assert store.claim_due_sources(NOW + timedelta(minutes=9)) == []  # leased for 10 minutes
    after_lease = NOW + timedelta(minutes=10, seconds=1)
    assert names(store.claim_due_sources(after_lease)) == ["early"]


def test_claim_due_sources_takes_the_longest_waiting_first(store: Store) -> None:
    add_sources(store, "c", now=NOW)
    add_sources(store, "c", "a", now=NOW + timedelta(seconds=1))
    add_sources(store, "c", "a", "b", now=NOW + timedelta(seconds=2))
    assert names(store.claim_due_sources(SOON, limit=2)) == ["c", "a"]
    assert names(store.claim_due_sources(SOON, limit=2)) == ["b"]


def test_two_claims_at_the_same_time_never_share_a_source(db_url: str) -> None:
    stores = [Store.open(db_url), Store.open(db_url)]
    try:
        wanted = {f"s{n:02}" for n in range(40)}
        add_sources(stores[0], *sorted(wanted))
        start = threading.Barrier(2)
        claimed: list[list[str]] = [[], []]

        def claim(index: int) -> None:
            start.wait()
            while batch := stores[index].claim_due_sources(NOW, limit=3):
                claimed[index] += names(batch)

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not set(claimed[0]) & set(claimed[1])
        assert sorted(claimed[0] + claimed[1]) == sorted(wanted)
    finally:
        for store in stores:
            store.close()


def test_claim_sources_ignores_next_poll_at_but_not_leases(store: Store) -> None:
    store.sync_sources([SourceSpec(n, f"https://{n}/", None, 60) for n in "abc"], SOON)
    assert names(store.claim_sources(["a", "c", "zzz"], NOW)) == ["a", "c"]
    assert names(store.claim_sources(None, NOW)) == ["b"]


def test_claim_sources_holds_back_failed_sources_until_their_retry_unless_forced(
    store: Store,
) -> None:
    ids = add_sources(store, "failed", "healthy", "retried")
    store.claim_sources(None, NOW)
    later = NOW + timedelta(hours=1)
    store.record_poll(PollResult(ids["failed"], NOW, later, error="fetch: failed: HTTP 429"))
    store.record_poll(PollResult(ids["healthy"], NOW, later))  # its schedule, not a hold
    store.record_poll(PollResult(ids["retried"], NOW, SOON, error="fetch: retried: HTTP 503"))
    held = store.held_sources(None, NOW)
    assert [(h.name, h.until, h.error_count, h.last_error) for h in held] == [
        ("failed", later, 1, "fetch: failed: HTTP 429"),
        ("retried", SOON, 1, "fetch: retried: HTTP 503"),
    ]
    assert store.held_sources(["healthy", "retried"], SOON) == []
    assert sorted(names(store.claim_sources(None, SOON))) == ["healthy", "retried"]
    store.release_leases([ids["healthy"], ids["retried"]])
    forced = store.claim_sources(None, SOON, force=True)
    assert sorted(names(forced)) == ["failed", "healthy", "retried"]


def test_renewed_leases_hold_and_released_ones_stay_free(store: Store) -> None:
    ids = add_sources(store, "a", "b")
    store.claim_sources(None, NOW, lease_seconds=4)
    store.renew_leases([ids["a"]], NOW + timedelta(seconds=60))
    store.record_poll(PollResult(ids["b"], NOW, SOON))
    store.renew_leases([ids["b"]], NOW + timedelta(seconds=60))  # too late: b was released
    assert names(store.claim_sources(None, NOW + timedelta(seconds=30))) == ["b"]
    store.release_leases([ids["a"], ids["b"]])
    assert sorted(names(store.claim_sources(None, NOW + timedelta(seconds=30)))) == ["a", "b"]


def test_record_poll_success_resets_errors_and_keeps_validators(store: Store) -> None:
    src = add_sources(store, "a")["a"]
    store.claim_due_sources(NOW)
    store.record_poll(PollResult(src, NOW, SOON, error="fetch: a: HTTP 503"))
    store.record_poll(PollResult(src, SOON, SOON, error="fetch: a: HTTP 503"))
    [status] = store.source_statuses(NOW)
    assert (status.error_count, status.last_error, status.last_success_at) == (
        2,
        "fetch: a: HTTP 503",
        None,
    )

    store.record_poll(PollResult(src, SOON, SOON, etag='"e1"', last_modified="Sat, 01 Mar 2025"))
    store.record_poll(PollResult(src, SOON, SOON))  # a 304 without new validators
    [due] = store.claim_due_sources(SOON)
    assert (due.etag, due.last_modified, due.error_count, due.last_success_at) == (
        '"e1"',
        "Sat, 01 Mar 2025",
        0,
        SOON,
    )


def test_record_poll_releases_the_lease_and_schedules_the_next_poll(store: Store) -> None:
    src = add_sources(store, "a")["a"]
    store.claim_due_sources(NOW)
    store.record_poll(PollResult(src, NOW, SOON, items_seen=30, window_overflow=True))
    assert store.claim_due_sources(SOON - timedelta(seconds=1)) == []
    assert names(store.claim_due_sources(SOON)) == ["a"]
    [status] = store.source_statuses(SOON)
    assert (status.last_poll_at, status.next_poll_at) == (NOW, SOON)
    with store.engine.connect() as conn:
        row = conn.exec_driver_sql("SELECT items_seen_last, window_overflows FROM source").one()
    assert tuple(row) == (30, 1)


@pytest.mark.parametrize(
    ("error_count", "next_poll", "status"),
    [
        (0, SOON, "ok"),
        (0, NOW - timedelta(hours=1), "ok"),
        (3, SOON, "backoff"),
        (3, NOW, "error"),
        (1, NOW - timedelta(hours=1), "error"),
        (1, None, "error"),
    ],
)
def test_source_status(error_count: int, next_poll: datetime | None, status: str) -> None:
    assert source_status(error_count, next_poll, NOW) == status


def test_source_statuses_count_each_sources_articles(store: Store) -> None:
    ids = add_sources(store, "a", "b")
    store.ingest(ids["a"], quiet([article("1"), article("2")]), NOW)
    store.ingest(ids["b"], quiet([article("1", guid="b-1")]), NOW)  # a sighting
    assert {s.name: s.articles for s in store.source_statuses(NOW)} == {"a": 2, "b": 0}
