"""The dashboard's pure helpers: times, error stages, links, snippets, charts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.web import charts, views
from monitor.web.security import token_matches
from storage.types import DayCount, HourCount

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
PP = ZoneInfo("Asia/Phnom_Penh")


@pytest.mark.parametrize(
    ("offset", "shown"),
    [
        (None, "never"),
        (timedelta(seconds=-10), "just now"),
        (timedelta(seconds=50), "in 1 min"),
        (timedelta(minutes=-20), "20 min ago"),
        (timedelta(minutes=90), "in 2 h"),
        (timedelta(hours=-5), "5 h ago"),
        (timedelta(days=-3), "3 d ago"),
    ],
)
def test_relative_times_read_like_a_person_says_them(offset: timedelta | None, shown: str) -> None:
    moment = NOW + offset if offset is not None else None
    assert views.relative_time(moment, NOW) == shown


def test_times_are_shown_in_the_display_timezone() -> None:
    assert views.local_time(NOW, PP) == "2025-03-01 19:00 +07"
    assert views.local_time(None, PP) == "—"
    assert views.today_start(datetime(2025, 3, 1, 18, 0, tzinfo=UTC), PP) == datetime(
        2025, 3, 2, 0, 0, tzinfo=PP
    )


@pytest.mark.parametrize(
    ("error", "parts"),
    [
        ("fetch: wire: HTTP 503", ("fetch", "wire: HTTP 503")),
        ("parse: wire: not a feed", ("parse", "wire: not a feed")),
        ("something odd happened", ("", "something odd happened")),
        ("HTTP 503 Service: Unavailable", ("", "HTTP 503 Service: Unavailable")),
        (None, ("", "")),
    ],
)
def test_an_error_is_split_into_its_stage_and_message(
    error: str | None, parts: tuple[str, str]
) -> None:
    assert views.error_stage(error) == parts


@pytest.mark.parametrize(
    ("url", "href"),
    [
        ("https://e.org/a?b=1&c=2", "https://e.org/a?b=1&amp;c=2"),
        ("http://e.org/x y", "http://e.org/x%20y"),
        ('https://e.org/"onmouseover="x', "https://e.org/%22onmouseover=%22x"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        (" javascript:alert(1)", None),
        ("data:text/html,<script>", None),
        ("vbscript:x", None),
        ("//e.org/x", None),
    ],
)
def test_only_http_and_https_urls_become_links(url: str, href: str | None) -> None:
    found = views.href(url)
    assert (str(found) if found is not None else None) == href


def test_a_snippet_is_escaped_and_its_hits_marked() -> None:
    snippet = "<b>ASEAN</b> & Russia\x1b[31m"
    marked = views.marked_snippet(snippet, ((3, 8), (15, 21)))
    # The terminal escape loses its ESC (a space now); the rest is text.
    assert str(marked) == "&lt;b&gt;<mark>ASEAN</mark>&lt;/b&gt; &amp; <mark>Russia</mark> [31m"


@pytest.mark.parametrize(
    ("authorization", "ok"),
    [
        ("Bearer s3cret", True),
        ("bearer s3cret", True),
        ("Bearer s3cre", False),
        ("Basic dXNlcjpzM2NyZXQ=", True),  # user:s3cret
        ("Basic OnMzY3JldA==", True),  # :s3cret
        ("Basic dXNlcjp3cm9uZw==", False),  # user:wrong
        ("Basic !!!", False),
        ("s3cret", False),
        ("", False),
        (None, False),
    ],
)
def test_the_token_is_accepted_as_bearer_or_basic_auth_password(
    authorization: str | None, ok: bool
) -> None:
    assert token_matches("s3cret", authorization) is ok


def test_counts_are_laid_out_per_day_and_hour_with_gaps_as_zero() -> None:
    rows = [DayCount("wire", 100, 3), DayCount("wire", 102, 1), DayCount("b", 99, 5)]
    assert charts.day_series(rows, 100, 3) == {"wire": [3, 0, 1]}
    assert charts.day_labels(0, 2) == ["1970-01-01", "1970-01-02"]
    hours = [HourCount(10, 4, 1), HourCount(12, 2, 2)]
    assert charts.hour_series(hours, 10, 3) == ([4, 0, 2], [1, 0, 2])
    assert charts.day_offset(NOW, PP) == 7 * 3600
    assert charts.epoch_day(datetime(1970, 1, 1, 20, tzinfo=UTC), 7 * 3600) == 1


def test_a_bar_chart_is_svg_with_one_titled_bar_per_nonzero_value_and_escaped_labels() -> None:
    svg = str(
        charts.bar_chart(
            [charts.Series("polls", [2, 0, 4]), charts.Series("failed", [1, 0, 0], "bar err")],
            ["<a>", "b", "c"],
            title='per "hour"',
        )
    )
    assert svg.startswith('<svg class="chart"')
    assert svg.count("<rect") == 3
    assert "<title>&lt;a&gt;: 2 polls</title>" in svg
    assert "<title>c: 4 polls</title>" in svg
    assert 'aria-label="per &#34;hour&#34;"' in svg
    assert 'class="bar err"' in svg
    assert "style=" not in svg
    assert "<script" not in svg
    empty = str(charts.bar_chart([charts.Series("x", [0, 0])], ["a", "b"], title="none"))
    assert "<rect" not in empty
