"""Migration scripts, oldest first; written by hand, dialect-aware where they must be."""

from __future__ import annotations

__all__: list[str] = []
