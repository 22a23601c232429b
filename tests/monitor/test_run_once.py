"""End to end: `newsmon run --once` against feed, SMTP, Telegram and webhook servers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers import FeedServer, Sink, SmtpSink, newsmon, rss

TOKEN = "123456:SECRETtokenABC"


def write_config(
    tmp_path: Path, sources: dict[str, str], *, smtp: SmtpSink, sink: Sink, extra: str = ""
) -> Path:
    source_yaml = "".join(
        f"  - name: {name}\n    url: {url}\n    kind: feed\n" for name, url in sources.items()
    )
    path = tmp_path / "sources.yaml"
    path.write_text(
        f"""
settings:
  telegram_api_url: http://127.0.0.1:{sink.server.port}
  timeout: 10s
  alert_max_age: 36500d  # the stories are dated 2023: let them alert
channels:
  mail: "{smtp.url()}"
  tg: "tgram://{TOKEN}/987654"
  hook: "json://127.0.0.1:{sink.server.port}/hook"
sources:
{source_yaml}
rules:
  - name: asean-russia
    keywords: [ASEAN, Russia]
    channels: [mail, tg, hook]
{extra}"""
    )
    return path


def story(n: int, title: str, link: str, text: str = "") -> dict[str, str]:
    return {
        "title": title,
        "link": link,
        "guid": link,
        "description": text or f"Story {n} body.",
        "pubDate": f"Wed, 13 Sep 2023 06:{n:02d}:00 GMT",
    }


def export(config: Path, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    result = newsmon("export", "--format", "json", config=config, env=env)
    assert result.returncode == 0, result.stderr
    docs: list[dict[str, Any]] = json.loads(result.stdout)
    return docs


def test_same_story_from_two_feeds_is_stored_once_and_alerts_once_per_channel(
    tmp_path: Path, feeds: FeedServer, smtp: SmtpSink, sink: Sink, db_url: str
) -> None:
    shared = "Russia-ASEAN partnership deepens, minister says"
    url_a = feeds.set(
        "/a.xml",
        rss(
            [
                story(
                    1,
                    shared,
                    "https://News.example.org/2023/russia-asean?utm_source=rss&utm_medium=feed",
                ),
                story(2, "Rice exports climb", "https://news.example.org/2023/rice"),
            ]
        ),
    )
    url_b = feeds.set(
        "/b.xml",
        rss(
            [
                story(3, shared, "https://news.example.org/2023/russia-asean?fbclid=XYZ#top"),
            ]
        ),
    )
    config = write_config(tmp_path, {"outlet-a": url_a, "outlet-b": url_b}, smtp=smtp, sink=sink)
    env = {"NEWSMON_DATABASE_URL": db_url}

    result = newsmon("run", "--once", config=config, env=env)

    assert result.returncode == 0, result.stderr
    articles = export(config, env)
    assert sorted(a["url"] for a in articles) == [
        "https://news.example.org/2023/rice",
        "https://news.example.org/2023/russia-asean",
    ]
    assert smtp.subjects() == [f"[newsmon] asean-russia: {shared}"]
    assert len(sink.telegram_texts()) == 1
    assert shared in sink.telegram_texts()[0]
    assert len(sink.webhook_bodies()) == 1


def test_second_poll_sends_if_none_match_and_alerts_nothing(
    tmp_path: Path, feeds: FeedServer, smtp: SmtpSink, sink: Sink
) -> None:
    url = feeds.set("/feed.xml", rss([story(1, "ASEAN summit opens", "https://e.org/1")]))
    config = write_config(tmp_path, {"wire": url}, smtp=smtp, sink=sink)

    assert newsmon("run", "--once", config=config).returncode == 0
    assert len(smtp.messages) == 1
    second = newsmon("run", "--once", config=config)

    assert second.returncode == 0, second.stderr
    first_headers, second_headers = feeds.hits("/feed.xml")
    assert "If-None-Match" not in first_headers
    assert second_headers["If-None-Match"].startswith('"')
    assert len(smtp.messages) == 1
    assert len(sink.telegram_texts()) == 1


def test_new_item_alerts_exactly_once(
    tmp_path: Path, feeds: FeedServer, smtp: SmtpSink, sink: Sink
) -> None:
    first = story(1, "Cambodia hosts ASEAN ministers", "https://e.org/1")
    url = feeds.set("/feed.xml", rss([first]))
    config = write_config(tmp_path, {"wire": url}, smtp=smtp, sink=sink)
    assert newsmon("run", "--once", config=config).returncode == 0

    second = story(2, "Russia signs trade pact", "https://e.org/2")
    feeds.set("/feed.xml", rss([second, first]))
    assert newsmon("run", "--once", config=config).returncode == 0
    assert newsmon("run", "--once", config=config).returncode == 0

    assert smtp.subjects() == [
        "[newsmon] asean-russia: Cambodia hosts ASEAN ministers",
        "[newsmon] asean-russia: Russia signs trade pact",
    ]
    assert len(sink.telegram_texts()) == 2


def test_failing_source_does_not_stop_the_others_and_its_error_is_visible(
    tmp_path: Path, feeds: FeedServer, smtp: SmtpSink, sink: Sink
) -> None:
    good = feeds.set("/good.xml", rss([story(1, "ASEAN news", "https://e.org/1")]))
    broken = feeds.set("/broken.xml", "oops", ctype="text/plain", status=503)
    garbage = feeds.set("/garbage.xml", "<html><body>no feed here</body></html>", ctype="text/html")
    config = write_config(
        tmp_path, {"broken": broken, "good": good, "garbage": garbage}, smtp=smtp, sink=sink
    )

    result = newsmon("run", "--once", config=config)

    assert result.returncode == 0, result.stderr
    assert "fetch: broken: HTTP 503" in result.stderr
    assert len(smtp.messages) == 1
    listing = newsmon("sources", "--format", "json", config=config)
    assert listing.returncode == 0, listing.stderr
    by_name = {s["name"]: s for s in json.loads(listing.stdout)}
    assert by_name["good"]["status"] == "ok"
    assert by_name["good"]["articles"] == 1
    assert by_name["broken"]["status"] in {"error", "backoff"}
    assert by_name["broken"]["error_count"] == 1
    assert by_name["broken"]["last_error"].startswith("fetch: broken: HTTP 503")
    assert by_name["garbage"]["last_error"].startswith("parse: garbage: response is not a feed")


def test_run_once_fails_when_every_source_fails(
    tmp_path: Path, feeds: FeedServer, smtp: SmtpSink, sink: Sink
) -> None:
    broken = feeds.set("/broken.xml", "oops", ctype="text/plain", status=500)
    config = write_config(tmp_path, {"broken": broken}, smtp=smtp, sink=sink)
    result = newsmon("run", "--once", config=config)
    assert result.returncode == 1
    assert "fetch: broken: HTTP 500" in result.stderr
