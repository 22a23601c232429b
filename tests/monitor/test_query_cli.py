"""`newsmon search`, `newsmon rematch` and query errors in the config, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.helpers import FeedServer, newsmon, rss

ITEMS = [
    {
        "title": "Russian envoy meets ASEAN ministers",
        "link": "https://e.org/envoy",
        "description": "Talks in Phnom Pénh on trade.",
        "pubDate": "Wed, 13 Sep 2023 06:30:00 GMT",
    },
    {
        "title": "ASEAN football final",
        "link": "https://e.org/sport/final",
        "description": "Cambodia wins the sport event.",
        "pubDate": "Thu, 14 Sep 2023 06:30:00 GMT",
    },
    {
        "title": "Rice harvest",
        "link": "https://e.org/rice",
        "description": "Farmers in Battambang; កម្ពុជា exports grow.",
        "pubDate": "Fri, 15 Sep 2023 06:30:00 GMT",
    },
]


@pytest.fixture
def archive(tmp_path: Path, httpserver: HTTPServer) -> Path:
    """A config whose one source has been polled once into its database."""
    url = FeedServer(httpserver).set("/feed.xml", rss(ITEMS))
    config = tmp_path / "sources.yaml"
    config.write_text(
        f"sources:\n  - name: wire\n    url: {url}\n    tags: [cambodia]\n"
        "rules:\n  - name: nothing-yet\n    keywords: [zzzz]\n"
    )
    result = newsmon("run", "--once", config=config)
    assert result.returncode == 0, result.stderr
    return config


def test_search_uses_the_query_language_and_marks_a_snippet(archive: Path) -> None:
    result = newsmon("search", '"Phnom Penh" Russia* -sport', "--format", "json", config=archive)
    assert result.returncode == 0, result.stderr
    (doc,) = json.loads(result.stdout)
    assert doc["title"] == "Russian envoy meets ASEAN ministers"
    assert doc["url"] == "https://e.org/envoy"
    assert "«Phnom Pénh»" in doc["snippet"]
    assert "«Russian» envoy" in doc["snippet"]
    table = newsmon("search", "កម្ពុជា OR football", config=archive)
    assert table.returncode == 0, table.stderr
    assert "2 results" in table.stdout
    unknown = newsmon("search", "rice", "--source", "nope", config=archive)
    assert unknown.returncode == 2
    assert "search: --source: unknown source 'nope' (known: wire)" in unknown.stderr


def test_search_syntax_error_shows_the_column_and_exits_2(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path}/x.db"
    result = newsmon("--database", database, "search", "ASEAN AND (trade OR")
    assert result.returncode == 2
    assert result.stderr == (
        "newsmon: search: syntax error at column 20: "
        "expected a term after OR, found the end of the query\n"
        "  ASEAN AND (trade OR\n"
        "                     ^\n"
    )
    assert result.stdout == ""


def test_check_reports_a_query_error_at_the_rule_line(tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text(
        "sources: []\n"
        "rules:\n"
        "  - name: fine\n"
        "    keywords: [ASEAN]\n"
        "  - name: broken\n"
        "    channels: []\n"
        "    query: 'Cambodia AND (trade OR investment'\n"
    )
    result = newsmon("check", config=config)
    assert result.returncode == 2
    assert result.stderr == (
        f"newsmon: {config}:7: rules[1].query: syntax error at column 14: "
        "missing ')' to close this '('\n"
        "  Cambodia AND (trade OR investment\n"
        "               ^\n"
    )


def write_rules(config: Path, rules: str) -> None:
    head = config.read_text().split("rules:")[0]
    config.write_text(head + "rules:\n" + rules)


def test_rematch_prints_what_would_alert_and_alerts_once_with_alert(archive: Path) -> None:
    write_rules(
        archive,
        "  - name: envoy\n    query: 'Russia* NEAR/3 ASEAN'\n"
        "  - name: khmer\n    keywords: [កម្ពុជា]\n    sources: ['tag:cambodia']\n",
    )
    result = newsmon("rematch", "--format", "json", config=archive)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["rule"], r["title"]) for r in rows] == [
        ("envoy", "Russian envoy meets ASEAN ministers"),
        ("khmer", "Rice harvest"),
    ]
    assert rows[0]["terms"] == ["Russia*", "ASEAN"]
    assert rows[0]["url"] == "https://e.org/envoy"
    assert "«Russian» envoy meets «ASEAN» ministers" in rows[0]["snippet"]
    assert set(rows[0]) == {
        *("rule", "id", "url", "title", "terms", "snippet"),
        *("cluster_id", "outlets"),  # the story the article belongs to
    }
    assert rows[0]["cluster_id"] == rows[0]["id"]
    alerts = newsmon("alerts", "--format", "json", config=archive)
    assert json.loads(alerts.stdout) == []

    only = newsmon("rematch", "--rule", "khmer", "--format", "json", config=archive)
    assert [r["rule"] for r in json.loads(only.stdout)] == ["khmer"]
    unknown = newsmon("rematch", "--rule", "nope", config=archive)
    assert unknown.returncode == 2
    assert "rematch: unknown rule 'nope' (known: envoy, khmer)" in unknown.stderr

    first = newsmon("rematch", "--alert", "--rule", "envoy", config=archive)
    assert first.returncode == 0, first.stderr
    assert "1 alert queued (0 already queued or sent); 1 sent, 0 failed" in first.stderr
    assert "[newsmon] envoy: Russian envoy meets ASEAN ministers" in first.stdout  # console
    assert "«Russian» envoy meets «ASEAN» ministers" in first.stdout

    again = newsmon("rematch", "--alert", "--rule", "envoy", config=archive)
    assert again.returncode == 0, again.stderr
    assert "0 alerts queued (1 already queued or sent); 0 sent, 0 failed" in again.stderr
    assert "[newsmon] envoy" not in again.stdout

    alerts = json.loads(newsmon("alerts", "--format", "json", config=archive).stdout)
    assert [(a["rule"], a["status"]) for a in alerts] == [("envoy", "sent")]

    as_json = newsmon("rematch", "--alert", "--rule", "khmer", "--format", "json", config=archive)
    assert as_json.returncode == 0, as_json.stderr
    assert [r["rule"] for r in json.loads(as_json.stdout)] == ["khmer"]  # nothing else on stdout
    assert "[newsmon] khmer: Rice harvest" in as_json.stderr  # the console alert went there
