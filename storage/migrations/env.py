"""Alembic environment, driven programmatically by `storage.migrate` (no alembic.ini).

The caller hands over an open connection in ``config.attributes["connection"]``,
already inside a write transaction, so the whole upgrade is one transaction. On
PostgreSQL an advisory lock serialises replicas that start at the same moment;
on SQLite ``BEGIN IMMEDIATE`` already does. Running the ``alembic`` command
line instead works too, given ``sqlalchemy.url`` in its config.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from storage.engine import make_engine, writer
from storage.models import metadata

__all__: list[str] = []

# Any constant shared by every newsmon process; "newsmon" in ASCII.
_MIGRATION_LOCK_KEY = 0x6E6577736D6F6E


def _run(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    if context.is_offline_mode():
        raise RuntimeError("newsmon migrations run online only")
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with writer(engine).begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


_main()
