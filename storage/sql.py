"""Small SQL helpers shared by the store modules: chunking, insert-or-ignore, UTC times."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeAlias, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row

__all__ = [
    "CHUNK",
    "AnyRow",
    "chunks",
    "insert_or_ignore",
    "match_terms_spans",
    "transaction_lock",
    "utc",
]

T = TypeVar("T")

# A result row of any shape (SQLAlchemy 2.1 types rows by their column tuple).
AnyRow: TypeAlias = "Row[*tuple[Any, ...]]"

# Bound parameters per IN list / statement: far below SQLite's and psycopg's limits.
CHUNK = 500


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_or_ignore(conn: Connection, table: sa.TableClause) -> postgresql.Insert | sqlite.Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` for the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def transaction_lock(conn: Connection, name: str) -> None:
    """Serialise transactions that take the lock `name`, until the transaction ends.

    PostgreSQL: a transaction-level advisory lock keyed by the name's hash.
    SQLite needs none: writes run in ``BEGIN IMMEDIATE``, one writer at a time.
    """
    if conn.dialect.name == "postgresql":
        digest = hashlib.blake2b(f"newsmon:{name}".encode(), digest_size=8).digest()
        key = int.from_bytes(digest, "big", signed=True)
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def utc(value: datetime) -> datetime:
    """`value` in UTC; a naive datetime is a programming error, not a guess."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} (pass a tz-aware UTC time)")
    return value.astimezone(UTC)


def match_terms_spans(row: AnyRow) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]]:
    """A delivery row's matched terms and snippet spans, stored as JSON."""
    terms = tuple(json.loads(row.terms))
    spans = tuple((int(start), int(end)) for start, end in json.loads(row.spans))
    return terms, spans
