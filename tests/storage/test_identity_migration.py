"""Migration 0005: a database stored under the old unique canonical URL keeps its identity."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from storage import Store
from storage.migrate import current_revision, head_revision, upgrade
from tests.storage.builders import NOW, add_sources, article, quiet

LATER = NOW + timedelta(minutes=10)


def test_upgrading_keeps_stored_articles_and_lets_one_source_share_a_url(db_url: str) -> None:
    store = Store(db_url)
    try:
        upgrade(store.engine, "0004")
        src = add_sources(store, "fresh-news")["fresh-news"]
        with store.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO article (source_id, guid, url, canonical_url, title, summary, "
                    "body, published_at, fetched_at, content_hash, pruned, body_indexed) VALUES "
                    "(:src, 'guid-a', :url, :url, 'Russia and ASEAN talk', '', '', NULL, "
                    ":now, 'v1', false, true)"
                ),
                {"src": src, "url": "https://news.example/daily", "now": NOW.replace(tzinfo=None)},
            )
        store.upgrade()
        assert current_revision(store.engine) == head_revision()

        again = store.ingest(src, quiet([article("a", url="https://news.example/daily")]), LATER)
        other = article("b", url="https://news.example/daily", title="ASEAN summit")
        fresh = store.ingest(src, quiet([other]), LATER)

        assert (again.new, again.duplicates) == ([], 1)
        assert [(row.guid, row.url) for row in fresh.new] == [
            ("guid-b", "https://news.example/daily")
        ]
        assert [row.guid for row in store.search(["ASEAN"])] == ["guid-b", "guid-a"]
    finally:
        store.close()
