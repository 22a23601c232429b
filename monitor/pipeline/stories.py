"""Fingerprinting an archive: articles stored before story clustering (or under an
older fingerprint version) get their fingerprints and clusters, in batches.

`newsmon db upgrade` runs it after the schema migration: a migration lives in
`storage` and cannot compute the pipeline's fingerprint. Articles are taken in
the order they were stored and placed as ingest would have placed them then.
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.pipeline.articles import story_fingerprint
from storage import Store
from storage.types import Stories

__all__ = ["BATCH", "fingerprint_archive"]

BATCH = 500

# Called after each batch with (articles done, articles in all).
Progress = Callable[[int, int], None]


def fingerprint_archive(
    store: Store, stories: Stories, *, batch: int = BATCH, progress: Progress | None = None
) -> int:
    """Fingerprint and cluster every article lacking a current fingerprint; how many."""
    total = store.unfingerprinted_count(stories.version)
    done = 0
    while done < total:
        rows = store.unfingerprinted(stories.version, batch)
        if not rows:
            break
        items = [(article_id, *story_fingerprint(title, text)) for article_id, title, text in rows]
        done += store.refingerprint(items, stories)
        if progress is not None:
            progress(done, total)
    return done
