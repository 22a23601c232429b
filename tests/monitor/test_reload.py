"""SIGHUP: the daemon re-reads sources.yaml without a restart, and keeps a good config."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.helpers import FeedServer, SmtpSink, newsmon, rss, wait_for
from tests.monitor.ops_helpers import DaemonProcess


def config_text(port: int, smtp: SmtpSink, sources: dict[str, str], keywords: str) -> str:
    listed = "".join(
        f"  - name: {name}\n    url: {url}\n    interval: 1h\n" for name, url in sources.items()
    )
    return (
        "# sources.yaml edited while the daemon runs\n"
        f"settings:\n  http: {{port: {port}}}\n"
        f'channels:\n  mail: "{smtp.url()}"\n'
        f"sources:\n{listed}"
        f"rules:\n  - name: watch\n    keywords: [{keywords}]\n    channels: [mail]\n"
    )


def test_sighup_adds_a_source_that_is_then_polled_and_alerts(
    tmp_path: Path, httpserver: HTTPServer, smtp: SmtpSink
) -> None:
    feeds = FeedServer(httpserver)
    first = feeds.set("/first.xml", rss([{"title": "Rice harvest up", "link": "https://e.org/1"}]))
    second = feeds.set(
        "/second.xml", rss([{"title": "Russia and ASEAN talk trade", "link": "https://e.org/2"}])
    )
    config = tmp_path / "sources.yaml"
    daemon = DaemonProcess(config)
    config.write_text(config_text(daemon.port, smtp, {"first": first}, "ASEAN"))
    try:
        wait_for(lambda: len(feeds.hits("/first.xml")) == 1, timeout=20, what="the first poll")
        # Add a source, change the rule; remove nothing yet.
        config.write_text(
            config_text(daemon.port, smtp, {"first": first, "second": second}, "Russia")
        )
        daemon.signal(signal.SIGHUP)
        wait_for(lambda: len(smtp.messages) == 1, timeout=20, what="the new source's alert")
        assert smtp.subjects() == ["[newsmon] watch: Russia and ASEAN talk trade"]
        assert "reload: 2 sources, 1 rule" in daemon.stdout()

        # Remove the first source: it leaves `newsmon sources`.
        config.write_text(config_text(daemon.port, smtp, {"second": second}, "Russia"))
        daemon.signal(signal.SIGHUP)
        daemon.wait_log("reload: 1 source, 1 rule")
        listing = newsmon("sources", "--format", "json", config=config, env=_db(tmp_path))
        assert [s["name"] for s in json.loads(listing.stdout)] == ["second"]
        assert daemon.stop() == 0
    finally:
        daemon.kill()
    assert len(feeds.hits("/first.xml")) == 1  # not polled again: interval 1h


def test_sighup_with_an_invalid_config_logs_the_error_and_keeps_the_old_one(
    tmp_path: Path, httpserver: HTTPServer, smtp: SmtpSink
) -> None:
    feeds = FeedServer(httpserver)
    url = feeds.set("/feed.xml", rss([{"title": "ASEAN summit", "link": "https://e.org/1"}]))
    config = tmp_path / "sources.yaml"
    daemon = DaemonProcess(config)
    config.write_text(config_text(daemon.port, smtp, {"wire": url}, "ASEAN"))
    try:
        wait_for(lambda: len(smtp.messages) == 1, timeout=20, what="the first alert")
        good = config.read_text()
        config.write_text(good.replace("interval: 1h", "interval: 5 min"))
        daemon.signal(signal.SIGHUP)
        daemon.wait_log("reload failed, keeping the previous config")
        assert (
            f"reload failed, keeping the previous config: {config}:9: "
            "sources[0].interval: invalid duration '5 min'"
        ) in daemon.stdout()
        assert daemon.get("/healthz")[0] == 200
        assert daemon.proc.poll() is None
        assert daemon.stop() == 0
    finally:
        daemon.kill()


def _db(tmp_path: Path) -> dict[str, str]:
    return {"NEWSMON_DATABASE_URL": f"sqlite:///{tmp_path / 'newsmon.db'}"}
