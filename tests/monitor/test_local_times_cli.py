"""`settings.timezone` for what people read (alerts, tables), UTC for what machines read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from storage import Store
from tests.helpers import FeedServer, Sink, SmtpSink, newsmon, rss
from tests.monitor.delivery_helpers import queue_matches
from tests.monitor.test_digest import write_config as digest_config

TOKEN = "123456:SECRETtokenABC"
PHNOM_PENH = ZoneInfo("Asia/Phnom_Penh")


def test_alerts_and_tables_show_the_settings_timezone_while_json_keeps_utc(
    tmp_path: Path, feeds: FeedServer, smtp: SmtpSink, sink: Sink
) -> None:
    published = (datetime.now(UTC) - timedelta(hours=3)).replace(second=0, microsecond=0)
    url = feeds.set(
        "/feed.xml",
        rss(
            [
                {
                    "title": "ASEAN ministers meet",
                    "link": "https://e.org/asean",
                    "guid": "https://e.org/asean",
                    "description": "ASEAN ministers met in Phnom Penh.",
                    "pubDate": format_datetime(published, usegmt=True),
                }
            ]
        ),
    )
    config = tmp_path / "sources.yaml"
    config.write_text(
        f"""
settings:
  timezone: Asia/Phnom_Penh
  telegram_api_url: http://127.0.0.1:{sink.server.port}
channels:
  mail: "{smtp.url()}"
  tg: "tgram://{TOKEN}/987654"
  stdout: "console://"
sources:
  - name: wire
    url: {url}
    kind: feed
rules:
  - name: asean
    keywords: [ASEAN]
    channels: [mail, tg, stdout]
"""
    )
    local = f"{published.astimezone(PHNOM_PENH):%Y-%m-%d %H:%M} +07"
    utc = f"{published:%Y-%m-%d %H:%M} UTC"

    run = newsmon("run", "--once", config=config)

    assert run.returncode == 0, run.stderr
    assert local in run.stdout  # the console alert
    assert utc not in run.stdout
    (mail,) = smtp.messages
    text = mail.get_body(("plain",))
    assert text is not None
    assert local in text.get_content()
    (telegram,) = sink.telegram_texts()
    assert local in telegram

    table = newsmon("sources", config=config, env={"COLUMNS": "200"})
    assert table.returncode == 0, table.stderr
    assert "times in Asia/Phnom_Penh" in table.stdout
    assert " ago)" in table.stdout  # last poll: "(5 s ago)"
    assert "(in " in table.stdout  # next poll: "(in 14 min)"
    found = newsmon("search", "ASEAN", config=config)
    assert f"{published.astimezone(PHNOM_PENH):%Y-%m-%d %H:%M} (3 h ago)" in found.stdout

    (doc,) = json.loads(newsmon("export", "--format", "json", config=config).stdout)
    assert doc["published_at"] == published.strftime("%Y-%m-%dT%H:%M:%SZ")
    (source,) = json.loads(newsmon("sources", "--format", "json", config=config).stdout)
    assert source["last_poll_at"].endswith("Z")
    csv_out = newsmon("search", "ASEAN", "--format", "csv", config=config).stdout
    assert published.strftime("%Y-%m-%dT%H:%M:%SZ") in csv_out


def test_a_digest_email_shows_publication_times_in_the_settings_timezone(
    tmp_path: Path, smtp: SmtpSink, sqlite_url: str
) -> None:
    config = digest_config(tmp_path, smtp.url())  # settings.timezone: Asia/Phnom_Penh
    store = Store.open(sqlite_url)
    try:
        published = datetime(2024, 5, 6, 0, 20, tzinfo=UTC)
        queue_matches(
            store, ["a", "b"], rule="morning-brief", mode="digest", published_at=published
        )
    finally:
        store.close()

    result = newsmon("digest", config=config, env={"NEWSMON_DATABASE_URL": sqlite_url})

    assert result.returncode == 0, result.stderr
    (mail,) = smtp.messages
    text = mail.get_body(("plain",))
    assert text is not None
    assert text.get_content().count("2024-05-06 07:20 +07") == 2
    assert "UTC" not in text.get_content()
