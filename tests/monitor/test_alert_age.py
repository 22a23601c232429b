"""No alert floods from a new source: old articles are stored, searchable, never alerted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from monitor.pipeline.articles import RuleRoute
from tests.helpers import FeedServer, newsmon, rss

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def item(key: str, title: str, published: datetime | None) -> dict[str, str]:
    fields = {"title": title, "link": f"https://e.org/{key}", "guid": key}
    if published is not None:
        fields["pubDate"] = format_datetime(published, usegmt=True)
    return fields


OLD_ITEMS = [
    item(f"old-{year}", f"ASEAN summit of {year}", datetime(year, 6, 1, 9, 0, tzinfo=UTC))
    for year in (2016, 2017, 2018, 2019)
]


def alerts_in(output: str) -> list[str]:
    """Titles of the ASEAN items the console channel printed."""
    return [line for line in output.splitlines() if "ASEAN" in line and "[newsmon]" not in line]


def write(config: Path, url: str, *, source_extra: str = "", settings: str = "") -> None:
    config.write_text(
        (f"settings:\n{settings}" if settings else "")
        + f"sources:\n  - name: wire\n    url: {url}\n{source_extra}"
        + "rules:\n  - name: asean\n    keywords: [ASEAN]\n"
    )


def test_a_new_configs_first_run_sends_nothing_for_articles_from_2016_to_2019_yet_search_finds_them(
    tmp_path: Path, feeds: FeedServer, db_url: str
) -> None:
    url = feeds.set("/feed.xml", rss(OLD_ITEMS))
    config = tmp_path / "sources.yaml"
    write(config, url)
    env = {"NEWSMON_DATABASE_URL": db_url}

    first = newsmon("run", "--once", config=config, env=env)

    assert first.returncode == 0, first.stderr
    assert "ASEAN summit" not in first.stdout  # the console channel printed nothing
    assert "4 new articles; alerts: 0 sent" in first.stderr
    found = newsmon("search", "ASEAN", "--format", "json", config=config, env=env)
    assert found.returncode == 0, found.stderr
    assert sorted(doc["title"] for doc in json.loads(found.stdout)) == [
        f"ASEAN summit of {year}" for year in (2016, 2017, 2018, 2019)
    ]
    listed = newsmon("alerts", "--format", "json", config=config, env=env)
    assert json.loads(listed.stdout) == []

    # A fresh item (and an undated one, published when first seen) alerts as usual.
    fresh = item("fresh", "ASEAN ministers meet today", datetime.now(UTC) - timedelta(hours=2))
    undated = item("undated", "ASEAN trade talks resume", None)
    feeds.set("/feed.xml", rss([fresh, undated, *OLD_ITEMS]))
    second = newsmon("run", "--once", config=config, env=env)
    assert second.returncode == 0, second.stderr
    assert "ASEAN ministers meet today" in second.stdout
    assert "ASEAN trade talks resume" in second.stdout
    assert "ASEAN summit" not in second.stdout

    # An explicit rematch --alert is not limited by the age.
    rematch = newsmon("rematch", "--alert", config=config, env=env)
    assert rematch.returncode == 0, rematch.stderr
    queued = newsmon("alerts", "--format", "json", config=config, env=env)
    titles = {row["title"] for row in json.loads(queued.stdout)}
    assert {f"ASEAN summit of {year}" for year in (2016, 2017, 2018, 2019)} <= titles


def test_a_rules_own_alert_max_age_wins_over_the_settings(
    tmp_path: Path, feeds: FeedServer
) -> None:
    week_old = item("week", "ASEAN envoy named", datetime.now(UTC) - timedelta(days=7))
    url = feeds.set("/feed.xml", rss([week_old]))
    config = tmp_path / "sources.yaml"
    config.write_text(
        f"settings:\n  alert_max_age: 1d\nsources:\n  - name: wire\n    url: {url}\n"
        "rules:\n  - name: asean\n    keywords: [ASEAN]\n    alert_max_age: 30d\n"
        "  - name: envoy\n    keywords: [envoy]\n"
    )
    result = newsmon("run", "--once", config=config)
    assert result.returncode == 0, result.stderr
    # One alert: rule asean (30 days) takes the week-old article, rule envoy (1 day) does not.
    assert "alerts: 1 sent" in result.stderr
    listed = newsmon("alerts", "--format", "json", config=config)
    assert [row["rule"] for row in json.loads(listed.stdout)] == ["asean"]


def test_a_baseline_source_is_silent_on_its_first_poll_and_alerts_a_new_item_on_the_second(
    tmp_path: Path, feeds: FeedServer, db_url: str
) -> None:
    recent = [
        item(f"r{n}", f"ASEAN story {n}", datetime.now(UTC) - timedelta(hours=n)) for n in (1, 2)
    ]
    url = feeds.set("/feed.xml", rss(recent))
    config = tmp_path / "sources.yaml"
    write(config, url, source_extra="    baseline: true\n")
    env = {"NEWSMON_DATABASE_URL": db_url}

    first = newsmon("run", "--once", config=config, env=env)
    assert first.returncode == 0, first.stderr
    assert "ASEAN story" not in first.stdout
    assert "baseline: first poll stored 2 articles without alerts" in first.stderr

    newest = item("r0", "ASEAN story 0", datetime.now(UTC))
    feeds.set("/feed.xml", rss([newest, *recent]))
    second = newsmon("run", "--once", config=config, env=env)
    assert second.returncode == 0, second.stderr
    assert "ASEAN story 0" in second.stdout
    assert "ASEAN story 1" not in second.stdout


def test_bad_alert_max_age_and_baseline_values_name_the_file_line_and_key(tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text(
        "settings:\n  alert_max_age: 3 days\n"
        "sources:\n  - name: wire\n    url: https://e.org/feed.xml\n    baseline: maybe\n"
        "rules:\n  - name: asean\n    keywords: [ASEAN]\n    alert_max_age: -1d\n"
    )
    result = newsmon("check", config=config)
    assert result.returncode == 2
    assert f"{config}:2: settings.alert_max_age: invalid duration '3 days'" in result.stderr
    assert f"{config}:6: sources[0].baseline:" in result.stderr
    assert f"{config}:10: rules[0].alert_max_age: invalid duration '-1d'" in result.stderr


def test_an_article_is_too_old_to_alert_only_past_the_rules_max_age() -> None:
    route = RuleRoute(["console"], "instant", max_age=3 * 86400)
    cases = [  # published, too old
        (NOW - timedelta(days=3, seconds=1), True),
        (NOW - timedelta(days=3), False),
        (NOW - timedelta(hours=1), False),
        (NOW + timedelta(hours=1), False),  # dated in the future: not old
        (None, False),  # undated: published when first seen
    ]
    for published, too_old in cases:
        assert route.too_old(published, NOW) is too_old, published
    assert RuleRoute(["console"], "instant").too_old(datetime(2016, 1, 1, tzinfo=UTC), NOW) is False
