"""Time as the contract shows it: ISO 8601 in UTC with a Z (DESIGN §9)."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["iso"]


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, e.g. 2023-09-13T06:30:00Z; None stays None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    text = value.astimezone(UTC).isoformat(timespec="seconds")
    return text.replace("+00:00", "Z")
