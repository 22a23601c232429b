"""The storage exception root. Foreign (SQLAlchemy, driver) errors are translated here."""

from __future__ import annotations

__all__ = ["StorageError"]


class StorageError(Exception):
    """A database operation failed; the message names the operation."""
