"""Migrations, engine settings and opening failures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from storage import StorageError, Store
from storage.migrate import current_revision, head_revision
from storage.models import metadata

TABLES = {
    "source",
    "article",
    "sighting",
    "delivery",
    "backfill",
    "replica",
    "job_run",
    "poll_event",
    "story_band",
    "alembic_version",
}


def test_migrations_create_the_schema_and_upgrade_is_idempotent(db_url: str) -> None:
    store = Store(db_url)
    try:
        assert current_revision(store.engine) is None
        store.upgrade()
        store.upgrade()
        assert current_revision(store.engine) == head_revision() == "0010"
        assert set(sa.inspect(store.engine).get_table_names()) >= TABLES
    finally:
        store.close()
    Store.open(db_url).close()  # opening an up-to-date database changes nothing


# SQLite cannot reflect expression indexes: there `ix_article_newest` is checked by
# test_search_plan.py's query plans instead.
@pytest.mark.filterwarnings("ignore:.*expression-based index ix_article_newest")
@pytest.mark.filterwarnings("ignore:autogenerate skipping.*'ix_article_newest'")
def test_models_and_migrations_agree(store: Store) -> None:
    def ours(obj: object, name: str | None, type_: str, *_: object) -> bool:
        # The full-text index is dialect-specific and lives only in the migration.
        return not (name or "").startswith(("article_fts", "search_tsv", "ix_article_search"))

    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": ours})
        assert compare_metadata(context, metadata) == []


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(sqlite_url: str) -> None:
    store = Store.open(sqlite_url)
    try:
        with store.engine.connect() as conn:
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
    finally:
        store.close()
    assert pragma == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 30000,
        "synchronous": 1,
    }


def test_sqlite_foreign_keys_are_enforced(sqlite_url: str) -> None:
    store = Store.open(sqlite_url)
    try:
        with (
            pytest.raises(sa.exc.IntegrityError, match="FOREIGN KEY"),
            store.engine.begin() as conn,
        ):
            conn.exec_driver_sql(
                "INSERT INTO sighting (article_id, source_id, guid, url, seen_at) "
                "VALUES (999, 999, 'g', 'u', '2025-01-01 00:00:00')"
            )
    finally:
        store.close()


def test_opening_a_database_in_a_missing_folder_names_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'newsmon.db'}"
    with pytest.raises(StorageError) as caught:
        Store.open(url)
    assert str(caught.value) == f"storage: cannot open database {url}: unable to open database file"


def test_database_errors_never_show_the_password() -> None:
    url = "postgresql+psycopg://newsmon:s3cret-pw@127.0.0.1:1/newsmon"
    with pytest.raises(StorageError) as caught:
        Store.open(url)
    message = str(caught.value)
    assert message.startswith(
        "storage: cannot open database postgresql+psycopg://newsmon:***@127.0.0.1:1/newsmon: "
    )
    assert "s3cret-pw" not in message


def test_a_plain_postgresql_url_uses_psycopg() -> None:
    assert Store("postgresql://u@127.0.0.1/db").url == "postgresql+psycopg://u@127.0.0.1/db"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@host/db", "storage: unsupported database mysql://u@host/db "),
        ("not a url", "storage: cannot open database <unparseable database URL>: Could not parse"),
    ],
)
def test_unusable_database_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(StorageError, match="^" + re.escape(message)):
        Store(url)


def test_ping_tells_whether_the_database_answers(store: Store, tmp_path: Path) -> None:
    assert store.ping() is True
    gone = Store(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    assert gone.ping() is False
