"""The dashboard's pages, served by the real server over a seeded database (SQLite and
PostgreSQL): what a person sees, and what hostile news text must never do."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.daemon.ops_http import DaemonOps
from monitor.web import create_app
from storage import Store
from tests.monitor.dashboard_helpers import (
    ESCAPED_HOSTILE,
    HOSTILE_TITLE,
    JS_URL,
    NOON,
    SEND_ERROR,
    SMTP_SECRET,
    Served,
    dashboard,
    load,
    seed,
)

PAGES = ["/", "/sources", "/sources/wire", "/matches", "/alerts", "/search?q=ASEAN"]
TOKEN = "ui-SECRET-token-42"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store.open(db_url)
    yield store
    store.close()


@pytest.fixture
def site(store: Store, tmp_path: Path) -> Iterator[Served]:
    """The dashboard over a seeded database."""
    seed(store, NOON, rice_stories=30)
    served = Served(create_app(dashboard(load(tmp_path), store, NOON)))
    yield served
    served.close()


def main(html: str) -> str:
    """The page's <main> element: what the page says, without the navigation."""
    found = re.search(r"<main>(.*)</main>", html, re.S)
    assert found, html
    return found.group(1)


def text(html: str) -> str:
    """The page as text: tags dropped, whitespace collapsed (entities kept)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_every_page_answers_on_the_seeded_database(site: Served) -> None:
    for path in PAGES:
        status, html, headers = site.get(path)
        assert status == 200, (path, html)
        assert headers["content-type"] == "text/html; charset=utf-8"
        assert "<script" not in html.lower(), path  # no script of ours, none of theirs


def test_hostile_titles_are_shown_as_text_on_every_page(site: Served) -> None:
    for path in ["/", "/sources/wire", "/matches", "/alerts", "/search?q=hostile"]:
        html = site.get(path)[1]
        assert HOSTILE_TITLE not in html, path
        assert "<img src=x" not in html, path
        if path != "/":
            assert ESCAPED_HOSTILE in html, path


def test_a_javascript_link_is_never_live(site: Served) -> None:
    for path in ["/sources/wire", "/search?q=script"]:
        html = site.get(path)[1]
        assert "ASEAN link that runs a script" in html, path
        assert JS_URL in text(html), path  # shown as text, so a person sees what it was
        hrefs = re.findall(r'href="([^"]*)"', html)
        assert hrefs
        assert all(h.startswith(("/", "http://", "https://", "?")) for h in hrefs), hrefs


def test_the_overview_shows_the_failing_source_first_with_its_error(site: Served) -> None:
    html = main(site.get("/")[1])
    rows = re.findall(r'<a href="/sources/([a-z-]+)">', html)
    assert rows[:3] == ["broken", "mirror", "wire"]
    shown = text(html)
    assert "fetch broken: HTTP 503 Service Unavailable" in shown  # the stage, then the error
    assert "Articles today 33" in shown
    assert "Alerts today 32" in shown
    assert "Outbox backlog 31" in shown  # pending; the failed one is counted apart
    assert "failed 1" in shown


def test_a_source_page_shows_times_its_last_error_with_its_stage_and_the_error_history(
    site: Served,
) -> None:
    shown = text(main(site.get("/sources/broken")[1]))
    assert "broken error" in shown
    assert "Last error fetch broken: HTTP 503 Service Unavailable" in shown
    assert "Consecutive errors 2" in shown
    # Local time in settings.timezone (Asia/Phnom_Penh, UTC+7) and relative time.
    assert re.search(r"Last poll \d{4}-\d\d-\d\d \d\d:\d\d \+07 \( 20 min ago \)", shown), shown
    assert re.search(r"Next poll \S+ \S+ \+07 \( 5 min ago \)", shown), shown
    history = shown.split("Error history", 1)[1].split("Recent polls", 1)[0]
    assert history.count("HTTP 503 Service Unavailable") == 2
    assert "No articles stored from this source yet." in shown

    wire = text(main(site.get("/sources/wire")[1]))
    assert "wire ok" in wire
    assert "ASEAN ministers meet in Phnom Penh" in wire
    assert "No failed polls recorded" in wire


def test_an_unknown_source_is_a_404_page(site: Served) -> None:
    status, html, _ = site.get("/sources/%3Cb%3Enope")
    assert status == 404
    assert "no source named &#39;&lt;b&gt;nope&#39;" in html


def test_matches_show_highlighted_snippets_outlets_and_links_by_rule(site: Served) -> None:
    html = main(site.get("/matches?rule=asean")[1])
    assert "Ministers of <mark>ASEAN</mark> meet in Phnom Penh &lt;b&gt;today&lt;/b&gt;" in html
    assert '<a class="article" href="https://news.example/asean"' in html
    shown = text(html)
    assert "outlets: wire, mirror" in shown  # the story's second outlet (a sighting)
    assert "mail failed" in shown
    assert "Rice harvest" not in shown  # another rule's matches are filtered out

    first = text(main(site.get("/matches?rule=rice")[1]))
    assert first.count("Rice harvest report") == 25
    assert "older →" in first
    second = text(main(site.get("/matches?rule=rice&page=2")[1]))
    assert second.count("Rice harvest report") == 5
    assert "← newer" in second


def test_alerts_show_the_outbox_by_status_with_errors(site: Served) -> None:
    shown = text(main(site.get("/alerts?status=failed")[1]))
    assert "failed (1)" in shown
    assert "pending (31)" in shown
    assert f"telegram {SEND_ERROR.split(': ', 1)[1]}" in shown
    assert "ASEAN ministers meet in Phnom Penh" in shown
    assert "Rice harvest" not in shown


def test_search_uses_the_query_language_and_pages(site: Served) -> None:
    shown = text(main(site.get("/search?q=rice+-%22report+7%22")[1]))
    assert "25 results" in shown
    assert "older →" in shown
    shown = text(main(site.get("/search?q=rice+-%22report+7%22&page=2")[1]))
    assert "4 results on page 2" in shown
    assert "Rice harvest report 7 " not in shown
    html = main(site.get("/search?q=title%3APhnom")[1])
    assert "ASEAN ministers meet in <mark>Phnom</mark> Penh" in html


def test_a_syntax_error_in_search_is_shown_in_place_with_column_and_caret(site: Served) -> None:
    status, html, _ = site.get("/search?q=ASEAN+AND+%28Russia")
    assert status == 200
    assert "syntax error at column 11: missing &#39;)&#39; to close this &#39;(&#39;" in html
    caret = re.search(r"<pre>(.*?)</pre>", html, re.S)
    assert caret is not None
    assert caret.group(1) == "  ASEAN AND (Russia\n            ^"
    assert 'value="ASEAN AND (Russia"' in html  # the query stays in the box to fix


def test_no_secret_is_shown_and_channels_are_in_privacy_form(site: Served) -> None:
    for path in PAGES:
        assert SMTP_SECRET not in site.get(path)[1], path
    assert "mailto://desk:****@127.0.0.1" in text(site.get("/")[1])


def test_every_answer_carries_the_security_headers(site: Served) -> None:
    for path in [*PAGES, "/static/style.css", "/nope"]:
        headers = site.get(path)[2]
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


def test_the_dashboard_is_read_only_other_methods_are_405(site: Served) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        for path in ("/", "/search?q=x", "/alerts", "/nope"):
            status, body, headers = site.get(path, method=method)
            assert status == 405, (method, path)
            assert headers["allow"] == "GET, HEAD"
            assert "read-only" in body
    assert site.get("/", method="HEAD")[0] == 200


def test_the_stylesheet_is_served_by_the_dashboard_itself(site: Served) -> None:
    html = site.get("/")[1]
    assert '<link rel="stylesheet" href="/static/style.css">' in html
    assert "http" not in re.sub(r'href="https?://[^"]*"', "", html.split("<main>")[0])
    status, css, headers = site.get("/static/style.css")
    assert status == 200
    assert headers["content-type"].startswith("text/css")
    assert "@media (max-width" in css  # narrow screens have their own layout


def test_an_empty_database_shows_every_page_with_nothing_yet(store: Store, tmp_path: Path) -> None:
    served = Served(create_app(dashboard(load(tmp_path), store, NOON)))
    try:
        shown = {path: text(main(served.get(path)[1])) for path in PAGES if path != "/sources/wire"}
        assert served.get("/sources/wire")[0] == 404
    finally:
        served.close()
    assert "No sources yet" in shown["/"]
    assert "Articles today 0" in shown["/"]
    assert "No articles stored in the last 14 days." in shown["/"]
    assert "No matches yet." in shown["/matches"]
    assert "The outbox is empty." in shown["/alerts"]
    assert "Nothing stored matches this query." in shown["/search?q=ASEAN"]


def test_the_token_is_required_when_set_but_healthz_stays_open(
    store: Store, tmp_path: Path
) -> None:
    now = NOON
    seed(store, now)
    ops = DaemonOps(
        store,
        dispatch_seconds=5,
        last_tick=lambda: now,
        metrics_token=lambda: None,
        clock=lambda: now,
    )
    served = Served(create_app(dashboard(load(tmp_path), store, now, token=TOKEN), ops))
    basic = base64.b64encode(f"anyone:{TOKEN}".encode()).decode()
    wrong = base64.b64encode(b"anyone:guess").decode()
    try:
        for path in [*PAGES, "/static/style.css"]:
            status, body, headers = served.get(path)
            assert status == 401, path
            assert headers["www-authenticate"] == 'Basic realm="newsmon", charset="UTF-8"'
            assert "NEWSMON_UI_TOKEN" in body
            assert served.get(path, headers={"Authorization": f"Bearer {TOKEN}"})[0] == 200
            assert served.get(path, headers={"Authorization": f"Basic {basic}"})[0] == 200
            assert served.get(path, headers={"Authorization": f"Basic {wrong}"})[0] == 401
            assert served.get(path, headers={"Authorization": "Bearer nope"})[0] == 401
        status, body, _ = served.get("/healthz")
        assert status == 200
        assert '"status": "ok"' in body
        assert served.get("/metrics")[0] == 200  # /metrics has its own metrics_token
    finally:
        served.close()
