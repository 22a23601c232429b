"""`export` and `search` as a user drives them: which time `--since` means, how many
results there were, sources by name or tag, and what an empty AND search means."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.cli.search import results_title
from storage import Store
from tests.helpers import newsmon
from tests.storage.builders import add_sources, article, quiet

NOW = datetime.now(UTC).replace(microsecond=0)
CONFIG = """
sources:
  - name: wire
    url: https://wire.example/feed.xml
    tags: [cambodia]
  - name: desk
    url: https://desk.example/feed.xml
    tags: [region]
  - name: misc
    url: https://misc.example/feed.xml
rules: []
"""


def setup(tmp_path: Path, db_url: str, stored: dict[str, list[Any]]) -> tuple[Path, dict[str, str]]:
    """The config above and a database holding `stored`: source -> [(article, fetched_at)]."""
    config = tmp_path / "sources.yaml"
    config.write_text(CONFIG)
    store = Store.open(db_url)
    try:
        ids = add_sources(store, "wire", "desk", "misc", now=NOW)
        for source, items in stored.items():
            for item, fetched_at in items:
                store.ingest(ids[source], quiet([item]), fetched_at)
    finally:
        store.close()
    return config, {"NEWSMON_DATABASE_URL": db_url}


def titles(result: Any) -> list[str]:
    assert result.returncode == 0, result.stderr
    if result.stdout.startswith("["):
        return sorted(doc["title"] for doc in json.loads(result.stdout))
    return sorted(json.loads(line)["title"] for line in result.stdout.splitlines())


# --- export: fetched time or publication date ---------------------------------------


def test_export_since_is_when_newsmon_fetched_and_published_since_is_the_publication_date(
    tmp_path: Path, db_url: str
) -> None:
    config, env = setup(
        tmp_path,
        db_url,
        {
            "wire": [
                # fetched five days ago, published yesterday (a late find)
                (
                    article("late", title="Late", published_at=NOW - timedelta(days=1)),
                    NOW - timedelta(days=5),
                ),
                # fetched now, published ten days ago (a backfilled story)
                (article("old", title="Old", published_at=NOW - timedelta(days=10)), NOW),
                (article("undated", title="Undated"), NOW),
            ]
        },
    )

    fetched = newsmon("export", "--since", "2d", config=config, env=env)
    published = newsmon("export", "--published-since", "2d", config=config, env=env)
    both = newsmon("export", "--since", "2d", "--published-since", "30d", config=config, env=env)

    assert titles(fetched) == ["Old", "Undated"]
    assert titles(published) == ["Late"]
    assert titles(both) == ["Old"]  # undated: no publication date to compare
    assert [
        d["published_at"][-1]
        for d in json.loads(newsmon("export", "--format", "json", config=config, env=env).stdout)
        if d["published_at"]
    ] == ["Z", "Z"]  # machine output stays UTC


def test_export_help_says_which_time_each_since_option_filters_on() -> None:
    result = newsmon("export", "--help", env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "Only articles newsmon fetched since (2024-05-01, 7d): fetched_at." in text
    assert "Only articles published since, by their publication date (published_at;" in text


# --- search --------------------------------------------------------------------------


def asean_archive(tmp_path: Path, db_url: str) -> tuple[Path, dict[str, str]]:
    """62 ASEAN stories (40 on wire, 20 on desk, 2 on misc) and 7 on Russia alone."""

    def stories(source: str, n: int, word: str = "ASEAN") -> list[Any]:
        return [
            (
                article(
                    f"{source}-{word}-{i}",
                    title=f"{word} story {i} from {source}",
                    published_at=NOW - timedelta(minutes=i),
                ),
                NOW,
            )
            for i in range(n)
        ]

    return setup(
        tmp_path,
        db_url,
        {
            "wire": stories("wire", 40) + stories("wire", 7, "Russia"),
            "desk": stories("desk", 20),
            "misc": stories("misc", 2),
        },
    )


def test_search_cut_at_its_limit_says_first_50_of_62(tmp_path: Path, db_url: str) -> None:
    config, env = asean_archive(tmp_path, db_url)

    cut = newsmon("search", "ASEAN", config=config, env=env)
    ten = newsmon("search", "ASEAN", "--limit", "10", "--format", "json", config=config, env=env)
    whole = newsmon("search", "ASEAN", "--limit", "100", config=config, env=env)

    assert cut.returncode == 0, cut.stderr
    assert "first 50 of 62 results (--limit to see more)" in cut.stdout
    assert len(json.loads(ten.stdout)) == 10
    assert "62 results" in whole.stdout
    assert "first" not in whole.stdout


def test_search_source_takes_tags_and_repeats(tmp_path: Path, db_url: str) -> None:
    config, env = asean_archive(tmp_path, db_url)

    def sources(*args: str) -> dict[str, int]:
        result = newsmon(
            "search", "ASEAN", "--limit", "100", "--format", "json", *args, config=config, env=env
        )
        assert result.returncode == 0, result.stderr
        counts: dict[str, int] = {}
        for doc in json.loads(result.stdout):
            counts[doc["source"]] = counts.get(doc["source"], 0) + 1
        return counts

    assert sources("--source", "tag:cambodia") == {"wire": 40}
    assert sources("--source", "desk", "--source", "misc") == {"desk": 20, "misc": 2}
    assert sources("--source", "tag:region", "--source", "misc") == {"desk": 20, "misc": 2}


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("wrie", "newsmon: search: --source: unknown source 'wrie' (did you mean 'wire'?)"),
        (
            "tag:cambodai",
            "newsmon: search: --source: unknown tag 'cambodai' (did you mean 'tag:cambodia'?)",
        ),
    ],
)
def test_search_unknown_source_is_a_usage_error_with_did_you_mean(
    tmp_path: Path, sqlite_url: str, ref: str, message: str
) -> None:
    config, env = asean_archive(tmp_path, sqlite_url)
    result = newsmon("search", "ASEAN", "--source", ref, config=config, env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == message
    assert result.stdout == ""


def test_search_words_side_by_side_mean_and_and_an_empty_result_says_what_or_finds(
    tmp_path: Path, db_url: str
) -> None:
    config, env = asean_archive(tmp_path, db_url)

    both = newsmon("search", "ASEAN Russia", config=config, env=env)
    either = newsmon("search", "ASEAN OR Russia", "--limit", "100", config=config, env=env)

    assert both.returncode == 0, both.stderr
    assert "0 results" in both.stdout
    assert both.stderr.strip() == (
        "0 results; 69 articles match ASEAN OR Russia — terms side by side mean AND"
    )
    assert "69 results" in either.stdout
    assert either.stderr == ""


@pytest.mark.parametrize(
    ("shown", "found", "complete", "title"),
    [
        (0, 0, True, "0 results"),
        (1, 1, True, "1 result"),
        (62, 62, True, "62 results"),
        (50, 62, True, "first 50 of 62 results (--limit to see more)"),
        (50, 1000, False, "first 50 of 1,000+ results (--limit to see more)"),
    ],
)
def test_search_title_says_how_many_matched_when_the_limit_cut_them(
    shown: int, found: int, complete: bool, title: str
) -> None:
    assert results_title(shown, found, complete=complete) == title
