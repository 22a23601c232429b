"""Failed article pages and paused sources in the store; migration 0008."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from alembic import command

from storage import Store
from storage.engine import writer
from storage.migrate import alembic_config, current_revision, head_revision, upgrade
from storage.types import PageFailureIn
from tests.storage.builders import NOW, add_sources

HOUR = timedelta(hours=1)


def test_a_failed_page_waits_for_its_retry_and_a_fetched_one_is_forgotten(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        wire = add_sources(store, "wire")["wire"]
        failed = [PageFailureIn("https://e.org/a", "https://e.org/a", "HTTP 404 Not Found")]
        tries: list[int] = []

        def backoff(at: datetime) -> Callable[[int], datetime]:
            def retry_at(failures: int) -> datetime:
                tries.append(failures)
                wait: timedelta = HOUR * 2 ** (failures - 1)
                return at + wait

            return retry_at

        store.record_pages(wire, failed, [], NOW, backoff(NOW))
        keys = ["https://e.org/a", "https://e.org/b"]
        assert store.failing_pages(wire, keys, NOW) == {"https://e.org/a": "HTTP 404 Not Found"}
        assert store.pages_due(wire, NOW) is False
        assert store.pages_due(wire, NOW + HOUR) is True
        assert store.failing_pages(wire, keys, NOW + HOUR) == {}
        # A second failure in a row waits twice as long: until 3 h after NOW.
        store.record_pages(wire, failed, [], NOW + HOUR, backoff(NOW + HOUR))
        assert tries == [1, 2]
        assert store.pages_due(wire, NOW + 2 * HOUR) is False
        assert store.pages_due(wire, NOW + 3 * HOUR) is True
        # Fetched at last: forgotten.
        store.record_pages(wire, [], ["https://e.org/a"], NOW + 3 * HOUR, backoff(NOW))
        assert store.failing_pages(wire, keys, NOW) == {}
    finally:
        store.close()


def test_a_failed_page_the_source_no_longer_lists_is_forgotten(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        wire = add_sources(store, "wire")["wire"]
        failed = [PageFailureIn("https://e.org/old", "https://e.org/old", "HTTP 404 Not Found")]
        store.record_pages(wire, failed, [], NOW, lambda n: NOW + HOUR)
        store.record_pages(wire, [], [], NOW, lambda n: NOW + HOUR, listed={"https://e.org/new"})
        assert store.pages_due(wire, NOW + 2 * HOUR) is False
    finally:
        store.close()


def test_a_paused_source_is_neither_claimed_nor_held_and_lists_as_paused(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        add_sources(store, "wire", "other")
        assert store.set_paused(["wire", "nope"], True) == ["wire"]
        assert [s.name for s in store.claim_due_sources(NOW)] == ["other"]
        assert store.claim_sources(["wire"], NOW) == []
        assert store.paused_sources(None) == ["wire"]
        assert {s.name: s.status for s in store.source_statuses(NOW)}["wire"] == "paused"
        assert store.next_poll() is not None
        store.set_paused(["wire"], False)
        assert store.paused_sources(None) == []
    finally:
        store.close()


def test_downgrading_0008_removes_the_page_failures_and_the_new_source_columns(
    db_url: str,
) -> None:
    store = Store.open(db_url)
    try:
        add_sources(store, "wire")
        config = alembic_config()
        with writer(store.engine).begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0007")
        inspector = sa.inspect(store.engine)
        assert "page_failure" not in inspector.get_table_names()
        columns = {c["name"] for c in inspector.get_columns("source")}
        assert not {"paused", "detected_kind"} & columns
        store.upgrade()
        assert current_revision(store.engine) == head_revision()
        assert [s.name for s in store.claim_due_sources(NOW)] == ["wire"]  # rows kept
    finally:
        store.close()


def test_a_0006_database_upgrades_with_its_sources_unpaused(db_url: str) -> None:
    store = Store(db_url)
    try:
        upgrade(store.engine, "0006")
        add_sources(store, "wire")
        store.upgrade()
        assert [(s.name, s.status) for s in store.source_statuses(NOW)] == [("wire", "ok")]
    finally:
        store.close()
