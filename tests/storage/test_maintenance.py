"""Retention: old bodies are emptied, rows stay as tombstones, the file shrinks when worthwhile."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from storage import Store
from storage.store_maintenance import worth_vacuuming
from tests.storage.builders import NOW, add_sources, article, quiet

OLD = NOW - timedelta(days=400)
CUTOFF = NOW - timedelta(days=365)


def test_prune_empties_old_bodies_and_keeps_their_metadata(store: Store) -> None:
    src = add_sources(store, "wire")["wire"]
    old = store.ingest(src, quiet([article(k, body=f"old body {k}") for k in "abc"]), OLD)
    [fresh] = store.ingest(src, quiet([article("d", body="fresh body")]), NOW).new

    report = store.prune(CUTOFF)

    assert (report.pruned, report.articles) == (3, 4)
    assert report.vacuumed  # 3 of 4 articles: worth it
    assert report.analyzed
    for row in old.new:
        kept = store.get_article(row.id)
        assert kept is not None
        assert (kept.title, kept.url, kept.body) == (row.title, row.url, "")
    assert store.get_article(fresh.id) == fresh
    again = store.prune(CUTOFF)
    assert (again.pruned, again.vacuumed, again.analyzed) == (0, False, False)
    assert again.describe().startswith("pruned 0 article bodies fetched before")
    assert again.tombstones == 3  # the three pruned before stay as tombstones
    assert store.prune_preview(CUTOFF) == (0, 3)


def test_a_pruned_article_still_in_the_feed_is_not_stored_again(store: Store) -> None:
    src = add_sources(store, "wire")["wire"]
    store.ingest(src, quiet([article("a", body="text")]), OLD)
    store.prune(CUTOFF)

    result = store.ingest(src, quiet([article("a", body="text")]), NOW)

    assert (result.new, result.updated, result.duplicates) == ([], [], 1)


def test_vacuum_gives_the_space_back_to_the_disk(sqlite_url: str, tmp_path: Path) -> None:
    store = Store.open(sqlite_url)
    try:
        src = add_sources(store, "wire")["wire"]
        bodies = [article(f"k{i}", body=f"{i} " + "lorem ipsum " * 2000) for i in range(150)]
        store.ingest(src, quiet(bodies), OLD)
        before = _size(tmp_path)

        report = store.prune(CUTOFF)

        assert report.vacuumed
        assert _size(tmp_path) < before / 4
    finally:
        store.close()


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.glob("newsmon.db*"))


@pytest.mark.parametrize(
    ("pruned", "articles", "free_ratio", "expected"),
    [
        (0, 1000, 0.9, False),  # nothing pruned now: not our business
        (10, 1000, 0.0, False),  # a day's worth: the space is reused anyway
        (200, 1000, 0.0, True),  # a fifth of the archive
        (10, 1000, 0.3, True),  # a quarter of the file is free pages
        (1, 1, 0.0, True),
    ],
)
def test_vacuum_only_when_worthwhile(
    pruned: int, articles: int, free_ratio: float, expected: bool
) -> None:
    assert worth_vacuuming(pruned, articles, free_ratio) is expected
