"""Search's two plans (sort the matches, or walk ``ix_article_newest`` when they are
dense) give the same ids in the same order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from storage import Store, store_search
from storage.store_search import NEWEST_INDEX, dense_from, search_ids
from tests.storage.builders import NOW, add_sources, article, quiet

HOUR = timedelta(hours=1)
SORT = 10**9  # more matches than any test has: always sorted
WALK = 0  # any match makes the walk


def published(i: int) -> datetime | None:
    """Every fifth article undated (its fetch time counts); pairs share a date."""
    return None if i % 5 == 0 else NOW - (i // 2) * HOUR


@pytest.fixture
def archive(store: Store) -> Store:
    """36 articles, "flood" in two of three, fetched in three batches an hour apart
    (dates tie within a batch); "local" also carries every fourth."""
    ids = add_sources(store, "wire", "local")
    for batch in range(3):
        keys = range(batch * 12, batch * 12 + 12)
        items = [
            article(
                str(i),
                title=f"{'Flood' if i % 3 else 'Quiet'} report {i}",
                published_at=published(i),
            )
            for i in keys
        ]
        fetched = NOW - (3 - batch) * HOUR
        store.ingest(ids["wire"], quiet(items), fetched)
        carried = [article(str(i), guid=f"l{i}") for i in keys if i % 4 == 0]
        store.ingest(ids["local"], quiet(carried), fetched)
    return store


def both_plans(
    store: Store,
    words: list[str],
    *,
    since: datetime | None = None,
    source: str | None = None,
    limit: int = 50,
) -> list[int]:
    """The ids found sorting and walking (asserted equal)."""
    with store.engine.connect() as conn:
        sorted_ = search_ids(conn, words, since=since, source=source, limit=limit, dense=SORT)
        walked = search_ids(conn, words, since=since, source=source, limit=limit, dense=WALK)
    assert walked == sorted_
    return sorted_


def newest_first(store: Store, ids: list[int]) -> list[int]:
    """`ids` ordered by (published or fetched) then id, newest first, in Python."""
    rows = store.articles(ids)
    rows.sort(key=lambda r: (r.published_at or r.fetched_at, r.id), reverse=True)
    return [r.id for r in rows]


def all_ids(store: Store) -> list[int]:
    with store.engine.connect() as conn:
        return list(conn.scalars(sa.text("SELECT id FROM article")))


def test_both_plans_order_newest_first_with_ties_and_undated_articles(archive: Store) -> None:
    floods = [r.id for r in archive.articles(all_ids(archive)) if r.title.startswith("Flood")]
    assert both_plans(archive, ["flood"]) == newest_first(archive, floods)
    assert both_plans(archive, ["flood"], limit=5) == newest_first(archive, floods)[:5]
    assert both_plans(archive, ["report"], limit=7) == newest_first(archive, all_ids(archive))[:7]


def test_both_plans_apply_since_and_source(archive: Store) -> None:
    rows = archive.articles(all_ids(archive))
    since = NOW - 4 * HOUR
    floods = [r for r in rows if r.title.startswith("Flood")]
    recent = [r.id for r in floods if (r.published_at or r.fetched_at) >= since]
    assert 0 < len(recent) < len(floods)
    assert both_plans(archive, ["flood"], since=since) == newest_first(archive, recent)
    carried = [r.id for r in rows if int(r.title.split()[-1]) % 4 == 0]
    local = both_plans(archive, ["report"], source="local", limit=4)
    assert local == newest_first(archive, carried)[:4]
    both = set(recent) & set(carried)
    assert both
    narrowed = both_plans(archive, ["flood"], since=since, source="local")
    assert narrowed == newest_first(archive, list(both))
    assert both_plans(archive, ["nothing"]) == []
    assert both_plans(archive, ["flood"], source="nobody") == []


def test_windows_grow_until_the_limit_is_proven(
    archive: Store, statements: list[tuple[str, object]]
) -> None:
    # Dates fall as ids rise here, so narrow windows rarely prove the answer.
    assert both_plans(archive, ["flood"], source="local", limit=3)
    walks = [sql for sql, _ in statements if "MATCH" in sql and "ORDER" in sql and "BETWEEN" in sql]
    if archive.engine.dialect.name == "sqlite":
        assert len(walks) > 1


def test_past_the_last_window_the_whole_match_set_is_walked(
    archive: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_search, "_LAST_WINDOW", 1)
    assert both_plans(archive, ["flood"], limit=5)
    assert both_plans(archive, ["report"], since=NOW - 4 * HOUR, source="local")


def test_the_default_plan_gives_the_same_ids(archive: Store) -> None:
    assert archive.search_ids(["flood"], limit=10) == both_plans(archive, ["flood"], limit=10)


def test_walk_threshold_grows_with_the_archive_and_the_limit() -> None:
    assert dense_from(50, 0) == 50
    assert dense_from(1000, 100_000) < dense_from(1000, 1_000_000)
    assert dense_from(50, 1_000_000) < dense_from(1000, 1_000_000)


@pytest.fixture
def statements(store: Store) -> Iterator[list[tuple[str, object]]]:
    """Every statement the store's engine runs meanwhile, with its parameters."""
    seen: list[tuple[str, object]] = []

    def record(_c: object, _cursor: object, sql: str, params: object, *_: object) -> None:
        seen.append((sql, params))

    sa.event.listen(store.engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(store.engine, "before_cursor_execute", record)


@pytest.mark.parametrize("since", [None, NOW - 4 * HOUR])
@pytest.mark.parametrize("source", [None, "local"])
def test_the_dense_plan_walks_the_newest_index_without_sorting(
    archive: Store,
    statements: list[tuple[str, object]],
    since: datetime | None,
    source: str | None,
) -> None:
    if archive.engine.dialect.name != "sqlite":
        pytest.skip("the walk is SQLite's plan; PostgreSQL's planner chooses its own")
    with archive.engine.connect() as conn:
        search_ids(conn, ["flood"], since=since, source=source, limit=5, dense=WALK)
        walks = [(sql, params) for sql, params in statements if "MATCH" in sql and "ORDER" in sql]
        plans = [
            [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)]  # type: ignore[arg-type]
            for sql, params in walks
        ]
    assert plans
    for plan in plans:
        steps = [step for step in plan if step.startswith(("SCAN", "SEARCH"))]
        assert any(NEWEST_INDEX in step for step in steps), plan
        assert not any("TEMP B-TREE" in step for step in plan), plan
