"""Text folding for matching: NFKC, casefold and diacritic folding, keeping offsets.

Matching runs on a folded copy of the text; hits must map back to the original
for snippets, so folding is done per character with a map from each folded
character to the original index.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Folded", "fold", "fold_term", "is_spaceless"]

# Combining diacritical marks only: folding "é" to "e" must not strip the vowel
# signs of Khmer, Thai or Devanagari, which are combining marks too.
_DIACRITICS = range(0x0300, 0x0370)

# Scripts written without spaces between words: a term in one of them matches
# as a substring. Thai, Lao, Myanmar, Khmer, CJK, kana, Hangul is spaced (excluded).
_SPACELESS = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x19E0, 0x19FF),  # Khmer symbols
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified
    (0xF900, 0xFAFF),  # CJK compatibility
)


@dataclass(frozen=True, slots=True)
class Folded:
    """Folded text and, for each of its characters, the index in the original."""

    text: str
    origin: tuple[int, ...] | None  # None: identity (ASCII fast path)

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of the folded text back to the original text."""
        if self.origin is None:
            return start, end
        if start >= len(self.origin):
            return len(self.origin), len(self.origin)
        last = self.origin[max(start, end - 1)]
        return self.origin[start], last + 1


@lru_cache(maxsize=65536)
def _fold_char(ch: str, casefold: bool) -> str:
    decomposed = unicodedata.normalize("NFKD", ch)
    kept = "".join(c for c in decomposed if ord(c) not in _DIACRITICS)
    if casefold:
        kept = kept.casefold()
    return unicodedata.normalize("NFKC", kept)


def fold(text: str, *, casefold: bool = True) -> Folded:
    """Fold `text` for matching (NFKC, diacritics removed, casefolded unless told not to)."""
    if text.isascii():
        return Folded(text.lower() if casefold else text, None)
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        folded = ch if ch.isascii() else _fold_char(ch, casefold)
        if casefold and ch.isascii():
            folded = ch.lower()
        out.append(folded)
        origin.extend([i] * len(folded))
    return Folded("".join(out), tuple(origin))


def fold_term(term: str, *, casefold: bool = True) -> str:
    """Fold a query term the same way as the text it is matched against."""
    return fold(term.strip(), casefold=casefold).text


def is_spaceless(term: str) -> bool:
    """True when the term contains a character of a script written without spaces."""
    return any(lo <= ord(c) <= hi for c in term for lo, hi in _SPACELESS)
