"""Diacritic folding for the PostgreSQL full-text index, matching SQLite FTS5.

FTS5's ``unicode61 remove_diacritics 2`` folds Latin letters that decompose
into a base letter and marks ("Pénh" → "penh", "Nẵng" → "nang") and leaves the
rest ("Đ", "ł", "ø"). PostgreSQL's 'simple' configuration folds nothing, so the
index and the queries pass text through ``translate(text, FOLD_FROM, FOLD_TO)``.
The table is derived from Unicode canonical decompositions, which the Unicode
stability policy freezes, so the migration that embeds it never goes stale.
"""

from __future__ import annotations

import unicodedata
from itertools import chain

__all__ = ["FOLD_FROM", "FOLD_TO", "fold"]


def _fold_table() -> tuple[str, str]:
    sources: list[str] = []
    targets: list[str] = []
    # Latin-1 Supplement, Latin Extended-A/B, Latin Extended Additional (Vietnamese).
    for code in chain(range(0xC0, 0x250), range(0x1E00, 0x1F00)):
        char = chr(code)
        base = unicodedata.normalize("NFD", char)[0]
        if base != char and base.isascii() and base.isalpha():
            sources.append(char)
            targets.append(base)
    return "".join(sources), "".join(targets)


FOLD_FROM, FOLD_TO = _fold_table()
_TABLE = str.maketrans(FOLD_FROM, FOLD_TO)


def fold(text: str) -> str:
    """`text` with the same diacritics removed as the PostgreSQL index removes."""
    return unicodedata.normalize("NFC", text).translate(_TABLE)
