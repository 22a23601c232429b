"""Ingest throughput on SQLite: `Store.ingest` (SQLAlchemy Core) against ORM objects.

Both sides store the same synthetic articles (title, summary, a 3 kB body) in
feed-sized batches, with one delivery per article, on fresh SQLite files with
the same migrated schema (so both pay the same FTS triggers):

- `Store.ingest`: batched lookups, INSERT ... ON CONFLICT DO NOTHING RETURNING;
- the baseline: the same lookups, then SQLModel objects added to a Session
  and flushed, cluster ids set on the objects, delivery objects, commit.

It prints rows/s for each and the ratio, then the rate of the deferred body
indexing batch (`Store.index_bodies`). Not a test.

    .venv/bin/python bench/ingest.py [ARTICLES] [BATCH]
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, col, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from storage import ArticleIn, Candidate, DeliveryIn, SourceSpec, Store
from storage.engine import writer
from storage.models import Article, Delivery

__all__ = ["main"]

NOW = datetime(2025, 3, 1, tzinfo=UTC)
WORDS = (
    "asean",
    "russia",
    "cambodia",
    "trade",
    "minister",
    "summit",
    "phnom",
    "penh",
    "talks",
    "economy",
    "rice",
    "exports",
    "investment",
    "border",
    "election",
    "court",
    "villagers",
    "garment",
    "factory",
    "tourism",
    "angkor",
    "mekong",
)


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def _articles(count: int) -> list[ArticleIn]:
    rng = random.Random(7)
    return [
        ArticleIn(
            guid=f"https://news.example/{n}",
            url=f"https://news.example/{n}?utm_source=rss",
            canonical_url=f"https://news.example/{n}",
            title=_text(rng, 10),
            summary=_text(rng, 40),
            body=_text(rng, 450),
            author="Desk",
            published_at=NOW,
            content_hash=f"{n:040x}",
        )
        for n in range(count)
    ]


def _one_alert(_: ArticleIn) -> Sequence[DeliveryIn]:
    return [DeliveryIn("asean", "ops", "instant", ("asean",), "ASEAN", ((0, 5),))]


def _core(store: Store, source_id: int, batch: Sequence[ArticleIn]) -> None:
    store.ingest(source_id, [Candidate(a, tuple(_one_alert(a))) for a in batch], NOW)


def _orm(store: Store, source_id: int, batch: Sequence[ArticleIn]) -> None:
    with Session(writer(store.engine)) as session:
        guids = [a.guid for a in batch]
        known = set(session.exec(select(Article.guid).where(col(Article.guid).in_(guids))))
        urls = [a.canonical_url for a in batch]
        known_urls = set(
            session.exec(select(Article.canonical_url).where(col(Article.canonical_url).in_(urls)))
        )
        fresh = [a for a in batch if a.guid not in known and a.canonical_url not in known_urls]
        rows = [
            Article(
                source_id=source_id,
                guid=a.guid,
                url=a.url,
                canonical_url=a.canonical_url,
                url_key=a.canonical_url,  # the first copy of a URL holds it (migration 0005)
                title=a.title,
                summary=a.summary,
                body=a.body,
                author=a.author,
                published_at=a.published_at,
                fetched_at=NOW,
                content_hash=a.content_hash,
            )
            for a in fresh
        ]
        session.add_all(rows)
        session.flush()
        for row, entry in zip(rows, fresh, strict=True):
            row.cluster_id = row.id
            for d in _one_alert(entry):
                assert row.id is not None
                session.add(
                    Delivery(
                        article_id=row.id,
                        cluster_id=row.id,
                        rule=d.rule,
                        channel=d.channel,
                        mode=d.mode,
                        next_attempt_at=NOW,
                        created_at=NOW,
                        terms='["asean"]',
                        snippet=d.snippet,
                        spans="[[0, 5]]",
                    )
                )
        session.commit()


def _rate(
    ingest: Callable[[Store, int, Sequence[ArticleIn]], None],
    folder: Path,
    name: str,
    articles: list[ArticleIn],
    batch: int,
) -> tuple[float, Store]:
    store = Store.open(f"sqlite:///{folder / name}.db")
    store.sync_sources([SourceSpec("bench", "https://news.example/feed", "feed", 600)], NOW)
    [source] = store.claim_sources(None, NOW)
    start = time.perf_counter()
    for first in range(0, len(articles), batch):
        ingest(store, source.id, articles[first : first + batch])
    return len(articles) / (time.perf_counter() - start), store


def main(argv: list[str]) -> None:
    count = int(argv[0]) if argv else 20_000
    batch = int(argv[1]) if len(argv) > 1 else 100
    articles = _articles(count)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        orm, orm_store = _rate(_orm, folder, "orm", articles, batch)
        core, store = _rate(_core, folder, "core", articles, batch)
        start = time.perf_counter()
        indexed = 0
        while done := store.index_bodies(500):
            indexed += done
        bodies = indexed / (time.perf_counter() - start)
        assert store.delivery_counts()["pending"] == count == indexed
        assert orm_store.delivery_counts()["pending"] == count
        orm_store.close()
        store.close()
    print(f"ingest {count} articles in batches of {batch} (SQLite, 1 delivery each)")
    print(f"  ORM objects (baseline)  {orm:10,.0f} rows/s")
    print(f"  Store.ingest (Core)     {core:10,.0f} rows/s   {core / orm:.2f}x the baseline")
    print(f"  index_bodies (deferred) {bodies:10,.0f} rows/s   {1e3 / bodies:.3f} ms per body")


if __name__ == "__main__":
    main(sys.argv[1:])
