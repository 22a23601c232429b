"""Story clusters in the store: copies found by band keys within the window, the
outbox keyed by story, velocity deliveries, edits and tombstones.

The fingerprints are the pipeline's real ones (`monitor.pipeline.articles`).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.pipeline.articles import fingerprinted, story_policy
from storage import ArticleIn, Candidate, DeliveryIn, IngestResult, Store, store_ingest
from tests.monitor.story_texts import (
    COPY_BODY,
    COPY_TITLE,
    OTHER_BODY,
    OTHER_TITLE,
    WIRE_BODY,
    WIRE_TITLE,
)
from tests.storage.builders import NOW, add_sources, article

STORIES = story_policy(7 * 86400)
ALERT = DeliveryIn("asean", "ops", "instant", ("ASEAN",), "ASEAN ministers", ((0, 5),))


def wire(key: str = "wire", *, title: str = WIRE_TITLE, body: str = WIRE_BODY) -> ArticleIn:
    return fingerprinted(article(key, title=title, body=body, content_hash=f"h-{title}-{body}"))


def copy(key: str = "copy") -> ArticleIn:
    return wire(key, title=COPY_TITLE, body=COPY_BODY)


def other(key: str = "other") -> ArticleIn:
    return wire(key, title=OTHER_TITLE, body=OTHER_BODY)


def test_a_copy_from_another_source_joins_the_story_and_its_alert_is_not_queued(
    store: Store,
) -> None:
    ids = add_sources(store, "fresh-news", "khmer-times")
    [first] = store.ingest(ids["fresh-news"], [Candidate(wire(), (ALERT,))], NOW, STORIES).new
    result = store.ingest(
        ids["khmer-times"],
        [Candidate(copy(), (ALERT,)), Candidate(other(), (ALERT,))],
        NOW + timedelta(hours=1),
        STORIES,
    )

    joined, apart = result.new
    assert (joined.cluster_id, apart.cluster_id) == (first.id, apart.id)
    assert result.deliveries == 1  # the other story's; the copy's story alerted already
    assert store.cluster_outlets(first.id) == ("fresh-news", "khmer-times")
    article = store.get_article(joined.id)
    assert article is not None
    assert article.outlets == ("fresh-news", "khmer-times")


def test_copies_within_one_poll_join_the_first_of_them_and_alert_once(store: Store) -> None:
    [source] = add_sources(store, "fresh-news").values()
    batch = [wire("w1"), other("o1"), copy("c1"), copy("c2")]

    result = store.ingest(source, [Candidate(a, (ALERT,)) for a in batch], NOW, STORIES)

    first, apart, *copies = result.new
    assert [a.cluster_id for a in copies] == [first.id, first.id]
    assert apart.cluster_id == apart.id
    assert result.deliveries == 2  # one per story


def test_a_batch_finds_a_stored_copy_before_its_own(store: Store) -> None:
    ids = add_sources(store, "fresh-news", "khmer-times")
    [stored] = store.ingest(ids["fresh-news"], [Candidate(wire())], NOW, STORIES).new

    later = store.ingest(
        ids["khmer-times"], [Candidate(copy("c1")), Candidate(wire("w2"))], NOW, STORIES
    )

    assert [a.cluster_id for a in later.new] == [stored.id, stored.id]


def test_band_keys_carry_the_time_as_the_article_row_does(store: Store) -> None:
    [source] = add_sources(store, "fresh-news").values()
    store.ingest(source, [Candidate(wire())], NOW, STORIES)  # NOW: whole seconds

    with store.engine.connect() as conn:
        fetched = conn.exec_driver_sql("SELECT fetched_at FROM article").scalar_one()
        seen = conn.exec_driver_sql("SELECT DISTINCT seen_at FROM story_band").scalars().all()

    assert seen == [fetched]  # same stored form (SQLite: text), so window bounds compare alike


def test_a_copy_outside_the_cluster_window_starts_a_story_of_its_own(store: Store) -> None:
    ids = add_sources(store, "fresh-news", "khmer-times")
    store.ingest(ids["fresh-news"], [Candidate(wire())], NOW, STORIES)
    later = NOW + STORIES.window + timedelta(minutes=1)

    [late] = store.ingest(ids["khmer-times"], [Candidate(copy())], later, STORIES).new

    assert late.cluster_id == late.id


def band_rows(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.scalar(sa.text("SELECT count(*) FROM story_band")) or 0)


def test_forgetting_keys_outside_the_window_keeps_stories_and_later_copies_joining(
    store: Store,
) -> None:
    ids = add_sources(store, "fresh-news", "khmer-times", "vod")
    [old] = store.ingest(ids["fresh-news"], [Candidate(wire("old"))], NOW, STORIES).new
    later = NOW + STORIES.window + timedelta(days=1)
    [recent] = store.ingest(ids["fresh-news"], [Candidate(wire("recent"))], later, STORIES).new
    keys_each = band_rows(store) // 2

    forgotten = store.forget_story_keys(later - STORIES.window)

    assert (forgotten, band_rows(store)) == (keys_each, keys_each)
    assert store.get_article(old.id) is not None
    [joined] = store.ingest(
        ids["khmer-times"], [Candidate(copy())], later + timedelta(hours=1), STORIES
    ).new
    assert joined.cluster_id == recent.id
    assert store.forget_story_keys(later - STORIES.window) == 0


def test_copies_are_found_through_the_band_index_not_a_scan(sqlite_url: str) -> None:
    store = Store.open(sqlite_url)
    try:
        with store.engine.connect() as conn:
            plan = " ".join(
                str(row[-1])
                for row in conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN SELECT article_id FROM story_band "
                    "WHERE band IN (1, 2, 3) AND seen_at >= '2025-01-01'"
                )
            )
    finally:
        store.close()
    assert plan == "SEARCH story_band USING PRIMARY KEY (band=? AND seen_at>?)"


def test_a_velocity_delivery_waits_for_the_nth_outlet_sighting_included(store: Store) -> None:
    ids = add_sources(store, "fresh-news", "khmer-times", "vod", "cna")
    spreading = DeliveryIn(
        "spreading", "ops", "instant", ("ASEAN",), "ASEAN", min_outlets=3, within_seconds=6 * 3600
    )
    queued = [
        store.ingest(ids["fresh-news"], [Candidate(wire(), (spreading,))], NOW, STORIES),
        store.ingest(
            ids["khmer-times"],
            [Candidate(copy(), (spreading,))],
            NOW + timedelta(hours=1),
            STORIES,
        ),
        # VOD carries the wire's very URL: a sighting, and the third outlet.
        store.ingest(
            ids["vod"],
            [Candidate(dataclasses.replace(wire(), guid="vod-1"), (spreading,))],
            NOW + timedelta(hours=2),
            STORIES,
        ),
        store.ingest(
            ids["cna"], [Candidate(copy("cna"), (spreading,))], NOW + timedelta(hours=3), STORIES
        ),
    ]

    assert [r.deliveries for r in queued] == [0, 0, 1, 0]
    assert queued[2].sightings == 1
    [claimed] = store.claim_deliveries(NOW + timedelta(hours=4))
    assert claimed.rule == "spreading"
    assert claimed.outlets == ("fresh-news", "khmer-times", "vod", "cna")


def test_outlets_outside_the_velocity_window_do_not_count(store: Store) -> None:
    ids = add_sources(store, "fresh-news", "khmer-times", "vod")
    spreading = DeliveryIn("spreading", "ops", "instant", min_outlets=2, within_seconds=3600)
    store.ingest(ids["fresh-news"], [Candidate(wire(), (spreading,))], NOW, STORIES)
    late = store.ingest(
        ids["khmer-times"], [Candidate(copy(), (spreading,))], NOW + timedelta(hours=2), STORIES
    )
    later = store.ingest(
        ids["vod"], [Candidate(copy("vod"), (spreading,))], NOW + timedelta(hours=2.5), STORIES
    )

    assert (late.deliveries, later.deliveries) == (0, 1)


def test_an_edit_that_no_longer_tells_the_story_leaves_its_cluster(store: Store) -> None:
    ids = add_sources(store, "fresh-news", "khmer-times")
    [first] = store.ingest(ids["fresh-news"], [Candidate(wire())], NOW, STORIES).new
    [joined] = store.ingest(ids["khmer-times"], [Candidate(copy())], NOW, STORIES).new
    assert joined.cluster_id == first.id

    rewritten = dataclasses.replace(other("copy"), guid=joined.guid)
    result = store.ingest(
        ids["khmer-times"], [Candidate(rewritten, (ALERT,))], NOW + timedelta(hours=1), STORIES
    )

    [updated] = result.updated
    assert (updated.id, updated.cluster_id) == (joined.id, joined.id)
    assert updated.updated_at == NOW + timedelta(hours=1)
    assert result.deliveries == 1  # a story of its own now, never alerted


def test_a_pruned_article_is_a_tombstone_even_when_its_feed_rewords_it(store: Store) -> None:
    ids = add_sources(store, "fresh-news")
    [first] = store.ingest(ids["fresh-news"], [Candidate(wire(), (ALERT,))], NOW, STORIES).new
    store.prune(NOW + timedelta(days=1))

    reworded = wire(body=WIRE_BODY.replace("Tuesday", "12 September"))
    again = store.ingest(
        ids["fresh-news"], [Candidate(reworded, (ALERT,))], NOW + timedelta(days=2), STORIES
    )

    assert (again.new, again.updated, again.duplicates, again.deliveries) == ([], [], 1, 0)
    with store.engine.connect() as conn:
        kept = conn.execute(
            sa.text("SELECT body, fingerprint FROM article WHERE id = :id"), {"id": first.id}
        ).one()
    assert kept.body == ""
    assert kept.fingerprint == (wire().fingerprint or b"").hex()


def test_stories_lists_the_widest_first_with_their_outlets(store: Store) -> None:
    ids = add_sources(store, "fresh-news", "khmer-times", "vod")
    store.ingest(ids["fresh-news"], [Candidate(wire()), Candidate(other())], NOW, STORIES)
    store.ingest(ids["khmer-times"], [Candidate(copy())], NOW + timedelta(hours=1), STORIES)
    store.ingest(ids["vod"], [Candidate(copy("vod"))], NOW + timedelta(hours=2), STORIES)

    listed = store.stories(NOW - timedelta(days=1))
    wide = store.stories(NOW - timedelta(days=1), min_outlets=2)
    recent = store.stories(NOW + timedelta(minutes=1))

    assert [(s.title, s.outlets, s.articles) for s in listed] == [
        (WIRE_TITLE, ("fresh-news", "khmer-times", "vod"), 3),
        (OTHER_TITLE, ("fresh-news",), 1),
    ]
    assert [s.title for s in wide] == [WIRE_TITLE]
    assert recent == []  # both stories were first seen before


def test_copies_stored_at_once_on_postgresql_still_make_one_story(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two sources' polls (or replicas) store a story and its copy in overlapping
    transactions: the second waits for the first and joins its story."""
    first, second = Store.open(pg_url), Store.open(pg_url)
    try:
        ids = add_sources(first, "fresh-news", "khmer-times")
        placed, release = threading.Event(), threading.Event()
        results: dict[str, IngestResult] = {}
        insert_deliveries = store_ingest.insert_deliveries

        def hold_the_transaction_open(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
            # The winner's article is placed in its story, not committed, when its outbox
            # rows go in.
            if threading.current_thread() is winner:
                placed.set()
                release.wait(timeout=30)
            return insert_deliveries(conn, rows)

        monkeypatch.setattr(store_ingest, "insert_deliveries", hold_the_transaction_open)

        def run(name: str, store: Store, entry: ArticleIn) -> None:
            results[name] = store.ingest(ids[name], [Candidate(entry, (ALERT,))], NOW, STORIES)

        winner = threading.Thread(target=run, args=("fresh-news", first, wire()))
        winner.start()
        assert placed.wait(timeout=30)
        loser = threading.Thread(target=run, args=("khmer-times", second, copy()))
        loser.start()
        deadline = time.monotonic() + 30
        while not _waiting_for_the_stories_lock(first):
            assert time.monotonic() < deadline, "the copy's ingest never waited for the story's"
        release.set()
        winner.join()
        loser.join()

        [story] = results["fresh-news"].new
        [joined] = results["khmer-times"].new
        assert joined.cluster_id == story.id
        assert (results["fresh-news"].deliveries, results["khmer-times"].deliveries) == (1, 0)
    finally:
        release.set()
        first.close()
        second.close()


def _waiting_for_the_stories_lock(store: Store) -> bool:
    with store.engine.connect() as conn:
        waiting = conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND query LIKE :lock"
            ),
            {"lock": "SELECT pg_advisory_xact_lock%"},
        ).scalar()
    return bool(waiting)
