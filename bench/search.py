"""Search speed: `newsmon search`'s own code against a raw full-text query, same archive.

A generated archive (`bench/search_data.py`: 1,000,000 news-like articles on
SQLite, 200,000 on PostgreSQL; `--quick` 100,000 / 20,000) is searched with 20
typical queries: single words common and rare, AND, OR, phrases, a prefix,
NOT, NEAR, ``title:`` and ``body:``, ``--source``, ``--since``, a query that
finds nothing. Two methods, alternating, each query several times:

- newsmon: what `newsmon search QUERY [--source S] [--since D]` runs short of
  printing: `source_names`, `parse_since` and `monitor.cli.search.find` (the
  query parsed, the index narrowed, every candidate checked by the rules'
  evaluator, the total counted, the result documents and snippets built) on a
  store opened as the command opens it;
- raw: one hand-written SQL statement on the same full-text index giving the
  same answer: the newest 50 articles whose index entry matches (FTS5 ``MATCH``
  on SQLite, ``search_tsv @@ to_tsquery`` on PostgreSQL), with the same source
  and date filters, joined to their source's name.

It prints p50/p95 per query and method, whether both returned the same 50
articles, and the ratio of the p50s over all queries. The SQLite archive is
kept under the temp directory, keyed by size, seed and schema revision, so a
rerun starts at once (an archive cached at an earlier revision is migrated in
place, as `newsmon db upgrade` would); the PostgreSQL one lives in a database created for the
run (``newsmon_bench_search`` at 127.0.0.1:5432) and dropped after it; loading
costs ~12 ms per article there (the generated tsvector column over the body),
so the default 200,000 take ~40 minutes on a 2-core box (``--postgres N``).

    .venv/bin/python bench/search.py [--quick] [--sqlite N] [--postgres N] [--runs R]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from search_data import BIG_SOURCE, Archive, fill

from monitor.cli.app import parse_since
from monitor.cli.search import find, source_names
from storage.migrate import head_revision
from storage.store import Store

LIMIT = 50  # `newsmon search`'s default --limit
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PG_DATABASE = "newsmon_bench_search"
CACHE = Path(tempfile.gettempdir()) / "newsmon-bench-search"
_GENERATOR_VERSION = 1  # bump when search_data.py changes what it generates


@dataclass(frozen=True)
class Query:
    """One benchmark query: as typed, and as raw FTS5 / tsquery text."""

    kind: str
    text: str
    fts: str
    tsquery: str
    since: str | None = None
    source: str | None = None
    title: str | None = None  # PostgreSQL raw: what the title must hold (one tsvector has all)

    def label(self) -> str:
        options = [f"--source '{self.source}'"] if self.source else []
        options += [f"--since {self.since}"] if self.since else []
        return " ".join([self.text, *options])


QUERIES = (
    Query("word, common", "government", "government", "government"),
    Query("word", "election", "election", "election"),
    Query("word", "Cambodia", "Cambodia", "cambodia"),
    Query("word, rarer", "democracy", "democracy", "democracy"),
    Query("word, rare", "rozuromi", "rozuromi", "rozuromi"),
    Query("prefix", "Russia*", "Russia*", "russia:*"),
    Query("AND", "ASEAN Russia", "ASEAN AND Russia", "asean & russia"),
    Query("AND", "election AND minister", "election AND minister", "election & minister"),
    Query("OR", "ASEAN OR Cambodia", "ASEAN OR Cambodia", "asean | cambodia"),
    Query(
        "OR + AND",
        "(Russia OR China) trade",
        "(Russia OR China) AND trade",
        "(russia | china) & trade",
    ),
    Query("phrase", '"Phnom Penh"', '"Phnom Penh"', "phnom <-> penh"),
    Query(
        "phrase + word",
        '"prime minister" election',
        '"prime minister" AND election',
        "(prime <-> minister) & election",
    ),
    Query("NOT", "election -Thailand", "election NOT Thailand", "election & !thailand"),
    Query(
        "NEAR",
        '"Hun Sen" NEAR/5 election',
        'NEAR("Hun Sen" election, 5)',
        "(hun <-> sen) & election",
    ),
    Query("title:", "title:election", "title:election", "election", title="election"),
    Query(
        "title: + word",
        "title:Cambodia flood",
        "title:Cambodia AND flood",
        "cambodia & flood",
        title="cambodia",
    ),
    Query("--source", "Cambodia", "Cambodia", "cambodia", source=BIG_SOURCE),
    Query("--since", "election", "election", "election", since="2025-12-01"),
    Query("--source --since", "ASEAN", "ASEAN", "asean", since="2025-10-01", source=BIG_SOURCE),
    Query("no match", "typhoon Zanzibar", "typhoon AND Zanzibar", "typhoon & zanzibar"),
)


@dataclass
class Timing:
    newsmon: list[float]
    raw: list[float]
    same: bool
    hits: int
    walked: list[float]  # SQLite: the raw statement walking ix_article_newest (else empty)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def newsmon_search(store: Store, query: Query) -> list[int]:
    """`newsmon search` short of printing; the ids it would print."""
    names = source_names([query.source], None, store) if query.source else None
    found = find(
        store, query.text, since=parse_since(query.since), names=names, limit=LIMIT, collapse=False
    )
    return [doc["id"] for doc in found.docs]


_NEWEST = "coalesce(a.published_at, a.fetched_at)"
_CARRIED = (
    "(s.name = :source OR EXISTS (SELECT 1 FROM sighting g JOIN source o ON o.id = g.source_id"
    " WHERE g.article_id = a.id AND o.name = :source))"
)


def raw_sql(query: Query, dialect: str) -> tuple[str, dict[str, object]]:
    """The one statement that answers `query` on the index directly."""
    if dialect == "sqlite":
        frm = "article_fts f JOIN article a ON a.id = f.rowid"
        where = ["article_fts MATCH :q"]
        params: dict[str, object] = {"q": query.fts}
    else:
        frm = "article a"
        where = ["a.search_tsv @@ to_tsquery('simple', :q)"]
        params = {"q": query.tsquery}
        if query.title:
            where.append("to_tsvector('simple', a.title) @@ to_tsquery('simple', :title)")
            params["title"] = query.title
    if query.since:
        where.append(f"{_NEWEST} >= :since")
        params["since"] = datetime.fromisoformat(query.since)
    if query.source:
        where.append(_CARRIED)
        params["source"] = query.source
    sql = (
        "SELECT a.id, s.name, a.title, a.url, a.published_at, a.fetched_at"
        f" FROM {frm} JOIN source s ON s.id = a.source_id WHERE {' AND '.join(where)}"
        f" ORDER BY {_NEWEST} DESC, a.id DESC LIMIT {LIMIT}"
    )
    return sql, params


def walked_sql(query: Query) -> tuple[str, dict[str, object]]:
    """SQLite: `raw_sql` with the matches as a set the date index's walk looks ids up
    in (``a.id + 0`` is no index key), as newsmon does for dense matches."""
    sql, params = raw_sql(query, "sqlite")
    walked = sql.replace(
        "FROM article_fts f JOIN article a ON a.id = f.rowid", "FROM article a"
    ).replace(
        "article_fts MATCH :q",
        "a.id + 0 IN (SELECT rowid FROM article_fts WHERE article_fts MATCH :q)",
    )
    return walked, params


def raw_search(engine: sa.Engine, query: Query, *, walk: bool = False) -> list[int]:
    sql, params = walked_sql(query) if walk else raw_sql(query, engine.dialect.name)
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(sa.text(sql), params)]


def index_hits(engine: sa.Engine, query: Query) -> int:
    """How many articles the index holds for the query's words (no filters)."""
    if engine.dialect.name == "sqlite":
        sql = "SELECT count(*) FROM article_fts WHERE article_fts MATCH :q"
        params = {"q": query.fts}
    else:
        sql = "SELECT count(*) FROM article WHERE search_tsv @@ to_tsquery('simple', :q)"
        params = {"q": query.tsquery}
    with engine.connect() as conn:
        return int(conn.execute(sa.text(sql), params).scalar_one())


def measure(store: Store, runs: int) -> list[Timing]:
    timings = []
    for query in QUERIES:
        ours: Callable[[], list[int]] = lambda q=query: newsmon_search(store, q)  # noqa: E731
        raw: Callable[[], list[int]] = lambda q=query: raw_search(store.engine, q)  # noqa: E731
        methods = [("newsmon", ours), ("raw", raw)]
        if store.engine.dialect.name == "sqlite":
            walked: Callable[[], list[int]] = lambda q=query: raw_search(  # noqa: E731
                store.engine, q, walk=True
            )
            assert walked() == raw(), query.label()
            methods.append(("walked", walked))
        same = ours() == raw()  # also the warm-up
        samples: dict[str, list[float]] = {name: [] for name, _ in methods}
        for run in range(runs):
            for name, method in methods if run % 2 == 0 else methods[::-1]:
                start = time.perf_counter()
                method()
                samples[name].append(time.perf_counter() - start)
        hits = index_hits(store.engine, query)
        timings.append(
            Timing(samples["newsmon"], samples["raw"], same, hits, samples.get("walked", []))
        )
    return timings


def report(backend: str, size: int, timings: list[Timing]) -> float:
    print(f"\n{backend}: {size:,} articles, limit {LIMIT}, times in ms")
    header = "| query | kind | index hits | newsmon p50 | p95 | raw p50 | p95 | × | same 50 |"
    print(header + " raw walk p50 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|---:|")
    for query, t in zip(QUERIES, timings, strict=True):
        ours, raw = statistics.median(t.newsmon), statistics.median(t.raw)
        floor = f"{statistics.median(t.walked) * 1000:.1f}" if t.walked else "—"
        print(
            f"| `{query.label()}` | {query.kind} | {t.hits:,} | {ours * 1000:.1f} | "
            f"{percentile(t.newsmon, 95) * 1000:.1f} | {raw * 1000:.1f} | "
            f"{percentile(t.raw, 95) * 1000:.1f} | {ours / raw:.2f} | "
            f"{'yes' if t.same else 'NO'} | {floor} |"
        )
    every_ours = [s for t in timings for s in t.newsmon]
    every_raw = [s for t in timings for s in t.raw]
    ours_p50, raw_p50 = statistics.median(every_ours), statistics.median(every_raw)
    print(
        f"all queries: newsmon p50 {ours_p50 * 1000:.1f} ms, p95 "
        f"{percentile(every_ours, 95) * 1000:.1f} ms; raw p50 {raw_p50 * 1000:.1f} ms, "
        f"p95 {percentile(every_raw, 95) * 1000:.1f} ms (load {os.getloadavg()[0]:.2f})"
    )
    if every_walked := [s for t in timings for s in t.walked]:
        walked_p50 = statistics.median(every_walked)
        print(
            f"raw walk (the raw statement walking the date index, whole match set): "
            f"p50 {walked_p50 * 1000:.1f} ms; not the ratio's baseline"
        )
    each = [statistics.median(t.newsmon) / statistics.median(t.raw) for t in timings]
    print(f"per query: median × {statistics.median(each):.2f}, worst × {max(each):.2f}")
    ratio = ours_p50 / raw_p50
    print(f"ratio ({backend}): newsmon search p50 / raw p50 = {ratio:.2f}×")
    return ratio


def sqlite_archive(size: int, seed: int) -> Path:
    """The cached SQLite archive of `size` articles, generated on first use."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"archive-{size}-{seed}-r{head_revision()}-g{_GENERATOR_VERSION}.db"
    if path.exists():
        return path
    part = path.with_suffix(".part")
    for leftover in CACHE.glob(part.name + "*"):
        leftover.unlink()
    older = sorted(CACHE.glob(f"archive-{size}-{seed}-r*-g{_GENERATOR_VERSION}.db"))
    if older:
        return upgraded(older[-1], part, path)
    print(f"generating {size:,} articles into {path} (once; later runs reuse it)", flush=True)
    start = time.perf_counter()
    settle(part, path, lambda store: fill(store, Archive(size, seed)))
    print(f"  done in {time.perf_counter() - start:.0f} s, {path.stat().st_size / 1e9:.2f} GB")
    return path


def settle(part: Path, path: Path, work: Callable[[Store], object]) -> None:
    """Open `part` with the project's migrations, do `work`, analyse and checkpoint it,
    and move it to `path`."""
    store = Store.open(f"sqlite:///{part}")  # the migrations `newsmon db upgrade` runs
    try:
        work(store)
        with store.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    for side in CACHE.glob(part.name + "-*"):
        side.unlink()
    part.rename(path)


def upgraded(older: Path, part: Path, path: Path) -> Path:
    """`older` (an archive cached at an earlier schema revision) migrated in place
    and renamed `path`: the same articles, without generating them again."""
    print(f"upgrading {older.name} to revision {head_revision()}", flush=True)
    start = time.perf_counter()
    older.rename(part)
    settle(part, path, lambda store: None)
    print(f"  done in {time.perf_counter() - start:.0f} s")
    return path


def run_sqlite(size: int, seed: int, runs: int) -> float:
    path = sqlite_archive(size, seed)
    store = Store.open_for_reading(f"sqlite:///{path}")
    try:
        return report("SQLite", size, measure(store, runs))
    finally:
        store.close()


def run_postgres(size: int, seed: int, runs: int) -> float | None:
    import psycopg

    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        print(f"\nPostgreSQL: skipped ({' '.join(str(exc).split())})")
        return None
    with admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE}")
        admin.execute(f"CREATE DATABASE {PG_DATABASE}")
        try:
            print(f"\ngenerating {size:,} articles into PostgreSQL {PG_DATABASE}", flush=True)
            start = time.perf_counter()
            store = Store.open(f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DATABASE}")
            try:
                fill(store, Archive(size, seed))
                with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                    c.exec_driver_sql("VACUUM ANALYZE")
                print(f"  done in {time.perf_counter() - start:.0f} s")
                return report("PostgreSQL", size, measure(store, runs))
            finally:
                store.close()
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 / 20,000 articles")
    parser.add_argument("--sqlite", type=int, help="articles on SQLite (default 1,000,000)")
    parser.add_argument(
        "--postgres", type=int, help="articles on PostgreSQL (default 200,000; 0: skip)"
    )
    parser.add_argument("--runs", type=int, default=7, help="timed runs per query and method")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sqlite_size = args.sqlite or (100_000 if args.quick else 1_000_000)
    pg_size = args.postgres if args.postgres is not None else (20_000 if args.quick else 200_000)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} cores")
    ratios = [run_sqlite(sqlite_size, args.seed, args.runs)]
    if pg_size:
        pg = run_postgres(pg_size, args.seed, args.runs)
        if pg is not None:
            ratios.append(pg)
    print(f"\nratio: newsmon search p50 / raw p50 = {max(ratios):.2f}× (the worse backend)")


if __name__ == "__main__":
    main()
