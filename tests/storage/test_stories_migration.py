"""Migration 0009: a 0006 archive gets fingerprints and story clusters on `db upgrade`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from monitor.pipeline.articles import story_policy
from monitor.pipeline.stories import fingerprint_archive
from storage import Candidate, Store
from storage.migrate import current_revision, upgrade
from tests.helpers import newsmon
from tests.monitor.story_texts import (
    COPY_BODY,
    COPY_TITLE,
    OTHER_BODY,
    OTHER_TITLE,
    WIRE_BODY,
    WIRE_TITLE,
)
from tests.storage.builders import NOW, add_sources, article


def archive_at_0006(db_url: str) -> dict[str, int]:
    """A 0006 database holding a wire story, a copy from another outlet and another
    story; article ids by title."""
    store = Store(db_url)
    try:
        upgrade(store.engine, "0006")
        ids = add_sources(store, "fresh-news", "khmer-times")
        stored = [
            *store.ingest(
                ids["fresh-news"],
                [Candidate(article("wire", title=WIRE_TITLE, body=WIRE_BODY))],
                NOW,
            ).new,
            *store.ingest(
                ids["khmer-times"],
                [
                    Candidate(article("copy", title=COPY_TITLE, body=COPY_BODY)),
                    Candidate(article("other", title=OTHER_TITLE, body=OTHER_BODY)),
                ],
                NOW + timedelta(hours=1),
            ).new,
        ]
    finally:
        store.close()
    return {row.title: row.id for row in stored}


def clusters(db_url: str) -> dict[int, tuple[int, int | None]]:
    """article id -> (cluster id, fingerprint version)."""
    store = Store(db_url)
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, cluster_id, fingerprint_version FROM article"))
            return {row.id: (row.cluster_id, row.fingerprint_version) for row in rows}
    finally:
        store.close()


def test_db_upgrade_fingerprints_an_archive_and_joins_its_copies_with_progress(
    db_url: str, tmp_path: Path
) -> None:
    ids = archive_at_0006(db_url)
    env = {"NEWSMON_DATABASE_URL": db_url}
    empty = tmp_path / "sources.yaml"
    empty.write_text("sources: []\n")
    no_config = tmp_path / "absent.yaml"  # the default cluster window applies

    # Starting migrates the schema, and says what is left for `db upgrade`.
    started = newsmon("run", "--once", config=empty, env=env)
    assert started.returncode == 0, started.stderr
    assert (
        "3 stored articles have no story fingerprint yet: run `newsmon db upgrade`"
        in started.stderr
    )
    first = newsmon("db", "upgrade", config=no_config, env=env)
    again = newsmon("db", "upgrade", config=no_config, env=env)

    assert first.returncode == 0, first.stderr
    assert "db upgrade: fingerprinted 3 of 3 articles" in first.stderr
    assert first.stdout.splitlines() == [
        "fingerprinted 3 articles and placed them in their stories",
        "database is up to date",
    ]
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == ["database is up to date"]  # nothing left to do
    wire, copy, other = ids[WIRE_TITLE], ids[COPY_TITLE], ids[OTHER_TITLE]
    version = story_policy(1).version
    assert clusters(db_url) == {
        wire: (wire, version),
        copy: (wire, version),
        other: (other, version),
    }


def test_the_archive_is_fingerprinted_in_batches_reporting_progress(db_url: str) -> None:
    archive_at_0006(db_url)
    store = Store(db_url)
    try:
        store.upgrade()
        assert current_revision(store.engine) == "0010"
        seen: list[tuple[int, int]] = []
        done = fingerprint_archive(
            store, story_policy(7 * 86400), batch=2, progress=lambda d, t: seen.append((d, t))
        )
        stories = store.stories(NOW - timedelta(days=1))
    finally:
        store.close()
    assert done == 3
    assert seen == [(2, 3), (3, 3)]
    assert [(s.title, s.outlets) for s in stories] == [
        (WIRE_TITLE, ("fresh-news", "khmer-times")),
        (OTHER_TITLE, ("khmer-times",)),
    ]
