"""Insert-if-new, sightings, in-place updates and the transactional outbox."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage import DeliveryIn, IngestResult, StorageError, Store, store_ingest
from tests.storage.builders import NOW, add_sources, alerting, article, quiet

LATER = NOW + timedelta(minutes=10)


def test_insert_if_new_returns_only_the_new_articles(store: Store) -> None:
    src = add_sources(store, "fresh-news")["fresh-news"]
    first = store.ingest(src, quiet([article("a"), article("b")]), NOW)
    second = store.ingest(src, quiet([article("a"), article("b"), article("c")]), LATER)

    assert [row.guid for row in first.new] == ["guid-a", "guid-b"]
    assert [row.guid for row in second.new] == ["guid-c"]
    assert (second.duplicates, second.sightings, second.updated) == (2, 0, [])
    assert [row.guid for row in store.iter_articles()] == ["guid-a", "guid-b", "guid-c"]


def test_new_rows_carry_what_was_stored(store: Store) -> None:
    src = add_sources(store, "fresh-news")["fresh-news"]
    published = datetime(2025, 3, 1, 19, 30, tzinfo=UTC)
    entry = article("a", summary="Leaders met.", body="Full text.", published_at=published)

    [new] = store.ingest(src, quiet([entry]), NOW).new

    assert new == store.get_article(new.id)
    assert (new.source, new.url, new.original_url) == (
        "fresh-news",
        "https://news.example/a",
        "https://news.example/a?utm_source=feed",
    )
    assert (new.published_at, new.fetched_at, new.cluster_id) == (published, NOW, new.id)
    assert new.published_at is not None
    assert new.published_at.tzinfo == UTC


def test_times_given_in_another_zone_come_back_in_utc(store: Store) -> None:
    src = add_sources(store, "fresh-news")["fresh-news"]
    phnom_penh = datetime(2025, 3, 1, 20, 30, tzinfo=timezone(timedelta(hours=7)))
    [new] = store.ingest(src, quiet([article("a", published_at=phnom_penh)]), NOW).new
    stored = store.get_article(new.id)
    assert stored is not None
    assert stored.published_at == datetime(2025, 3, 1, 13, 30, tzinfo=UTC)
    assert stored.published_at.tzinfo == UTC


def test_a_repeated_guid_inside_one_batch_is_stored_once(store: Store) -> None:
    src = add_sources(store, "fresh-news")["fresh-news"]
    batch = [article("a"), article("a"), article("b")]
    result = store.ingest(src, alerting(batch, "asean"), NOW)
    assert [row.guid for row in result.new] == ["guid-a", "guid-b"]
    assert (result.duplicates, result.deliveries) == (1, 2)


def test_entries_of_one_source_sharing_a_url_are_distinct_articles(store: Store) -> None:
    """Items that all link to one landing page are each their own post."""
    src = add_sources(store, "fresh-news")["fresh-news"]
    landing = "https://news.example/sponsors"
    first = store.ingest(src, alerting([article("a", url=landing)], "asean"), NOW)
    batch = [article(key, url=landing) for key in ("a", "b", "c")]
    second = store.ingest(src, alerting(batch, "asean"), LATER)
    edited = article("b", url=landing, title="Story b, edited", content_hash="v2")
    third = store.ingest(src, alerting([*batch[:1], edited, batch[2]], "asean"), LATER)

    assert [row.guid for row in first.new + second.new] == ["guid-a", "guid-b", "guid-c"]
    assert {row.url for row in first.new + second.new} == {landing}
    assert (second.duplicates, second.sightings, second.deliveries) == (1, 0, 2)
    assert (third.new, third.duplicates) == ([], 2)
    assert [(row.guid, row.title) for row in third.updated] == [("guid-b", "Story b, edited")]


def test_a_copy_from_another_source_is_a_sighting_of_the_first_copy_stored(
    store: Store,
) -> None:
    ids = add_sources(store, "fresh-news", "khmer-daily")
    landing = "https://news.example/sponsors"
    stored = store.ingest(
        ids["fresh-news"], quiet([article(key, url=landing) for key in ("a", "b")]), NOW
    ).new
    copies = [article(key, guid=f"khmer-{key}", url=landing) for key in ("x", "y")]
    seen = store.ingest(ids["khmer-daily"], quiet(copies), LATER)
    again = store.ingest(ids["khmer-daily"], quiet(copies), LATER)

    # The first copy becomes an outlet of fresh-news' first article; khmer-daily's
    # second entry under that URL is its own post, as on fresh-news.
    assert (seen.sightings, [row.guid for row in seen.new]) == (1, ["khmer-y"])
    assert store.article_outlets(stored[0].id) == ("fresh-news", "khmer-daily")
    assert store.article_outlets(stored[1].id) == ("fresh-news",)
    assert (again.new, again.sightings, again.duplicates) == ([], 0, 2)


def test_same_canonical_url_from_a_second_source_is_a_sighting(store: Store) -> None:
    ids = add_sources(store, "fresh-news", "khmer-daily", "wire")
    [first] = store.ingest(ids["fresh-news"], alerting([article("a")], "asean"), NOW).new
    copy = article("a", guid="khmer-123", title="Another headline")

    seen = store.ingest(ids["khmer-daily"], alerting([copy], "asean"), LATER)
    again = store.ingest(ids["khmer-daily"], alerting([copy], "asean"), LATER)
    store.ingest(ids["wire"], quiet([article("a", guid="wire-9")]), LATER)

    assert (seen.new, seen.sightings, seen.deliveries) == ([], 1, 0)
    assert (again.sightings, again.duplicates) == (0, 1)
    assert store.article_outlets(first.id) == ("fresh-news", "khmer-daily", "wire")
    stored = store.get_article(first.id)
    assert stored is not None
    assert stored.title == "Story a"  # the first copy keeps its fields


def test_changed_content_updates_in_place_and_alerts_only_new_rules(store: Store) -> None:
    src = add_sources(store, "fresh-news")["fresh-news"]
    [old] = store.ingest(src, alerting([article("a")], "asean"), NOW).new
    edited = article("a", title="Story a, updated", body="Russia joins", content_hash="v2")

    result = store.ingest(src, alerting([edited], "asean", "russia"), LATER)

    assert result.new == []
    [updated] = result.updated
    assert (updated.id, updated.title, updated.body) == (old.id, "Story a, updated", "Russia joins")
    assert (updated.content_hash, updated.updated_at, updated.fetched_at) == ("v2", LATER, NOW)
    assert result.deliveries == 1
    assert sorted(row.rule for row in store.list_deliveries()) == ["asean", "russia"]


def test_unchanged_content_is_a_duplicate_without_alerts(store: Store) -> None:
    src = add_sources(store, "fresh-news")["fresh-news"]
    store.ingest(src, alerting([article("a")], "asean"), NOW)

    result = store.ingest(src, alerting([article("a")], "asean", "russia"), LATER)

    assert (result.duplicates, result.updated, result.deliveries) == (1, [], 0)
    assert [row.rule for row in store.list_deliveries()] == ["asean"]


def test_unchanged_guids_are_what_ingest_counts_as_duplicates(store: Store) -> None:
    """The pipeline matches only the rest: new, changed, or carried by another source."""
    ids = add_sources(store, "fresh-news", "khmer-daily")
    store.ingest(ids["fresh-news"], quiet([article("same"), article("edited")]), NOW)
    store.ingest(ids["khmer-daily"], quiet([article("same", guid="seen-there")]), NOW)
    offered = [
        article("same"),
        article("edited", content_hash="v2"),
        article("fresh"),
        article("same", guid="elsewhere"),  # its URL is stored, by another source
    ]

    assert store.unchanged_guids(ids["fresh-news"], offered) == {"guid-same"}
    assert store.unchanged_guids(ids["khmer-daily"], offered) == set()
    assert store.unchanged_guids(ids["khmer-daily"], [article("same", guid="seen-there")]) == {
        "seen-there"
    }
    assert store.unchanged_guids(ids["fresh-news"], []) == set()


def test_deliveries_are_stored_with_their_article_or_not_at_all(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = add_sources(store, "fresh-news")["fresh-news"]

    def broken_outbox(conn: object, rows: object) -> int:
        raise RuntimeError("outbox insert failed")

    with monkeypatch.context() as patch:
        patch.setattr(store_ingest, "insert_deliveries", broken_outbox)
        with pytest.raises(RuntimeError, match="outbox insert failed"):
            store.ingest(src, alerting([article("a"), article("b")], "asean"), NOW)

    assert list(store.iter_articles()) == []
    assert store.list_deliveries() == []
    retry = store.ingest(src, alerting([article("a"), article("b")], "asean"), LATER)
    assert (len(retry.new), retry.deliveries) == (2, 2)


def test_deliveries_record_their_match(store: Store) -> None:
    src = add_sources(store, "fresh-news")["fresh-news"]
    result = store.ingest(src, alerting([article("a")], "asean", mode="digest"), NOW)
    [row] = store.claim_deliveries(NOW, mode="digest")
    assert (row.rule, row.channel, row.mode, row.article.id) == (
        "asean",
        "ops",
        "digest",
        result.new[0].id,
    )
    assert (row.terms, row.snippet, row.spans, row.outlets) == (
        ("asean",),
        "ASEAN summit",
        ((0, 5),),
        ("fresh-news",),
    )


def test_ingest_into_an_unknown_source_fails_with_a_message(store: Store) -> None:
    with pytest.raises(StorageError, match=r"^storage: ingest: no source with id 404$"):
        store.ingest(404, quiet([article("a")]), NOW)


def test_a_naive_timestamp_is_refused_not_guessed(store: Store) -> None:
    src = add_sources(store, "fresh-news")["fresh-news"]
    message = "storage: ingest: naive datetime 2025-03-01T12:00:00 (pass a tz-aware UTC time)"
    with pytest.raises(StorageError, match=f"^{re.escape(message)}$"):
        store.ingest(src, quiet([article("a", published_at=datetime(2025, 3, 1, 12))]), NOW)


def test_large_batches_are_stored_in_chunks(store: Store) -> None:
    src = add_sources(store, "fresh-news")["fresh-news"]
    batch = [article(str(n)) for n in range(1234)]
    assert len(store.ingest(src, alerting(batch, "asean"), NOW).new) == 1234
    again = store.ingest(src, alerting(batch, "asean"), LATER)
    assert (again.new, again.duplicates, again.deliveries) == ([], 1234, 0)
    assert store.delivery_counts()["pending"] == 1234


def test_queue_deliveries_for_a_stored_article_skips_what_was_queued(store: Store) -> None:
    src = add_sources(store, "fresh-news")["fresh-news"]
    [new] = store.ingest(src, alerting([article("a")], "asean"), NOW).new
    rules = [DeliveryIn("asean", "ops", "instant"), DeliveryIn("russia", "ops", "instant")]
    assert store.queue_deliveries(new.id, rules, LATER) == 1
    with pytest.raises(StorageError, match=r"^storage: queue deliveries: no article with id 99$"):
        store.queue_deliveries(99, rules, LATER)


def test_replicas_racing_on_one_url_store_it_once_and_record_a_sighting(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two PostgreSQL replicas insert the same canonical URL from two sources at once."""
    first, second = Store.open(pg_url), Store.open(pg_url)
    try:
        ids = add_sources(first, "fresh-news", "khmer-daily")
        inserted, release = threading.Event(), threading.Event()
        results: dict[str, IngestResult] = {}
        queue_deliveries = store_ingest.insert_deliveries

        def hold_the_transaction_open(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
            # The winner's article row is inserted, not committed, when its outbox rows go in.
            if threading.current_thread() is winner:
                inserted.set()
                release.wait(timeout=30)
            return queue_deliveries(conn, rows)

        monkeypatch.setattr(store_ingest, "insert_deliveries", hold_the_transaction_open)

        def run(name: str, store: Store) -> None:
            batch = alerting([article("a", guid=name)], "asean")
            results[name] = store.ingest(ids[name], batch, NOW)

        winner = threading.Thread(target=run, args=("fresh-news", first))
        winner.start()
        assert inserted.wait(timeout=30)
        loser = threading.Thread(target=run, args=("khmer-daily", second))
        loser.start()
        # The loser did not see the uncommitted row, so its INSERT waits on the unique index.
        deadline = time.monotonic() + 30
        while not _waiting_on_a_lock(first):
            assert time.monotonic() < deadline, "the second INSERT never waited for the first"
        release.set()
        winner.join()
        loser.join()

        assert (len(results["fresh-news"].new), results["fresh-news"].deliveries) == (1, 1)
        assert (results["khmer-daily"].new, results["khmer-daily"].sightings) == ([], 1)
        assert results["khmer-daily"].deliveries == 0
        assert first.article_outlets(results["fresh-news"].new[0].id) == (
            "fresh-news",
            "khmer-daily",
        )
    finally:
        release.set()
        first.close()
        second.close()


def _waiting_on_a_lock(store: Store) -> bool:
    with store.engine.connect() as conn:
        waiting = conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND query LIKE :insert"
            ),
            {"insert": "INSERT INTO article %"},
        ).scalar()
    return bool(waiting)
