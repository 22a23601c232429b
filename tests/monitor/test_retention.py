"""Retention: `newsmon db prune` now, and the daemon's daily job."""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config.load import load_config
from monitor.daemon.service import Daemon, fetch_limits
from monitor.daemon.tasks import prune
from monitor.fetch import Fetcher
from monitor.metrics import REGISTRY
from monitor.pipeline.articles import fingerprinted, story_policy
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
    assert result.stdout.startswith("pruned 1 article body older than 365 days (fetched before ")
    assert "; 1 tombstone kept (titles, URLs and dates stay); ran VACUUM and ANALYZE" in (
        result.stdout
    )
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


def test_the_daily_job_forgets_story_keys_outside_the_cluster_window_without_retention(
    tmp_path: Path,
) -> None:
    config_path, url = archive(tmp_path, None)
    config_path.write_text("settings:\n  cluster_window: 2d\n" + config_path.read_text())
    store = Store.open(url)
    text = " ".join(f"word{n} of the wire story about ASEAN and Russia" for n in range(40))
    stories = story_policy(2 * 86400)
    try:
        with store.engine.connect() as conn:
            wire = conn.exec_driver_sql("SELECT id FROM source WHERE name = 'wire'").scalar_one()
        for key, age in (("week-old", 7), ("today", 0)):
            fresh = fingerprinted(replace(story(key), body=text, content_hash=f"fp-{key}"))
            store.ingest(wire, quiet([fresh]), NOW - timedelta(days=age), stories)
        with store.engine.connect() as conn:
            before = conn.exec_driver_sql("SELECT count(*) FROM story_band").scalar_one()

        async def daily() -> None:
            async with Fetcher(fetch_limits(load_config(config_path, {}))) as fetcher:
                channels = Channels({}, console=io.StringIO())
                await prune(Daemon(load_config(config_path, {}), store, fetcher, channels))

        asyncio.run(daily())
        with store.engine.connect() as conn:
            seen = conn.exec_driver_sql("SELECT DISTINCT seen_at FROM story_band").scalars()
            left = [datetime.fromisoformat(str(at)).replace(tzinfo=UTC) for at in seen]
            after = conn.exec_driver_sql("SELECT count(*) FROM story_band").scalar_one()
    finally:
        store.close()
    assert before > 0
    assert after == before // 2
    assert [at.date() for at in left] == [NOW.date()]
    assert bodies(url)["old"] == "the full text of old"  # no retention: bodies stay


def test_db_prune_older_than_a_bare_number_asks_for_a_unit_and_deletes_nothing(
    tmp_path: Path,
) -> None:
    config, url = archive(tmp_path, None)

    result = newsmon(
        "db", "prune", "--older-than", "30", config=config, env={"NEWSMON_DATABASE_URL": url}
    )

    assert result.returncode == 2
    assert result.stderr.strip() == "newsmon: db prune: --older-than 30: give a unit: 30d, 30h, 30m"
    assert bodies(url)["old"] == "the full text of old"


def test_db_prune_dry_run_counts_what_would_go_and_deletes_nothing(tmp_path: Path) -> None:
    config, url = archive(tmp_path, None)
    env = {"NEWSMON_DATABASE_URL": url}

    dry = newsmon("db", "prune", "--older-than", "30d", "--dry-run", config=config, env=env)

    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("would prune 1 article body older than 30 days (fetched before ")
    assert dry.stdout.rstrip().endswith("; 0 tombstones kept already; nothing changed (--dry-run)")
    assert bodies(url) == {"old": "the full text of old", "new": "the full text of new"}

    done = newsmon("db", "prune", "--older-than", "30d", config=config, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("pruned 1 article body older than 30 days (fetched before ")
    again = newsmon("db", "prune", "--older-than", "30d", "--dry-run", config=config, env=env)
    assert again.stdout.startswith("would prune 0 article bodies older than 30 days")
    assert "; 1 tombstone kept already;" in again.stdout


def test_db_prune_summary_shows_the_cutoff_in_the_settings_timezone(tmp_path: Path) -> None:
    config, url = archive(tmp_path, None)
    config.write_text("settings:\n  timezone: Asia/Phnom_Penh\n" + config.read_text())

    result = newsmon(
        "db",
        "prune",
        "--before",
        "2026-01-01T00:00:00Z",
        "--dry-run",
        config=config,
        env={"NEWSMON_DATABASE_URL": url},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        "would prune 1 article body fetched before 2026-01-01 07:00 +07;"
    )
