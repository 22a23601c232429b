"""The dashboard in a real headless browser (Debian's chromium driven by Playwright),
served by a real `newsmon ui` process over a seeded database: what a person sees."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storage import Store
from tests.helpers import ROOT, free_port, wait_for
from tests.monitor.dashboard_helpers import HOSTILE_TITLE, seed, utcnow, write_config

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = ROOT / "docs" / "dashboard.png"


def _browser_or_skip() -> Any:
    """Playwright's sync API, or a skip (a failure when NEWSMON_TEST_BROWSER=required)."""
    missing = []
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        missing.append(f"chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright import sync_api
    except ImportError:
        missing.append("the playwright package is not installed (pip install -e '.[dev]')")
        sync_api = None
    if missing:
        reason = "; ".join(missing)
        if os.environ.get("NEWSMON_TEST_BROWSER") == "required":
            pytest.fail(f"{reason} (NEWSMON_TEST_BROWSER=required)")
        pytest.skip(reason)
    return sync_api


@pytest.fixture
def ui(tmp_path: Path) -> Iterator[str]:
    """`newsmon ui` on a free port over a seeded SQLite file; its base URL."""
    db = tmp_path / "newsmon.db"
    store = Store.open(f"sqlite:///{db}")
    try:
        seed(store, utcnow(), rice_stories=3)
    finally:
        store.close()
    config = write_config(tmp_path)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env["NEWSMON_DATABASE_URL"] = f"sqlite:///{db}"
    log = (tmp_path / "ui.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "ui", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, (tmp_path / "ui.log").read_text()
        try:
            with urllib.request.urlopen(base + "/", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    try:
        wait_for(up, timeout=30, what="newsmon ui to answer")
        yield base
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0, (tmp_path / "ui.log").read_text()
        log.close()


def test_a_person_opens_the_dashboard_follows_a_source_and_searches(ui: str) -> None:
    sync_api = _browser_or_skip()
    dialogs: list[str] = []
    with sync_api.sync_playwright() as p:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(ui + "/")
            assert page.locator("h1").inner_text() == "Overview"
            first = page.locator("table.sources tbody tr").first
            assert first.locator("td").nth(1).inner_text() == "broken"
            assert "HTTP 503 Service Unavailable" in first.inner_text()
            # The stylesheet is the daemon's own and applies: the failing status is red.
            colour = first.locator(".status").evaluate("e => getComputedStyle(e).color")
            assert colour != "rgb(0, 0, 0)"
            assert page.locator("svg.chart").count() >= 1
            page.screenshot(path=str(SCREENSHOT))

            first.get_by_role("link", name="broken").click()
            page.wait_for_url(ui + "/sources/broken")
            facts = page.locator("dl.facts").inner_text()
            assert "fetch" in facts
            assert "HTTP 503 Service Unavailable" in facts
            assert "ago" in facts  # last poll in relative time, beside the local one

            page.get_by_role("link", name="Search").click()
            page.get_by_label("Query").fill("ASEAN")
            page.get_by_label("Query").press("Enter")
            page.wait_for_url(ui + "/search?q=ASEAN")
            results = page.locator("ol.results > li")
            titles = [results.nth(i).locator(".head").inner_text() for i in range(results.count())]
            assert "ASEAN ministers meet in Phnom Penh" in titles
            assert any(HOSTILE_TITLE in title for title in titles)  # shown as text
            assert page.locator("ol.results mark").first.inner_text() == "ASEAN"
            script_link = page.get_by_text("ASEAN link that runs a script", exact=True)
            assert script_link.evaluate("e => e.closest('a')") is None  # not a live link

            page.get_by_label("Query").fill("ASEAN AND (Russia")
            page.get_by_label("Query").press("Enter")
            error = page.get_by_role("alert").inner_text()
            assert "syntax error at column 11" in error
            assert error.splitlines()[-1].strip() == "^"

            # On a phone the page fits the screen: wide tables scroll inside themselves.
            phone = browser.new_page(viewport={"width": 390, "height": 800})
            phone.goto(ui + "/alerts")
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390
        finally:
            browser.close()
    assert dialogs == []  # no script from a headline ever ran
    assert SCREENSHOT.stat().st_size < 400_000
