"""Times as people read them: the settings' zone, "3 h ago" in tables; counts in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.clock import duration_words, from_iso, iso, local_time, relative, table_time, zone
from monitor.wording import counted

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("offset", "shown"),
    [
        (timedelta(0), "now"),
        (timedelta(seconds=5), "in 5 s"),
        (timedelta(seconds=-5), "5 s ago"),
        (timedelta(seconds=59), "in 59 s"),
        (timedelta(minutes=1), "in 1 min"),
        (timedelta(minutes=12), "in 12 min"),
        (timedelta(minutes=-12, seconds=-30), "12 min ago"),
        (timedelta(minutes=90), "in 90 min"),  # under 2 h minutes say more
        (timedelta(hours=2), "in 2 h"),
        (timedelta(hours=-3), "3 h ago"),
        (timedelta(hours=-47), "47 h ago"),
        (timedelta(days=2), "in 2 d"),
        (timedelta(days=-400), "400 d ago"),
    ],
)
def test_tables_show_how_long_ago_or_how_soon(offset: timedelta, shown: str) -> None:
    assert relative(NOW + offset, NOW) == shown


@pytest.mark.parametrize(
    ("zone_name", "shown"),
    [
        (None, "2026-12-07 10:00 UTC"),
        ("UTC", "2026-12-07 10:00 UTC"),
        ("Asia/Phnom_Penh", "2026-12-07 17:00 +07"),
        ("Europe/Berlin", "2026-12-07 11:00 CET"),
        ("America/New_York", "2026-12-07 05:00 EST"),
        ("Asia/Kolkata", "2026-12-07 15:30 IST"),
    ],
)
def test_times_for_people_are_in_the_settings_timezone(zone_name: str | None, shown: str) -> None:
    assert local_time(NOW, zone(zone_name)) == shown


def test_a_table_cell_is_local_time_and_relative() -> None:
    cell = table_time(NOW, zone("Asia/Phnom_Penh"), NOW + timedelta(hours=3))
    assert cell == "2026-12-07 17:00 (3 h ago)"


def test_machine_times_stay_utc_iso_with_z_and_read_back() -> None:
    local = NOW.astimezone(zone("Asia/Phnom_Penh"))
    assert iso(local) == "2026-12-07T10:00:00Z"
    assert from_iso("2026-12-07T10:00:00Z") == NOW
    assert from_iso("ASEAN summit 2026") is None


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (30 * 86400, "30 days"),
        (86400, "1 day"),
        (12 * 3600, "12 hours"),
        (5400, "1 hour 30 minutes"),
        (45, "45 seconds"),
    ],
)
def test_durations_are_said_in_words(seconds: int, words: str) -> None:
    assert duration_words(seconds) == words


@pytest.mark.parametrize(
    ("n", "noun", "plural", "words"),
    [
        (1, "rule", None, "1 rule"),
        (2, "rule", None, "2 rules"),
        (0, "source", None, "0 sources"),
        (1, "match", None, "1 match"),
        (3, "match", None, "3 matches"),
        (2, "article body", "article bodies", "2 article bodies"),
        (1, "article body", "article bodies", "1 article body"),
        (5, "entry", None, "5 entries"),
    ],
)
def test_counts_are_worded_in_the_right_number(
    n: int, noun: str, plural: str | None, words: str
) -> None:
    assert counted(n, noun, plural) == words
