"""Output without noise: no trafilatura chatter, counts in words, a backfill's progress
on a terminal, and a failed backfill called failed."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.helpers import ROOT, newsmon
from tests.monitor.test_backfill import Site, listing_site, write_config

EMPTY_PAGE = "<html><head><title>Nothing here</title></head><body></body></html>"


@pytest.fixture
def site(httpserver: HTTPServer) -> Site:
    return Site(httpserver)


def listing_config(tmp_path: Path, site: Site, pages: int = 3) -> Path:
    url = listing_site(site, pages=pages)
    source = {
        "name": "khmer-daily",
        "url": url,
        "kind": "html",
        "link_selector": "h2 a",
        "next_page_selector": "a.next",
    }
    return write_config(tmp_path, [source])


def test_a_page_without_article_text_prints_no_trafilatura_discarding_data_warning(
    site: Site, tmp_path: Path
) -> None:
    config = listing_config(tmp_path, site, pages=1)
    site.set("/a0", EMPTY_PAGE)  # trafilatura finds no text: it says "discarding data"
    (tmp_path / "v").mkdir()
    fresh = listing_config(tmp_path / "v", site, pages=1)  # its own database: pages again
    site.set("/a0", EMPTY_PAGE)

    quiet = newsmon("backfill", config=config)
    verbose = newsmon("-v", "backfill", config=fresh)

    assert quiet.returncode == 0, quiet.stderr
    assert "discarding data" not in quiet.stderr
    assert "discarding data" in verbose.stderr  # the page does trigger it; -v shows it


def test_check_counts_sources_rules_and_channels_in_the_right_number(tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text(
        "channels:\n  a: console://\n"
        "sources:\n  - name: wire\n    url: https://e.org/feed.xml\n"
        "rules:\n  - name: r\n    keywords: [ASEAN]\n"
    )
    result = newsmon("check", config=config)
    assert result.returncode == 0, result.stderr
    assert f"{config}: OK (1 source, 1 rule, 2 channels)" in result.stdout


def test_a_backfill_that_ends_in_error_is_logged_as_failed_with_the_error(
    site: Site, tmp_path: Path
) -> None:
    url = site.set("/gone/", "gone", status=404)
    config = write_config(
        tmp_path, [{"name": "gone", "url": url, "kind": "html", "link_selector": "h2 a"}]
    )

    result = newsmon("backfill", config=config)

    assert result.returncode == 1
    assert re.search(
        r"ERROR +newsmon\.backfill: backfill failed after 0 pages, 0 new, 0 duplicate, "
        r"0 failed: fetch: gone: HTTP 404",
        result.stderr,
    ), result.stderr
    assert "backfill done" not in result.stderr


def run_in_terminal(*args: str, timeout: float = 120) -> tuple[int, str]:
    """Run the CLI with stdout and stderr on a pseudo-terminal; its exit code and output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env.update({"TERM": "xterm-256color", "COLUMNS": "160", "LINES": "40"})
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        cwd=ROOT,
    )
    os.close(follower)
    chunks: list[bytes] = []
    try:
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        return proc.wait(timeout=timeout), b"".join(chunks).decode("utf-8", "replace")
    finally:
        os.close(leader)
        if proc.poll() is None:
            proc.kill()


def test_backfill_on_a_terminal_shows_the_page_count_and_logs_through_the_progress_bar(
    site: Site, tmp_path: Path
) -> None:
    config = listing_config(tmp_path, site, pages=3)

    code, raw = run_in_terminal("--config", str(config), "backfill", "--max-pages", "3")
    output = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw)  # colours and cursor moves

    assert code == 0, output
    assert "page 3/3" in output  # the bar counts pages
    # The log line came through rich's handler on the bar's console (no timestamp
    # prefix of the plain handler), and no per-page log lines were printed.
    assert "newsmon.backfill: backfill done: 3 pages, 12 new" in output
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO", output)
    assert "page 3:" not in output
