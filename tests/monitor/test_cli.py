"""The CLI contract: exit codes, messages, JSON shapes (DESIGN §9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from monitor import __version__
from tests.helpers import ROOT, FeedServer, newsmon, rss


def test_version() -> None:
    result = newsmon("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"newsmon {__version__}"


def test_missing_config_file_is_a_clear_error_with_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = newsmon("check", config=missing)
    assert result.returncode == 2
    assert result.stderr.strip() == f"newsmon: config file not found: {missing}"


def test_bad_config_line_names_file_line_and_key_with_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text(
        "sources:\n"
        "  - name: fresh-news\n"
        "    url: https://example.org/feed.xml\n"
        "    interval: 5 min\n"
    )
    result = newsmon("check", config=config)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"newsmon: {config}:4: sources[0].interval: invalid duration '5 min' "
        "(use 30s, 5m, 2h, 1d, 1h30m)"
    )
    assert result.stdout == ""


def test_config_from_environment_variable(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.yaml"
    config.write_text("sources: []\nrules: []\n")
    result = newsmon("check", env={"NEWSMON_CONFIG": str(config)})
    assert result.returncode == 0, result.stderr
    assert str(config) in result.stdout


def test_repository_example_config_is_valid() -> None:
    result = newsmon("check", config=ROOT / "sources.yaml")
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_check_hides_secrets_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text('channels:\n  tg: "tgram://${BOT_TOKEN}/12345"\nsources: []\nrules: []\n')
    secret = "987654321:AAHsecretSECRETsecret"
    result = newsmon("check", config=config, env={"BOT_TOKEN": secret})
    assert result.returncode == 0, result.stderr
    assert "tg" in result.stdout
    assert secret not in result.stdout + result.stderr


def test_unknown_command_is_a_usage_error() -> None:
    assert newsmon("frobnicate").returncode == 2


def test_search_and_export_json_shapes(tmp_path: Path, httpserver: HTTPServer) -> None:
    feeds = FeedServer(httpserver)
    url = feeds.set(
        "/feed.xml",
        rss(
            [
                {
                    "title": "ASEAN ministers meet in Phnom Penh",
                    "link": "https://e.org/a?utm_source=x",
                    "description": "<p>The <b>ASEAN</b> meeting &amp; talks.</p>",
                    "pubDate": "Wed, 13 Sep 2023 06:30:00 GMT",
                    "author": "desk@e.org (Sok Chea)",
                },
                {"title": "Rice harvest", "link": "https://e.org/b", "description": "Farmers."},
            ]
        ),
    )
    config = tmp_path / "sources.yaml"
    config.write_text(f"sources:\n  - name: wire\n    url: {url}\nrules: []\n")
    assert newsmon("run", "--once", config=config).returncode == 0

    found = newsmon("search", "asean", "--format", "json", config=config)
    assert found.returncode == 0, found.stderr
    (doc,) = json.loads(found.stdout)
    assert doc["url"] == "https://e.org/a"
    assert doc["source"] == "wire"
    assert doc["published_at"] == "2023-09-13T06:30:00Z"
    assert doc["summary"] == "The ASEAN meeting & talks."
    assert "ASEAN" in doc["snippet"]
    assert {"id", "title", "fetched_at", "author", "cluster_id"} <= set(doc)

    lines = newsmon("export", "--format", "jsonl", config=config)
    assert lines.returncode == 0, lines.stderr
    exported = [json.loads(line) for line in lines.stdout.splitlines()]
    assert [e["url"] for e in exported] == ["https://e.org/a", "https://e.org/b"]
    assert exported[0]["body"] == "The ASEAN meeting & talks."

    csv_out = newsmon("export", "--format", "csv", config=config)
    assert csv_out.stdout.splitlines()[0].startswith("id,source,url,title")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "x", "--since", "yesterday-ish"], "invalid date 'yesterday-ish'"),
        (["alerts", "--status", "lost"], "unknown status 'lost'"),
        (["notify-test", "nope"], "notify-test: unknown channel 'nope'"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(tmp_path: Path, args: list[str], message: str) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text('channels:\n  out: "console://"\nsources: []\nrules: []\n')
    result = newsmon(*args, config=config)
    assert result.returncode == 2
    assert message in result.stderr


def test_db_upgrade_creates_the_database(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    result = newsmon("--database", f"sqlite:///{db}", "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert db.exists()


def test_console_alerts_are_json_lines_when_logs_are_json(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    feeds = FeedServer(httpserver)
    url = feeds.set("/feed.xml", rss([{"title": "ASEAN <b>summit</b>", "link": "https://e.org/a"}]))
    config = tmp_path / "sources.yaml"
    config.write_text(
        f"sources:\n  - name: wire\n    url: {url}\n"
        "rules:\n  - name: asean\n    keywords: [ASEAN]\n"
    )
    result = newsmon("run", "--once", config=config, env={"NEWSMON_LOG_FORMAT": "json"})
    assert result.returncode == 0, result.stderr
    (alert,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert (alert["event"], alert["rule"], alert["level"]) == ("alert", "asean", "info")
    assert alert["items"][0]["url"] == "https://e.org/a"
    assert alert["items"][0]["title"] == "ASEAN summit"
    assert all(json.loads(line)["logger"] for line in result.stderr.splitlines())


def test_tables_show_news_text_literally_never_as_markup(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    feeds = FeedServer(httpserver)
    title = "ASEAN [/] markup [bold]test[/bold] [link=http://evil.example]x[/link]"
    url = feeds.set("/feed.xml", rss([{"title": title, "link": "https://e.org/a"}]))
    config = tmp_path / "sources.yaml"
    config.write_text(f"sources:\n  - name: wire\n    url: {url}\nrules: []\n")
    assert newsmon("run", "--once", config=config).returncode == 0

    found = newsmon("search", "ASEAN", config=config)

    assert found.returncode == 0, found.stderr
    assert "[/]" in found.stdout
    assert "[bold]test[/bold]" in found.stdout
