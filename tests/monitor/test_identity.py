"""Identity end to end: every post a source publishes is stored, copies merge across sources."""

from __future__ import annotations

import json
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from tests.helpers import FeedServer, newsmon, rss

DAY = "https://blog.example.org/2024/03/21.html"


NO_RULE = "  - name: none\n    keywords: [zzz]\n"


def write_config(tmp_path: Path, sources: dict[str, str], rules: str = NO_RULE) -> Path:
    source_yaml = "".join(
        f"  - name: {name}\n    url: {url}\n    kind: feed\n" for name, url in sources.items()
    )
    path = tmp_path / "sources.yaml"
    path.write_text(
        "settings:\n  timeout: 10s\n"
        "  alert_max_age: 36500d\n"  # the posts are dated 2024: let them alert
        f"  database: sqlite:///{tmp_path / 'newsmon.db'}\n"
        f"sources:\n{source_yaml}rules:\n{rules}"
    )
    return path


def cli_json(*args: str, config: Path) -> list[dict[str, Any]]:
    result = newsmon(*args, "--format", "json", config=config)
    assert result.returncode == 0, result.stderr
    docs: list[dict[str, Any]] = json.loads(result.stdout)
    return docs


def post(anchor: str, title: str, guid: str | None = None) -> dict[str, str]:
    return {
        "title": title,
        "link": f"{DAY}#{anchor}",
        "guid": guid or f"{DAY}#{anchor}",
        "description": f"{title}.",
        "pubDate": "Thu, 21 Mar 2024 06:00:00 GMT",
    }


def test_scripting_news_stores_every_post(tmp_path: Path, feeds: FeedServer, corpus: Path) -> None:
    body = (corpus / "feeds" / "nnw__scriptingNews.rss").read_bytes()
    guids = {item.findtext("guid") for item in ET.fromstring(body).iter("item")}
    url = feeds.set("/scripting.xml", body)
    config = write_config(tmp_path, {"scripting-news": url})

    result = newsmon("run", "--once", config=config)

    assert result.returncode == 0, result.stderr
    stored = cli_json("export", config=config)
    assert len(guids) == 48  # 50 items, two of them repeated
    assert len(stored) == len(guids)
    # Posts sharing a daily page keep their anchor; so no two have the same URL.
    assert len({doc["url"] for doc in stored}) == len(guids)


def test_posts_told_apart_by_fragment_are_separate_articles_and_alerts(
    tmp_path: Path, feeds: FeedServer
) -> None:
    items = [
        post("a1", "ASEAN ministers meet"),
        post("a2", "Russia opens an embassy"),
        post("a3", "ASEAN trade pact signed"),
    ]
    url = feeds.set("/daily.xml", rss(items))
    rules = (
        "  - name: asean\n    keywords: [ASEAN]\n    channels: [out]\n"
        "  - name: russia\n    keywords: [Russia]\n    channels: [out]\n"
    )
    config = write_config(tmp_path, {"daily": url}, rules)
    config.write_text(config.read_text() + 'channels:\n  out: "console://"\n')

    result = newsmon("run", "--once", config=config)

    assert result.returncode == 0, result.stderr
    stored = cli_json("export", config=config)
    assert sorted(doc["url"] for doc in stored) == [f"{DAY}#a1", f"{DAY}#a2", f"{DAY}#a3"]
    alerts = cli_json("alerts", config=config)
    assert sorted((a["rule"], a["url"], a["status"]) for a in alerts) == [
        ("asean", f"{DAY}#a1", "sent"),
        ("asean", f"{DAY}#a3", "sent"),
        ("russia", f"{DAY}#a2", "sent"),
    ]


def test_a_post_carried_by_another_source_is_one_article_with_two_outlets(
    tmp_path: Path, feeds: FeedServer
) -> None:
    blog = feeds.set("/blog.xml", rss([post("a1", "ASEAN ministers meet"), post("a2", "Rice")]))
    planet = feeds.set(
        "/planet.xml",
        rss(
            [
                post("a1", "ASEAN ministers meet (via blog)", guid="planet-1"),
                post("a2", "Rice (via blog)", guid="planet-2"),
                {"title": "Landing", "link": "https://planet.example.org/", "guid": "planet-3"},
                {"title": "Landing again", "link": "https://planet.example.org/", "guid": "p-4"},
            ]
        ),
    )
    config = write_config(tmp_path, {"blog": blog})
    result = newsmon("run", "--once", config=config)
    assert result.returncode == 0, result.stderr
    write_config(tmp_path, {"blog": blog, "planet": planet})
    result = newsmon("run", "--once", config=config)
    assert result.returncode == 0, result.stderr

    stored = {doc["url"]: doc for doc in cli_json("export", config=config)}
    assert sorted(stored) == [f"{DAY}#a1", f"{DAY}#a2", "https://planet.example.org/"]
    assert stored[f"{DAY}#a1"]["title"] == "ASEAN ministers meet"  # the first copy's fields
    with sqlite3.connect(tmp_path / "newsmon.db") as db:
        sighted = db.execute(
            "SELECT a.canonical_url, s.name FROM sighting x "
            "JOIN article a ON a.id = x.article_id JOIN source s ON s.id = x.source_id"
        ).fetchall()
    assert sorted(sighted) == [(f"{DAY}#a1", "planet"), (f"{DAY}#a2", "planet")]
    # Two landing-page items are two posts of one source: both stored, under one URL.
    landing = [doc for doc in cli_json("export", config=config) if doc["source"] == "planet"]
    assert sorted(doc["title"] for doc in landing) == ["Landing", "Landing again"]
