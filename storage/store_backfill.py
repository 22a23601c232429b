"""Backfill resume state and the "which of these do we already have?" question.

`backfill` holds one row per source: the pages still to read (a JSON list of
URLs, the next one first), the WordPress ``?paged=N`` counter, running totals
and whether the run finished. A run saves it after every page, so a second
run after an interruption continues from the first unread page.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Field, SQLModel

from storage.models import ARTICLE, SIGHTING, SOURCE, UTCDateTime
from storage.sql import chunks
from storage.types import BackfillState

__all__ = [
    "BACKFILL",
    "Backfill",
    "known_keys",
    "load_backfill",
    "save_backfill",
    "source_ids",
]


class Backfill(SQLModel, table=True):
    """Where a source's backfill stands."""

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", unique=True)
    params: str = Field(default="{}", sa_type=sa.Text)  # JSON: since/until of the run
    queue: str = Field(default="[]", sa_type=sa.Text)  # JSON array of page URLs to read
    page_no: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    pages: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    new: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    duplicates: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    failed: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    done: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


BACKFILL: sa.Table = SQLModel.metadata.tables["backfill"]


def load_backfill(conn: Connection, source_id: int) -> BackfillState | None:
    row = conn.execute(sa.select(BACKFILL).where(BACKFILL.c.source_id == source_id)).first()
    if row is None:
        return None
    return BackfillState(
        source_id=source_id,
        params=json.loads(row.params),
        queue=list(json.loads(row.queue)),
        page_no=row.page_no,
        pages=row.pages,
        new=row.new,
        duplicates=row.duplicates,
        failed=row.failed,
        done=row.done,
    )


def save_backfill(conn: Connection, state: BackfillState, now: datetime) -> None:
    values = {
        "params": json.dumps(state.params, sort_keys=True),
        "queue": json.dumps(state.queue),
        "page_no": state.page_no,
        "pages": state.pages,
        "new": state.new,
        "duplicates": state.duplicates,
        "failed": state.failed,
        "done": state.done,
        "updated_at": now,
    }
    where = BACKFILL.c.source_id == state.source_id
    if conn.execute(sa.update(BACKFILL).where(where).values(**values)).rowcount == 0:
        conn.execute(sa.insert(BACKFILL).values(source_id=state.source_id, **values))


def known_keys(conn: Connection, source_id: int, keys: Sequence[str]) -> set[str]:
    """Which `keys` are already stored: a guid of this source, or any article's canonical URL."""
    found: set[str] = set()
    for part in chunks(list(dict.fromkeys(keys))):
        found.update(
            conn.execute(
                sa.select(ARTICLE.c.guid).where(
                    ARTICLE.c.source_id == source_id, ARTICLE.c.guid.in_(part)
                )
            ).scalars()
        )
        found.update(
            conn.execute(
                sa.select(ARTICLE.c.canonical_url).where(ARTICLE.c.canonical_url.in_(part))
            ).scalars()
        )
        found.update(
            conn.execute(
                sa.select(SIGHTING.c.guid).where(
                    SIGHTING.c.source_id == source_id, SIGHTING.c.guid.in_(part)
                )
            ).scalars()
        )
    return found


def source_ids(conn: Connection, names: Sequence[str]) -> dict[str, int]:
    """name -> id of the named active sources."""
    query = sa.select(SOURCE.c.name, SOURCE.c.id).where(SOURCE.c.active, SOURCE.c.name.in_(names))
    return {row.name: row.id for row in conn.execute(query)}
