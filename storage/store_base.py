"""The connection side of the store: engine, migrations, transactions.

`Store` adds the operations; this class owns how each one reaches the
database: `_read` for a plain transaction, `_write` for one that takes the
write lock up front, both turning database errors into `StorageError`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Self

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage import migrate
from storage.engine import make_engine, normalise_url, safe_url, translate_errors, writer
from storage.errors import StorageError

__all__ = ["StoreBase"]


class StoreBase:
    """An engine on SQLite or PostgreSQL and the transactions the operations run in."""

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        """Set up the engine; no connection is made and no schema is touched."""
        with translate_errors(f"cannot open database {safe_url(url)}"):
            self._url = normalise_url(url)
            self.engine = make_engine(url, read_only=read_only)
        self._writer = writer(self.engine)
        # SQLite has one writer at a time. Its busy handler makes a waiting writer
        # sleep in growing steps (up to 100 ms) however soon the lock frees; this
        # process's own writers queue on a lock instead and start the moment it
        # does (other processes still meet busy_timeout). Re-entrant: a nested write
        # meets SQLite's own lock and its timeout, as before.
        sqlite = self.engine.dialect.name == "sqlite"
        self._write_turn: AbstractContextManager[object] = (
            threading.RLock() if sqlite else nullcontext()
        )
        self.read_only = read_only  # opened by `open_for_reading` on a read-only database

    @classmethod
    def open(cls, url: str) -> Self:
        """A store whose schema is upgraded to the newest migration."""
        store = cls(url)
        try:
            with translate_errors(f"cannot open database {store.url}", store._url):
                migrate.upgrade(store.engine)
        except StorageError:
            store.close()
            raise
        return store

    @classmethod
    def open_for_reading(cls, url: str) -> Self:
        """A store for listing, search and export: as `open` when the database can
        be written, else read-only, migrating and writing nothing (a SQLite file
        on a read-only mount, or one that is not writable)."""
        parsed = normalise_url(url)
        path = parsed.database
        if parsed.get_backend_name() == "sqlite" and path and os.path.isfile(path):
            folder = os.path.dirname(os.path.abspath(path))
            if not (os.access(path, os.W_OK) and os.access(folder, os.W_OK)):
                return cls(url, read_only=True)
        return cls.open(url)

    @property
    def url(self) -> str:
        """The database URL with its password masked."""
        return safe_url(self._url)

    @contextmanager
    def _read(self, operation: str) -> Iterator[Connection]:
        with translate_errors(operation, self._url), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _write(self, operation: str) -> Iterator[Connection]:
        with self._write_turn, translate_errors(operation, self._url), self._writer.begin() as conn:
            yield conn

    def upgrade(self) -> None:
        """Apply pending migrations (``newsmon db upgrade``); a no-op when current."""
        with translate_errors("db upgrade", self._url):
            migrate.upgrade(self.engine)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def ping(self) -> bool:
        """Whether the database answers."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return False
        return True
