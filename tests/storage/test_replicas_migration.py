"""Migration 0006: a 0005 database with sources, leases and deliveries upgrades in place."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic import command

from storage import Store
from storage.engine import writer
from storage.migrate import alembic_config, current_revision, upgrade
from tests.storage.builders import NOW, add_sources, alerting, article

LATER = NOW + timedelta(minutes=10)


def test_upgrading_a_0005_database_keeps_its_rows_and_leases(db_url: str) -> None:
    store = Store(db_url)
    try:
        upgrade(store.engine, "0005")
        ids = add_sources(store, "fresh-news", "khmer-daily")
        store.ingest(ids["fresh-news"], alerting([article("a"), article("b")], "asean"), NOW)
        # What a 0005 daemon leaves behind: one source and one delivery leased.
        with store.engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE source SET lease_until = :t WHERE name = 'fresh-news'"),
                {"t": LATER.replace(tzinfo=None)},
            )
            conn.execute(
                sa.text(
                    "UPDATE delivery SET status = 'sending', lease_until = :t "
                    "WHERE id = (SELECT min(id) FROM delivery)"
                ),
                {"t": LATER.replace(tzinfo=None)},
            )

        upgrade(store.engine, "0006")

        assert current_revision(store.engine) == "0006"
        assert store.replicas(NOW) == []
        # The old leases still hold, with nobody named as their holder.
        assert [s.name for s in store.claim_due_sources(NOW, claimant="r1")] == ["khmer-daily"]
        [pending] = store.claim_deliveries(NOW, claimant="r1")
        assert store.replicas(NOW) == []  # r1 sent no heartbeat
        store.mark_sent([pending.id], NOW)
        assert store.delivery_counts()["sent"] == 1
        assert store.claim_job("retention", "2025-03-01", "r1", NOW) is True
    finally:
        store.close()


def test_downgrading_0006_removes_the_replica_tables_and_columns(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        add_sources(store, "fresh-news")
        store.claim_sources(None, NOW, claimant="r1")
        config = alembic_config()
        with writer(store.engine).begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0005")
        inspector = sa.inspect(store.engine)
        assert not {"replica", "job_run"} & set(inspector.get_table_names())
        for table in ("source", "delivery"):
            assert "claimed_by" not in {c["name"] for c in inspector.get_columns(table)}
        upgrade(store.engine, "0006")
        assert current_revision(store.engine) == "0006"
        assert [s.name for s in store.claim_due_sources(NOW, claimant="r2")] == []  # leased
    finally:
        store.close()
