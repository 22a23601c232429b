"""`newsmon run` as a real subprocess: polls, alerts, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.helpers import ROOT, FeedServer, SmtpSink, rss, wait_for


def start_daemon(config: Path, tmp_path: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    log = (tmp_path / "daemon.log").open("w")
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "run"],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )


def test_daemon_polls_alerts_and_exits_0_on_sigterm(
    tmp_path: Path, httpserver: HTTPServer, smtp: SmtpSink
) -> None:
    feeds = FeedServer(httpserver)
    url = feeds.set(
        "/feed.xml",
        rss(
            [
                {
                    "title": "ASEAN and Russia sign a memorandum",
                    "link": "https://e.org/1",
                    "description": "Phnom Penh, Cambodia.",
                },
            ]
        ),
    )
    config = tmp_path / "sources.yaml"
    config.write_text(
        "settings:\n  http: {port: 0}\n"  # any free port: tests run side by side
        f'channels:\n  mail: "{smtp.url()}"\n'
        f"sources:\n  - name: wire\n    url: {url}\n    interval: 1h\n"
        "rules:\n  - name: asean-russia\n    keywords: [ASEAN]\n    channels: [mail]\n"
    )
    daemon = start_daemon(config, tmp_path)
    try:
        wait_for(lambda: len(smtp.messages) == 1, timeout=30, what="the alert email")
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    log = (tmp_path / "daemon.log").read_text()
    assert "daemon started: 1 source, 1 rule" in log
    assert "stopped" in log
    assert smtp.subjects() == ["[newsmon] asean-russia: ASEAN and Russia sign a memorandum"]
    assert len(feeds.hits("/feed.xml")) == 1  # interval 1h: polled once, not every tick
