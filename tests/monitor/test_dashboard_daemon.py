"""The running daemon serves the dashboard on its own port, behind NEWSMON_UI_TOKEN."""

from __future__ import annotations

from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.helpers import FeedServer, rss, wait_for
from tests.monitor.ops_helpers import DaemonProcess

TOKEN = "ui-SECRET-9911"


def test_the_daemon_serves_the_dashboard_behind_the_ui_token(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    feeds = FeedServer(httpserver)
    url = feeds.set("/feed.xml", rss([{"title": "ASEAN summit", "link": "https://e.org/a"}]))
    config = tmp_path / "sources.yaml"
    daemon = DaemonProcess(config, env={"NEWSMON_UI_TOKEN": TOKEN})
    config.write_text(
        f"settings:\n  http: {{port: {daemon.port}}}\n"
        f"sources:\n  - name: wire\n    url: {url}\n    interval: 1h\n"
        "rules:\n  - name: asean\n    keywords: [ASEAN]\n"
    )
    try:
        daemon.wait_listening()
        assert daemon.get("/healthz")[0] == 200  # open for Docker's HEALTHCHECK
        status, body, headers = daemon.get("/")
        assert status == 401
        assert headers["www-authenticate"].startswith("Basic ")
        wait_for(
            lambda: "ASEAN summit" in daemon.get("/matches", token=TOKEN)[1],
            timeout=20,
            what="the match on the dashboard",
        )
        status, body, headers = daemon.get("/", token=TOKEN)
        assert status == 200
        assert "script-src 'none'" in headers["content-security-policy"]
        assert '<a href="/sources/wire">wire</a>' in body
        # The daemon's own tick, not the last poll: it is the scheduler's page.
        assert "Last scheduler tick" in body
        assert "live daemon replica" not in body
        assert daemon.get("/sources/wire", token=TOKEN)[0] == 200
        assert daemon.stop() == 0
    finally:
        daemon.kill()
    assert TOKEN not in daemon.stdout() + daemon.stderr()
