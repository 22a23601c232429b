"""Alembic migrations for the newsmon schema; run them with `storage.migrate.upgrade`."""

from __future__ import annotations

__all__: list[str] = []
