"""Retention: `newsmon db prune` now, and the daemon's daily job."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config.load import load_config
from monitor.daemon.service import Daemon, fetch_limits
from monitor.fetch import Fetcher
from monitor.metrics import REGISTRY
from notifiers import Channels
from storage import ArticleIn, SourceSpec, Store
from tests.helpers import newsmon
from tests.storage.builders import quiet

NOW = datetime.now(UTC)


def story(key: str) -> ArticleIn:
    return ArticleIn(
        guid=key,
        url=f"https://e.org/{key}",
        canonical_url=f"https://e.org/{key}",
        title=f"Story {key}",
        summary="summary",
        body=f"the full text of {key}",
        author=None,
        published_at=None,
        content_hash=key,
    )


def archive(tmp_path: Path, retention: str | None) -> tuple[Path, str]:
    """A config and a database holding one article of 400 days ago and one of today."""
    config = tmp_path / "sources.yaml"
    settings = f"settings:\n  retention: {retention}\n" if retention else ""
    config.write_text(f"{settings}sources:\n  - name: wire\n    url: https://e.org/feed\n")
    url = f"sqlite:///{tmp_path / 'newsmon.db'}"
    store = Store.open(url)
    try:
        store.sync_sources([SourceSpec("wire", "https://e.org/feed", None, 900)], NOW)
        [status] = store.claim_sources(["wire"], NOW)
        store.ingest(status.id, quiet([story("old")]), NOW - timedelta(days=400))
        store.ingest(status.id, quiet([story("new")]), NOW)
    finally:
        store.close()
    return config, url


def bodies(url: str) -> dict[str, str]:
    store = Store(url)
    try:
        return {row.guid: row.body for row in store.iter_articles()}
    finally:
        store.close()


def test_db_prune_applies_the_configured_retention(tmp_path: Path) -> None:
    config, url = archive(tmp_path, "365d")

    result = newsmon("db", "prune", config=config, env={"NEWSMON_DATABASE_URL": url})

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("pruned the bodies of 1 article(s) fetched before ")
    assert "(2 articles kept); ran VACUUM and ANALYZE" in result.stdout
    assert bodies(url) == {"old": "", "new": "the full text of new"}


def test_db_prune_without_a_retention_asks_for_one(tmp_path: Path) -> None:
    config, url = archive(tmp_path, None)

    result = newsmon("db", "prune", config=config, env={"NEWSMON_DATABASE_URL": url})

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "newsmon: db prune: no retention configured "
        "(set settings.retention, e.g. 365d, or give --older-than 90d)"
    )
    assert bodies(url)["old"] == "the full text of old"


def test_the_daemons_retention_job_prunes_and_counts(tmp_path: Path) -> None:
    config_path, url = archive(tmp_path, "30d")
    before = REGISTRY.get_sample_value("newsmon_retention_pruned_articles_total") or 0.0

    async def job() -> int:
        config = load_config(config_path, {})
        store = Store.open(url)
        try:
            async with Fetcher(fetch_limits(config)) as fetcher:
                channels = Channels({}, console=io.StringIO())
                report = await Daemon(config, store, fetcher, channels).prune()
                assert report is not None
                return report.pruned
        finally:
            store.close()

    assert asyncio.run(job()) == 1
    assert bodies(url) == {"old": "", "new": "the full text of new"}
    assert REGISTRY.get_sample_value("newsmon_retention_pruned_articles_total") == before + 1
