"""Engine setup for SQLite and PostgreSQL, and the translation of database errors.

SQLite gets WAL, a busy timeout, foreign keys and ``synchronous=NORMAL`` on every
new connection. The sqlite3 driver's own transaction handling is switched off so
that SQLAlchemy emits BEGIN itself: a plain (deferred) ``BEGIN`` for reads and
``BEGIN IMMEDIATE`` for connections opened through `writer(engine)`. A deferred
transaction that later writes fails at once with "database is locked" when
another writer got there first (the busy timeout does not apply to that upgrade),
whereas ``BEGIN IMMEDIATE`` waits for the write lock up to the busy timeout.
"""

from __future__ import annotations

import os
import sqlite3
import unicodedata
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url

from storage.errors import StorageError

__all__ = [
    "BUSY_TIMEOUT_MS",
    "NFKC_FUNCTION",
    "make_engine",
    "normalise_url",
    "safe_url",
    "translate_errors",
    "writer",
]

BUSY_TIMEOUT_MS = 30_000
_BEGIN_OPTION = "newsmon_sqlite_begin"


def normalise_url(url: str) -> URL:
    """Parse a database URL; bare ``postgresql://`` and ``postgres://`` mean psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def safe_url(url: str | URL) -> str:
    """The URL as it may be shown to a user: the password masked."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except sa.exc.ArgumentError:
        return "<unparseable database URL>"
    return parsed.render_as_string(hide_password=True)


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for a SQLite file or a PostgreSQL database (psycopg).

    `read_only` opens the SQLite file for reading only (see `_read_only_sqlite`)
    and makes PostgreSQL transactions read-only.
    """
    parsed = normalise_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if read_only and parsed.database and parsed.database != ":memory:":
            path = parsed.database
            engine = sa.create_engine(parsed, creator=lambda: _read_only_sqlite(path))
        else:
            engine = sa.create_engine(parsed)
        _configure_sqlite(engine, wal=not read_only)
        return engine
    if backend == "postgresql":
        if read_only:
            options = {"options": "-c default_transaction_read_only=on"}
            return sa.create_engine(parsed, pool_pre_ping=True, connect_args=options)
        return sa.create_engine(parsed, pool_pre_ping=True)
    raise StorageError(
        f"storage: unsupported database {safe_url(parsed)} (use sqlite:/// or postgresql://)"
    )


NFKC_FUNCTION = "newsmon_nfkc"


def _nfkc(text: str | None) -> str | None:
    return None if text is None else unicodedata.normalize("NFKC", text)


def writer(engine: Engine) -> Engine:
    """The engine whose transactions take the write lock up front (SQLite BEGIN IMMEDIATE)."""
    return engine.execution_options(**{_BEGIN_OPTION: "BEGIN IMMEDIATE"})


def _read_only_sqlite(path: str) -> sqlite3.Connection:
    """A read-only connection that writes nothing, not even WAL bookkeeping.

    ``mode=ro`` still needs the ``-shm`` file of a WAL database, which cannot be
    created in a read-only directory; then the file is opened as ``immutable``:
    nothing can be writing to it where nothing can write.
    """
    quoted = urllib.parse.quote(os.path.abspath(path))
    conn = sqlite3.connect(f"file:{quoted}?mode=ro", uri=True, check_same_thread=False)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        conn.close()
        return sqlite3.connect(f"file:{quoted}?immutable=1", uri=True, check_same_thread=False)
    return conn


def _configure_sqlite(engine: Engine, *, wal: bool = True) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN (see "begin" below) instead of the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if wal:  # switching modes writes to the file
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()
        # The full-text triggers index NFKC text (migration 0004), as the matcher
        # folds it: "ＡＳＥＡＮ" in an article is found by a search for "ASEAN".
        dbapi_connection.create_function(NFKC_FUNCTION, 1, _nfkc, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get(_BEGIN_OPTION, "BEGIN"))


def _describe(exc: BaseException) -> str:
    """The driver's own words for a database error, without SQLAlchemy's SQL dump."""
    orig = exc.orig if isinstance(exc, sa.exc.StatementError) else None
    text = str(orig if orig is not None else exc)
    return " ".join(text.split()) or type(exc).__name__


@contextmanager
def translate_errors(operation: str, url: URL | None = None) -> Iterator[None]:
    """Turn SQLAlchemy and driver errors into ``StorageError('storage: OPERATION: ...')``."""
    try:
        yield
    except (sa.exc.SQLAlchemyError, sqlite3.Error) as exc:
        message = _describe(exc)
        if url is not None and url.password:
            message = message.replace(str(url.password), "***")
        raise StorageError(f"storage: {operation}: {message}") from exc
