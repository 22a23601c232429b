"""Fixtures for the storage tests: a migrated store on a fresh database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from storage import Store


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated store, once on SQLite and once on PostgreSQL."""
    store = Store.open(db_url)
    yield store
    store.close()
