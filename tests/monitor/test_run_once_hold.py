"""`run --once` leaves alone a source waiting out a backoff or the server's Retry-After."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Response

from tests.helpers import newsmon, rss


def test_run_once_skips_a_source_that_sent_retry_after_until_forced(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/limited").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "3600"})
    )
    feed = rss([{"title": "Rice exports climb", "link": "https://example.org/rice"}])
    httpserver.expect_request("/fine").respond_with_data(feed, content_type="application/rss+xml")
    config = tmp_path / "sources.yaml"
    config.write_text(
        f"""
settings:
  timeout: 10s
sources:
  - name: limited
    url: {httpserver.url_for("/limited")}
    kind: feed
    interval: 60s
  - name: fine
    url: {httpserver.url_for("/fine")}
    kind: feed
    interval: 60s
rules:
  - name: rice
    keywords: [rice]
"""
    )
    env = {"NEWSMON_DATABASE_URL": f"sqlite:///{tmp_path / 'newsmon.db'}"}

    def hits(path: str) -> int:
        return sum(1 for request, _ in httpserver.log if request.path == path)

    first = newsmon("run", "--once", config=config, env=env)
    assert first.returncode == 0, first.stderr
    assert (hits("/limited"), hits("/fine")) == (1, 1)

    second = newsmon("run", "--once", config=config, env=env)
    assert second.returncode == 0, second.stderr
    assert (hits("/limited"), hits("/fine")) == (1, 2)  # the other source is still polled
    sources = newsmon("sources", "--format", "json", config=config, env=env)
    [row] = [r for r in json.loads(sources.stdout) if r["name"] == "limited"]
    until = datetime.fromisoformat(row["next_poll_at"]).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert (
        f"run --once: skipped limited: waiting until {until} after 1 error: "
        "fetch: limited: HTTP 429 Too Many Requests "
        "(backoff or the server's Retry-After; --force polls it now)"
    ) in second.stderr + second.stdout, second.stderr
    assert "1 source polled" in second.stderr + second.stdout

    forced = newsmon("run", "--once", "--force", config=config, env=env)
    assert forced.returncode == 0, forced.stderr
    assert (hits("/limited"), hits("/fine")) == (2, 3)
    assert "skipped" not in forced.stderr + forced.stdout
