"""One story, one alert: syndicated copies join the original's story cluster.

End to end through `newsmon run --once` with feeds served on 127.0.0.1, a real
SMTP server and a Telegram Bot API sink, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers import FeedServer, Sink, SmtpSink, newsmon, rss
from tests.monitor.story_texts import (
    COPY_BODY,
    COPY_TITLE,
    OTHER_BODY,
    OTHER_TITLE,
    WIRE_BODY,
    WIRE_TITLE,
    html_paragraphs,
)

TOKEN = "123456:SECRETtokenABC"
ASEAN_RULE = """\
  - name: asean-russia
    keywords: [ASEAN, Russia]
    channels: [mail, tg]
"""


def write_config(
    tmp_path: Path, sources: dict[str, str], *, smtp: SmtpSink, sink: Sink, rules: str = ASEAN_RULE
) -> Path:
    listed = "".join(
        f"  - name: {name}\n    url: {url}\n    kind: feed\n" for name, url in sources.items()
    )
    path = tmp_path / "sources.yaml"
    path.write_text(
        f"""
settings:
  telegram_api_url: http://127.0.0.1:{sink.server.port}
  timeout: 10s
  alert_max_age: 36500d  # the fixture stories are from 2023
channels:
  mail: "{smtp.url()}"
  tg: "tgram://{TOKEN}/987654"
sources:
{listed}
rules:
{rules}"""
    )
    return path


def item(guid: str, title: str, body: str, minute: int = 0) -> dict[str, str]:
    return {
        "title": title,
        "link": guid,
        "guid": guid,
        "description": html_paragraphs(body),
        "pubDate": f"Tue, 12 Sep 2023 06:{minute:02d}:00 GMT",
    }


def variant(n: int) -> str:
    """Another outlet's copy: its own lead and trailer lines around the same text."""
    return COPY_BODY.replace(
        "This article was first published by Fresh News.",
        f"Republished from Fresh News under a syndication agreement ({n}).",
    ).replace("Follow us on Telegram", f"Subscribe to outlet {n}'s newsletter")


def run_once(config: Path, env: dict[str, str]) -> None:
    result = newsmon("run", "--once", config=config, env=env)
    assert result.returncode == 0, result.stderr


def cli_json(config: Path, env: dict[str, str], *args: str) -> Any:
    result = newsmon(*args, "--format", "json", config=config, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def by_title(config: Path, env: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {doc["title"]: doc for doc in cli_json(config, env, "export")}


def plain_text(smtp: SmtpSink, n: int) -> str:
    part = smtp.messages[n].get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_a_syndicated_copy_from_another_source_joins_the_story_and_sends_no_second_alert(
    tmp_path: Path, feeds: FeedServer, smtp: SmtpSink, sink: Sink, db_url: str
) -> None:
    wire = feeds.set(
        "/wire.xml", rss([item("https://freshnews.example/wire-1", WIRE_TITLE, WIRE_BODY)])
    )
    times = feeds.set("/times.xml", rss([]))
    config = write_config(
        tmp_path, {"fresh-news": wire, "khmer-times": times}, smtp=smtp, sink=sink
    )
    env = {"NEWSMON_DATABASE_URL": db_url}
    run_once(config, env)
    assert smtp.subjects() == [f"[newsmon] asean-russia: {WIRE_TITLE}"]

    copy = item("https://khmertimes.example/lavrov-asean", COPY_TITLE, COPY_BODY, 40)
    feeds.set("/times.xml", rss([copy]))
    run_once(config, env)
    run_once(config, env)  # and across restarts

    assert smtp.subjects() == [f"[newsmon] asean-russia: {WIRE_TITLE}"]
    assert len(sink.telegram_texts()) == 1
    docs = by_title(config, env)
    original, syndicated = docs[WIRE_TITLE], docs[COPY_TITLE]
    # Every copy is kept with its source; the copy joins the original's cluster.
    assert (original["source"], syndicated["source"]) == ("fresh-news", "khmer-times")
    assert syndicated["cluster_id"] == original["cluster_id"] == original["id"]
    assert original["outlets"] == syndicated["outlets"] == ["fresh-news", "khmer-times"]


def test_the_alert_lists_the_outlets_known_when_it_is_sent(
    tmp_path: Path, feeds: FeedServer, smtp: SmtpSink, sink: Sink, db_url: str
) -> None:
    wire = feeds.set(
        "/wire.xml", rss([item("https://freshnews.example/wire-1", WIRE_TITLE, WIRE_BODY)])
    )
    times = feeds.set(
        "/times.xml",
        rss([item("https://khmertimes.example/lavrov-asean", COPY_TITLE, COPY_BODY, 40)]),
    )
    config = write_config(
        tmp_path, {"fresh-news": wire, "khmer-times": times}, smtp=smtp, sink=sink
    )
    env = {"NEWSMON_DATABASE_URL": db_url}

    run_once(config, env)

    assert len(smtp.messages) == 1
    [telegram] = sink.telegram_texts()
    meta = {"fresh-news · also in: khmer-times", "khmer-times · also in: fresh-news"}
    assert any(line in plain_text(smtp, 0) for line in meta), plain_text(smtp, 0)
    assert any(line in telegram for line in meta), telegram


def test_a_same_topic_different_story_alerts_on_its_own(
    tmp_path: Path, feeds: FeedServer, smtp: SmtpSink, sink: Sink, db_url: str
) -> None:
    wire = feeds.set(
        "/wire.xml", rss([item("https://freshnews.example/wire-1", WIRE_TITLE, WIRE_BODY)])
    )
    vod = feeds.set(
        "/vod.xml", rss([item("https://vod.example/russia-drills", OTHER_TITLE, OTHER_BODY, 50)])
    )
    config = write_config(tmp_path, {"fresh-news": wire, "vod": vod}, smtp=smtp, sink=sink)
    env = {"NEWSMON_DATABASE_URL": db_url}

    run_once(config, env)

    assert sorted(smtp.subjects()) == sorted(
        [f"[newsmon] asean-russia: {WIRE_TITLE}", f"[newsmon] asean-russia: {OTHER_TITLE}"]
    )
    assert len(sink.telegram_texts()) == 2
    docs = by_title(config, env)
    assert docs[WIRE_TITLE]["cluster_id"] != docs[OTHER_TITLE]["cluster_id"]
    assert docs[OTHER_TITLE]["outlets"] == ["vod"]


def test_a_velocity_rule_fires_once_at_the_third_outlet_naming_the_three(
    tmp_path: Path, feeds: FeedServer, smtp: SmtpSink, sink: Sink, db_url: str
) -> None:
    names = ["fresh-news", "khmer-times", "vod", "cambodianess"]
    urls = {name: feeds.set(f"/{name}.xml", rss([])) for name in names}
    rules = """\
  - name: spreading
    query: 'ASEAN AND Russia*'
    min_outlets: 3
    within: 6h
    channels: [mail]
"""
    config = write_config(tmp_path, urls, smtp=smtp, sink=sink, rules=rules)
    env = {"NEWSMON_DATABASE_URL": db_url}
    carried = [
        item("https://freshnews.example/wire-1", WIRE_TITLE, WIRE_BODY),
        item("https://khmertimes.example/lavrov", COPY_TITLE, variant(1), 10),
        item("https://vod.example/lavrov-asean", "ASEAN, Russia agree closer ties", variant(2), 20),
        item(
            "https://cambodianess.example/asean", "Jakarta talks: ASEAN and Moscow", variant(3), 30
        ),
    ]
    sent_after: list[int] = []
    for name, entry in zip(names, carried, strict=True):
        feeds.set(f"/{name}.xml", rss([entry]))
        run_once(config, env)
        sent_after.append(len(smtp.messages))

    assert sent_after == [0, 0, 1, 1]
    [subject] = smtp.subjects()
    assert subject.startswith("[newsmon] spreading: ")
    text = plain_text(smtp, 0)
    assert "also in:" in text
    for outlet in names[:3]:
        assert outlet in text
    assert "cambodianess" not in text
    stories = cli_json(config, env, "stories", "--min-outlets", "3")
    assert [s["outlets"] for s in stories] == [names]


def test_an_edit_updates_in_place_and_realerts_only_a_newly_matching_rule(
    tmp_path: Path, feeds: FeedServer, smtp: SmtpSink, sink: Sink, db_url: str
) -> None:
    guid = "https://freshnews.example/wire-1"
    url = feeds.set("/wire.xml", rss([item(guid, WIRE_TITLE, WIRE_BODY)]))
    rules = (
        ASEAN_RULE
        + """\
  - name: rice
    keywords: [rice]
    channels: [mail]
"""
    )
    config = write_config(tmp_path, {"fresh-news": url}, smtp=smtp, sink=sink, rules=rules)
    env = {"NEWSMON_DATABASE_URL": db_url}
    run_once(config, env)
    [before] = cli_json(config, env, "export")

    edited = WIRE_BODY + "\nThe ministers also discussed rice exports to Russia.\n"
    feeds.set("/wire.xml", rss([item(guid, WIRE_TITLE + " (updated)", edited)]))
    run_once(config, env)

    assert smtp.subjects() == [
        f"[newsmon] asean-russia: {WIRE_TITLE}",
        f"[newsmon] rice: {WIRE_TITLE} (updated)",
    ]
    assert len(sink.telegram_texts()) == 1  # asean-russia matched the old version already
    [after] = cli_json(config, env, "export")
    assert (after["id"], after["cluster_id"]) == (before["id"], before["cluster_id"])
    assert "rice exports" in after["body"]


def test_a_pruned_article_does_not_come_back(
    tmp_path: Path, feeds: FeedServer, smtp: SmtpSink, sink: Sink, db_url: str
) -> None:
    old = item("https://freshnews.example/wire-1", WIRE_TITLE, WIRE_BODY)
    url = feeds.set("/wire.xml", rss([old]))
    times = feeds.set("/times.xml", rss([]))
    config = write_config(tmp_path, {"fresh-news": url, "khmer-times": times}, smtp=smtp, sink=sink)
    env = {"NEWSMON_DATABASE_URL": db_url}
    run_once(config, env)
    pruned = newsmon("db", "prune", "--before", "2999-01-01", config=config, env=env)
    assert pruned.returncode == 0, pruned.stderr
    assert "pruned 1 article body" in pruned.stdout

    # The feed still lists it, even reworded; another outlet carries a copy.
    reworded = item(old["guid"], WIRE_TITLE, WIRE_BODY.replace("Tuesday", "12 September"))
    fresh = item("https://freshnews.example/rice", "Rice exports to Russia climb", OTHER_BODY, 5)
    feeds.set("/wire.xml", rss([fresh, reworded]))
    copy = item("https://khmertimes.example/lavrov-asean", COPY_TITLE, COPY_BODY, 40)
    feeds.set("/times.xml", rss([copy]))
    run_once(config, env)

    assert smtp.subjects() == [
        f"[newsmon] asean-russia: {WIRE_TITLE}",
        "[newsmon] asean-russia: Rice exports to Russia climb",
    ]
    docs = by_title(config, env)
    assert set(docs) == {WIRE_TITLE, "Rice exports to Russia climb", COPY_TITLE}
    assert docs[WIRE_TITLE]["body"] == ""  # still the tombstone
    # Its fingerprint stayed behind: the copy is recognised as the same story.
    assert docs[COPY_TITLE]["cluster_id"] == docs[WIRE_TITLE]["id"]


def test_stories_search_collapse_and_json_fields_show_one_line_per_story(
    tmp_path: Path, feeds: FeedServer, smtp: SmtpSink, sink: Sink, db_url: str
) -> None:
    wire = feeds.set(
        "/wire.xml",
        rss(
            [
                item("https://freshnews.example/wire-1", WIRE_TITLE, WIRE_BODY),
                item("https://freshnews.example/drills", OTHER_TITLE, OTHER_BODY, 5),
            ]
        ),
    )
    times = feeds.set(
        "/times.xml",
        rss([item("https://khmertimes.example/lavrov-asean", COPY_TITLE, COPY_BODY, 40)]),
    )
    config = write_config(
        tmp_path, {"fresh-news": wire, "khmer-times": times}, smtp=smtp, sink=sink
    )
    env = {"NEWSMON_DATABASE_URL": db_url}
    run_once(config, env)

    # Both feeds are polled at once: either copy may be stored first and lead the story.
    stories = cli_json(config, env, "stories")
    assert [(s["outlet_count"], sorted(s["outlets"]), s["articles"]) for s in stories] == [
        (2, ["fresh-news", "khmer-times"], 2),
        (1, ["fresh-news"], 1),
    ]
    assert stories[0]["title"] in {WIRE_TITLE, COPY_TITLE}
    assert stories[1]["title"] == OTHER_TITLE
    assert stories[0]["first_seen"].endswith("Z")
    wide = cli_json(config, env, "stories", "--min-outlets", "2")
    assert [s["cluster_id"] for s in wide] == [stories[0]["cluster_id"]]
    table = newsmon("stories", config=config, env=env)
    assert table.returncode == 0, table.stderr
    assert ", ".join(stories[0]["outlets"]) in table.stdout

    every = cli_json(config, env, "search", "Lavrov OR Fomin")
    assert len(every) == 3
    assert all({"cluster_id", "outlets"} <= set(doc) for doc in every)
    collapsed = cli_json(config, env, "search", "Lavrov OR Fomin", "--collapse")
    assert sorted(len(doc["outlets"]) for doc in collapsed) == [1, 2]
    assert len({doc["cluster_id"] for doc in collapsed}) == 2
    lines = newsmon("search", "Lavrov OR Fomin", "--collapse", config=config, env=env)
    assert lines.returncode == 0, lines.stderr
    assert "2 stories" in lines.stdout
    csv_out = newsmon("export", "--format", "csv", config=config, env=env)
    assert f'"{", ".join(stories[0]["outlets"])}"' in csv_out.stdout


def test_a_digest_lists_each_story_once_with_its_outlets(
    tmp_path: Path, feeds: FeedServer, smtp: SmtpSink, sink: Sink, db_url: str
) -> None:
    wire = feeds.set(
        "/wire.xml",
        rss(
            [
                item("https://freshnews.example/wire-1", WIRE_TITLE, WIRE_BODY),
                item("https://freshnews.example/drills", OTHER_TITLE, OTHER_BODY, 5),
            ]
        ),
    )
    times = feeds.set("/times.xml", rss([]))
    rules = """\
  - name: morning-brief
    keywords: [ASEAN]
    channels: [mail]
    mode: digest
    schedule: "0 8 * * *"
"""
    config = write_config(
        tmp_path, {"fresh-news": wire, "khmer-times": times}, smtp=smtp, sink=sink, rules=rules
    )
    env = {"NEWSMON_DATABASE_URL": db_url}
    run_once(config, env)
    feeds.set(
        "/times.xml",
        rss([item("https://khmertimes.example/lavrov-asean", COPY_TITLE, COPY_BODY, 40)]),
    )
    run_once(config, env)

    sent = newsmon("digest", config=config, env=env)

    assert sent.returncode == 0, sent.stderr
    assert smtp.subjects() == ["[newsmon] morning-brief: 2 new matches"]
    text = plain_text(smtp, 0)
    assert WIRE_TITLE in text
    assert OTHER_TITLE in text
    assert COPY_TITLE not in text
    assert "fresh-news · also in: khmer-times" in text
