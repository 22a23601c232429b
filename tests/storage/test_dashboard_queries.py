"""The dashboard's read-only queries: poll events, counts per hour and day, matches."""

from __future__ import annotations

from datetime import timedelta

from storage import Candidate, DeliveryIn, PollResult, Store
from storage.store_sources import POLL_EVENT_DAYS
from storage.types import DayCount, HourCount
from tests.storage.builders import NOW, add_sources, article

HOUR = int(NOW.timestamp()) // 3600


def test_every_poll_is_recorded_as_an_event_and_old_events_are_dropped(store: Store) -> None:
    ids = add_sources(store, "wire", "other")
    old = NOW - timedelta(days=POLL_EVENT_DAYS + 1)
    store.record_poll(PollResult(ids["wire"], old, old))
    store.record_poll(PollResult(ids["other"], old, old))
    store.record_poll(PollResult(ids["wire"], NOW - timedelta(minutes=70), NOW, items_seen=4))
    store.record_poll(PollResult(ids["wire"], NOW, NOW, error="fetch: wire: HTTP 503"))

    events = store.poll_events("wire")
    assert [(e.error, e.items) for e in events] == [("fetch: wire: HTTP 503", 0), (None, 4)]
    assert [e.polled_at for e in store.poll_events("wire", errors_only=True)] == [NOW]
    # Each poll trims its own source only: the other's old event waits for its next poll.
    assert [e.source for e in store.poll_events()] == ["wire", "wire", "other"]
    assert store.poll_hours(NOW - timedelta(hours=3)) == [
        HourCount(HOUR - 2, 1, 0),
        HourCount(HOUR, 1, 1),
    ]


def test_articles_and_matches_are_counted_per_local_day(store: Store) -> None:
    ids = add_sources(store, "wire", "other")
    match = DeliveryIn("asean", "ops", "instant", ("ASEAN",), "ASEAN", ((0, 5),))
    # NOW is 12:00 UTC: 18:00 UTC is already the next day in UTC+7.
    store.ingest(ids["wire"], [Candidate(article("a"), (match,))], NOW)
    store.ingest(ids["wire"], [Candidate(article("b"))], NOW + timedelta(hours=6))
    store.ingest(ids["other"], [Candidate(article("c"), (match,))], NOW + timedelta(hours=6))
    day = int(NOW.timestamp()) // 86400
    utc = sorted(store.article_days(NOW - timedelta(days=1)), key=lambda c: (c.key, c.day))
    assert utc == [DayCount("other", day, 1), DayCount("wire", day, 2)]
    local = sorted(
        store.article_days(NOW - timedelta(days=1), offset=7 * 3600), key=lambda c: (c.key, c.day)
    )
    assert local == [
        DayCount("other", day + 1, 1),
        DayCount("wire", day, 1),
        DayCount("wire", day + 1, 1),
    ]
    assert store.article_days(NOW - timedelta(days=1), source="other") == [
        DayCount("other", day, 1)
    ]
    assert sorted(store.match_days(NOW, offset=7 * 3600), key=lambda c: c.day) == [
        DayCount("asean", day, 1),
        DayCount("asean", day + 1, 1),
    ]
    articles, alerts = store.activity_since(NOW + timedelta(hours=1))
    assert (articles, alerts) == (2, {"pending": 1})


def test_recent_matches_merge_the_channels_of_one_story(store: Store) -> None:
    ids = add_sources(store, "wire")
    deliveries = tuple(
        DeliveryIn("asean", channel, "instant", ("ASEAN",), "an ASEAN story", ((3, 8),))
        for channel in ("mail", "tg")
    )
    store.ingest(ids["wire"], [Candidate(article("a", title="ASEAN meets"), deliveries)], NOW)
    store.ingest(ids["wire"], [Candidate(article("b"), deliveries[:1])], NOW + timedelta(minutes=1))
    first, second = store.recent_matches()
    assert first.article.title == "Story b"
    assert second.article.title == "ASEAN meets"
    assert second.channels == (("mail", "pending"), ("tg", "pending"))
    assert second.spans == ((3, 8),)
    assert [m.article.title for m in store.recent_matches(limit=1, offset=1)] == ["ASEAN meets"]
    assert store.recent_matches("other") == []
    assert [a.title for a in store.recent_articles("wire", limit=1)] == ["Story b"]
