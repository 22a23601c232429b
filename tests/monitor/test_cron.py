"""Digest schedules: crontab parsing and when a digest is due (pure, explicit `now`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from monitor.config.cron import CronFields, parse_crontab
from monitor.daemon.scheduler import DigestTimer, cron_trigger


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expr", "fields"),
    [
        ("0 8 * * *", CronFields("0", "8", "*", "*", "*")),
        (
            "*/15 8-18 * * *",
            CronFields("0,15,30,45", "8,9,10,11,12,13,14,15,16,17,18", "*", "*", "*"),
        ),
        # cron's weekdays: 0 and 7 are Sunday, 1-5 Monday to Friday
        # (APScheduler 3 counts from Monday)
        ("0 8 * * 1-5", CronFields("0", "8", "*", "*", "mon,tue,wed,thu,fri")),
        ("0 8 * * 0", CronFields("0", "8", "*", "*", "sun")),
        ("0 8 * * 7", CronFields("0", "8", "*", "*", "sun")),
        ("0 8 * * SAT-SUN", CronFields("0", "8", "*", "*", "sun,sat")),
        ("0 8 * * */2", CronFields("0", "8", "*", "*", "sun,tue,thu,sat")),
        ("30 6 1 jan,jul ?", CronFields("30", "6", "1", "1,7", "*")),
        ("5/20 * * * *", CronFields("5,25,45", "*", "*", "*", "*")),
    ],
)
def test_crontab_fields_mean_what_cron_means(expr: str, fields: CronFields) -> None:
    assert parse_crontab(expr) == fields


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("0 8 * *", 'expected 5 fields (minute hour day month weekday, e.g. "0 8 * * *"), got 4'),
        ("61 8 * * *", "minute 61 is out of range 0-59"),
        ("0 24 * * *", "hour 24 is out of range 0-23"),
        ("0 8 0 * *", "day of month 0 is out of range 1-31"),
        ("0 8 * 13 *", "month 13 is out of range 1-12"),
        ("0 8 * * 8", "weekday 8 is out of range 0-7"),
        ("0 8 * * monday", "weekday 'monday' is not a number or a name"),
        ("0 18-8 * * *", "hour range '18-8' runs backwards"),
        ("0 8 * * 1;5", "unexpected character ';'"),
        ("0 8 1 * 1", "give a day of month or a weekday, not both"),
    ],
)
def test_a_bad_crontab_says_what_is_wrong(expr: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message) + "$"):
        parse_crontab(expr)


@pytest.mark.parametrize(
    ("schedule", "timezone", "now", "next_at"),
    [
        # 08:00 in Phnom Penh is 01:00 UTC
        ("0 8 * * *", "Asia/Phnom_Penh", "2024-05-06T00:00:00", "2024-05-06T01:00:00"),
        ("0 8 * * *", "Asia/Phnom_Penh", "2024-05-06T01:00:00", "2024-05-07T01:00:00"),
        ("0 8 * * *", "UTC", "2024-05-06T08:00:01", "2024-05-07T08:00:00"),
        # Monday to Friday: Friday evening's next digest is Monday's (2024-05-10 is a Friday)
        ("0 8 * * 1-5", "UTC", "2024-05-10T09:00:00", "2024-05-13T08:00:00"),
        ("0 8 * * 0", "UTC", "2024-05-10T09:00:00", "2024-05-12T08:00:00"),
        # New York's spring-forward day: 08:00 EDT is 12:00 UTC, the day before 13:00 UTC
        ("0 8 * * *", "America/New_York", "2024-03-09T14:00:00", "2024-03-10T12:00:00"),
    ],
)
def test_next_digest_time_in_the_settings_timezone(
    schedule: str, timezone: str, now: str, next_at: str
) -> None:
    timer = DigestTimer({"r": cron_trigger(schedule, timezone)}, utc(now))
    assert timer.next_at("r") == utc(next_at)


def test_a_digest_is_due_once_per_fire_time() -> None:
    timer = DigestTimer({"r": cron_trigger("0 8 * * *", "UTC")}, utc("2024-05-06T07:00:00"))
    assert timer.due(utc("2024-05-06T07:59:59")) == []
    assert timer.due(utc("2024-05-06T08:00:00")) == ["r"]
    assert timer.due(utc("2024-05-06T08:00:00")) == []
    assert timer.due(utc("2024-05-06T08:00:05")) == []
    assert timer.next_at("r") == utc("2024-05-07T08:00:00")


def test_missed_fire_times_collapse_into_one_digest() -> None:
    timer = DigestTimer({"r": cron_trigger("*/5 * * * *", "UTC")}, utc("2024-05-06T07:00:00"))
    assert timer.due(utc("2024-05-06T09:02:00")) == ["r"]
    assert timer.next_at("r") == utc("2024-05-06T09:05:00")


def test_a_failed_digest_is_due_again_at_its_retry_time() -> None:
    timer = DigestTimer({"r": cron_trigger("0 8 * * *", "UTC")}, utc("2024-05-06T07:00:00"))
    assert timer.due(utc("2024-05-06T08:00:00")) == ["r"]
    timer.retry("r", utc("2024-05-06T08:01:00"))
    assert timer.due(utc("2024-05-06T08:00:59")) == []
    assert timer.due(utc("2024-05-06T08:01:00")) == ["r"]
    assert timer.next_at("r") == utc("2024-05-07T08:00:00")


def test_jitter_delays_a_digest_by_at_most_its_seconds() -> None:
    trigger = cron_trigger("0 8 * * *", "UTC", jitter=30)
    for _ in range(20):
        at = DigestTimer({"r": trigger}, utc("2024-05-06T07:00:00")).next_at("r")
        assert at is not None
        assert utc("2024-05-06T08:00:00") <= at <= utc("2024-05-06T08:00:30")


def test_a_reloaded_config_keeps_unchanged_schedules_and_picks_up_new_ones() -> None:
    now = utc("2024-05-06T07:00:00")
    timer = DigestTimer(
        {"same": cron_trigger("0 8 * * *", "UTC"), "moved": cron_trigger("0 8 * * *", "UTC")}, now
    )
    timer.retry("same", utc("2024-05-06T07:01:00"))  # a pending retry survives the reload
    timer.reconfigure(
        {
            "same": cron_trigger("0 8 * * *", "UTC"),
            "moved": cron_trigger("0 9 * * *", "UTC"),
            "new": cron_trigger("30 7 * * *", "UTC"),
        },
        utc("2024-05-06T07:00:30"),
    )
    assert timer.rules() == ["same", "moved", "new"]
    assert timer.next_at("same") == utc("2024-05-06T07:01:00")
    assert timer.next_at("moved") == utc("2024-05-06T09:00:00")
    assert timer.next_at("new") == utc("2024-05-06T07:30:00")
    timer.reconfigure({}, utc("2024-05-06T07:00:40"))
    assert timer.due(utc("2024-05-07T00:00:00")) == []
