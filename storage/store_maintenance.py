"""Retention housekeeping: after old bodies are emptied, give the space back when worthwhile.

Emptying bodies (`store_articles.prune_bodies`) keeps every row as a
tombstone, so pruned articles are never ingested again. The space they held
is reused by new rows anyway; ``VACUUM`` (which rewrites a SQLite file and
briefly holds the write lock) only runs when a good part of the archive was
pruned. The planner's statistics (``ANALYZE``) are refreshed after any prune.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from storage.models import ARTICLE
from storage.types import PruneReport

__all__ = ["article_count", "free_page_ratio", "tidy", "worth_vacuuming"]

VACUUM_SHARE = 0.2  # pruned rows / all rows at which VACUUM pays off
VACUUM_FREE_PAGES = 0.25  # or: free pages / all pages in the SQLite file


def worth_vacuuming(pruned: int, articles: int, free_ratio: float) -> bool:
    """VACUUM once a fifth of the articles were just pruned or a quarter of the file is free."""
    if pruned <= 0:
        return False
    return pruned >= VACUUM_SHARE * articles or free_ratio >= VACUUM_FREE_PAGES


def article_count(conn: Connection) -> int:
    """Every article row, tombstones included."""
    return int(conn.scalar(sa.select(sa.func.count()).select_from(ARTICLE)) or 0)


def free_page_ratio(engine: Engine) -> float:
    """The share of the SQLite file on its free list (0 on PostgreSQL: autovacuum's job)."""
    if engine.dialect.name != "sqlite":
        return 0.0
    with engine.connect() as conn:
        free = int(conn.exec_driver_sql("PRAGMA freelist_count").scalar() or 0)
        pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar() or 0)
    return free / pages if pages else 0.0


def tidy(
    engine: Engine, before: datetime, pruned: int, articles: int, vacuum: bool | None
) -> PruneReport:
    """VACUUM (when `vacuum`, or when worthwhile if None) and ANALYZE after a prune."""
    if vacuum is None:
        vacuum = worth_vacuuming(pruned, articles, free_page_ratio(engine))
    analyze = vacuum or pruned > 0
    if engine.dialect.name == "sqlite":
        _tidy_sqlite(engine, vacuum=vacuum, analyze=analyze)
    else:
        _tidy_postgresql(engine, vacuum=vacuum, analyze=analyze)
    return PruneReport(before, pruned, articles, vacuumed=vacuum, analyzed=analyze)


def _tidy_sqlite(engine: Engine, *, vacuum: bool, analyze: bool) -> None:
    # VACUUM cannot run in a transaction; the driver connection is in autocommit
    # mode (engine.py hands BEGIN to SQLAlchemy), so it runs as issued.
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if vacuum:
            cursor.execute("VACUUM")
            # In WAL mode VACUUM writes the whole file to the WAL; give that back too.
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if analyze:
            cursor.execute("ANALYZE")
        cursor.close()
    finally:
        raw.close()


def _tidy_postgresql(engine: Engine, *, vacuum: bool, analyze: bool) -> None:
    statement = "VACUUM (ANALYZE) article" if vacuum else "ANALYZE article" if analyze else None
    if statement is None:
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(statement)
