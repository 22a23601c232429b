"""Article pages that failed: which are waiting for their retry, and recording the outcome.

A listing page or sitemap names its articles by link; when a page cannot be
fetched or extracted, its row here says when to try it again (a backoff the
caller computes from the number of failures in a row), so a poll does not
fetch the same broken pages every time. A page that is fetched at last loses
its row.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage.models import PAGE_FAILURE
from storage.sql import chunks, insert_or_ignore
from storage.types import PageFailureIn

__all__ = ["failing_pages", "pages_due", "record_pages"]


def failing_pages(
    conn: Connection, source_id: int, keys: Sequence[str], now: datetime
) -> dict[str, str]:
    """url_key -> last error of the `keys` whose retry waits in the future."""
    out: dict[str, str] = {}
    for part in chunks(keys):
        query = sa.select(PAGE_FAILURE.c.url_key, PAGE_FAILURE.c.last_error).where(
            PAGE_FAILURE.c.source_id == source_id,
            PAGE_FAILURE.c.url_key.in_(list(part)),
            PAGE_FAILURE.c.next_try_at > now,
        )
        out.update((row.url_key, row.last_error or "") for row in conn.execute(query))
    return out


def pages_due(conn: Connection, source_id: int, now: datetime) -> bool:
    """Whether a failed page of the source is due for its retry."""
    query = sa.select(PAGE_FAILURE.c.url_key).where(
        PAGE_FAILURE.c.source_id == source_id, PAGE_FAILURE.c.next_try_at <= now
    )
    return conn.execute(query.limit(1)).first() is not None


def record_pages(
    conn: Connection,
    source_id: int,
    failed: Sequence[PageFailureIn],
    fetched: Sequence[str],
    now: datetime,
    retry_at: Callable[[int], datetime],
    listed: Collection[str] | None = None,
) -> None:
    """Count a failure for each of `failed` (next try: `retry_at(failures in a row)`);
    forget the `fetched` keys, and, given the keys a poll `listed`, the pages no longer listed."""
    forget = list(fetched)
    if listed is not None:
        rows = conn.execute(
            sa.select(PAGE_FAILURE.c.url_key).where(PAGE_FAILURE.c.source_id == source_id)
        ).scalars()
        forget += [key for key in rows if key not in listed]
    for part in chunks(forget):
        conn.execute(
            PAGE_FAILURE.delete().where(
                PAGE_FAILURE.c.source_id == source_id, PAGE_FAILURE.c.url_key.in_(list(part))
            )
        )
    if not failed:
        return
    counts: dict[str, int] = {}
    for part in chunks([f.url_key for f in failed]):
        query = sa.select(PAGE_FAILURE.c.url_key, PAGE_FAILURE.c.failures).where(
            PAGE_FAILURE.c.source_id == source_id, PAGE_FAILURE.c.url_key.in_(list(part))
        )
        counts.update((row.url_key, row.failures) for row in conn.execute(query))
    for page in {f.url_key: f for f in failed}.values():
        failures = counts.get(page.url_key, 0) + 1
        values = {"url": page.url, "failures": failures, "last_error": page.error}
        values["next_try_at"] = retry_at(failures)
        if page.url_key in counts:
            conn.execute(
                PAGE_FAILURE.update()
                .where(
                    PAGE_FAILURE.c.source_id == source_id,
                    PAGE_FAILURE.c.url_key == page.url_key,
                )
                .values(**values)
            )
        else:
            conn.execute(
                insert_or_ignore(conn, PAGE_FAILURE).values(
                    source_id=source_id, url_key=page.url_key, first_failed_at=now, **values
                )
            )
