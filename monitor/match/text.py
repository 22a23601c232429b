"""The text model of matching: folding, tokens and the token stream the scanner reads.

Text and query terms are folded the same way: NFKC, diacritics removed, casefolded
(unless a rule is case-sensitive). A token is a run of word characters (letters,
digits, ``_`` and combining marks); a run in a script written without spaces
(Thai, Lao, Myanmar, Khmer, Chinese, Japanese) is a token of its own even when it
touches Latin letters. `separated` writes a folded text with a space for every
separator (and between scripts), so a whole word is simply ``" word "`` to a
multi-pattern scanner and no per-hit boundary check is needed; `token_stream`
also collapses the runs of spaces, one space between tokens.

Scanning uses the fast whole-string fold; only a document that matched is
tokenised again on its original text (`token_map`) to place the hits.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from dataclasses import dataclass
from functools import cache, lru_cache

__all__ = [
    "SEGMENT_MARK",
    "Folded",
    "TokenMap",
    "fold",
    "fold_term",
    "fold_text",
    "is_spaceless",
    "separated",
    "term_tokens",
    "token_map",
    "token_stream",
]

# Combining diacritical marks only: folding "é" to "e" must not strip the vowel
# signs of Khmer, Thai or Devanagari, which are combining marks too.
_DIACRITICS = range(0x0300, 0x0370)
_DIACRITICS_RE = re.compile("[\u0300-\u036f]+")
_NOT_ASCII = re.compile("[^\x00-\x7f]")

# Scripts written without spaces between words: a term in one of them matches
# as a substring. Thai, Lao, Myanmar, Khmer, CJK, kana; Hangul is spaced (excluded).
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
_SL = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _SPACELESS)
_HAS_SPACELESS = re.compile(f"[{_SL}]")

# ASCII: everything but letters, digits and "_" separates tokens.
# Between the fields of one stream; kept by folding and tokenising, never inside a pattern.
SEGMENT_MARK = "\x1f"
_ASCII_SEPARATORS = bytes(
    byte if chr(byte).isalnum() or byte in (0x5F, 0x1F) or byte >= 0x80 else 0x20
    for byte in range(256)
)


@cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """Script boundaries, tokens, and tokens of a text without spaceless scripts
    (the same tokens there, found ~5x faster without a look-ahead per character;
    built on first use: ~20 ms)."""
    marks = [
        c
        for c in range(0x80, 0x30000)
        if unicodedata.category(chr(c))[0] == "M" and not chr(c).isalnum()
    ]
    ranges: list[tuple[int, int]] = []
    for c in marks:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1] = (ranges[-1][0], c)
        else:
            ranges.append((c, c))
    mark_class = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in ranges)
    spaceless_word = f"(?:(?=[{_SL}])[\\w{mark_class}])"
    other_word = f"(?:(?![{_SL}])[\\w{mark_class}])"
    boundaries = re.compile(
        f"(?<={spaceless_word})(?={other_word})|(?<={other_word})(?={spaceless_word})"
    )
    tokens = re.compile(f"{spaceless_word}+|{other_word}+")
    return boundaries, tokens, re.compile(f"[\\w{mark_class}]+")


@dataclass(frozen=True, slots=True)
class Folded:
    """Folded text and, for each of its characters, the index in the original."""

    text: str
    # None: identity (ASCII fast path). An array, not a tuple of ints: an int object
    # per character made a 5 MB title cost ~200 MB.
    origin: array[int] | None

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
    """Fold `text` character by character, keeping where each folded character came from."""
    if text.isascii():
        return Folded(text.lower() if casefold else text, None)
    out: list[str] = []
    origin = array("I")
    done = 0
    # ASCII runs fold as a whole; a string per character cost ~70 bytes each.
    for found in _NOT_ASCII.finditer(text):
        i = found.start()
        if done < i:
            run = text[done:i]
            out.append(run.lower() if casefold else run)
            origin.extend(range(done, i))
        folded = _fold_char(found.group(), casefold)
        out.append(folded)
        origin.extend([i] * len(folded))
        done = i + 1
    run = text[done:]
    out.append(run.lower() if casefold else run)
    origin.extend(range(done, len(text)))
    return Folded("".join(out), origin)


def fold_text(text: str, *, casefold: bool = True) -> str:
    """Fold a whole text at C speed (NFKD, diacritics dropped, casefold, NFKC)."""
    if text.isascii():
        return text.lower() if casefold else text
    text = _DIACRITICS_RE.sub("", unicodedata.normalize("NFKD", text))
    if casefold:
        text = text.casefold()
    return unicodedata.normalize("NFKC", text)


def separated(folded: str) -> str:
    """Folded text with a space for every separator, framed by spaces: ``" tok,  tok "``.

    Every token has a space on both sides, so a whole word is ``" word "`` to a
    multi-pattern scanner; unlike `token_stream`, runs of spaces are kept
    (collapsing them costs more than folding the text).
    """
    raw = folded.encode("utf-8")
    spaceless = False
    if len(raw) != len(folded):
        # Few distinct characters are not ASCII: dropping every ASCII byte leaves just
        # them, at C speed; classify each once and blank out the separators.
        text = folded
        for ch in set(raw.translate(None, _ASCII_BYTES).decode("utf-8")):
            kind = _kind(ch)
            if kind == _SEPARATOR:
                text = text.replace(ch, " ")
            spaceless = spaceless or kind == _SPACELESS_WORD
        if text is not folded:
            raw = text.encode("utf-8")
    text = " " + raw.translate(_ASCII_SEPARATORS).decode("utf-8") + " "
    return _patterns()[0].sub(" ", text) if spaceless else text


def token_stream(folded: str) -> str:
    """The tokens of folded text as ``" tok tok "``: one space around every token."""
    text = separated(folded)
    while "  " in text:
        text = text.replace("  ", " ")
    return text


_ASCII_BYTES = bytes(range(128))
_SEPARATOR, _WORD, _SPACELESS_WORD = range(3)


@lru_cache(maxsize=65536)
def _kind(ch: str) -> int:
    if not (ch.isalnum() or unicodedata.category(ch)[0] == "M"):
        return _SEPARATOR
    return _SPACELESS_WORD if _HAS_SPACELESS.match(ch) else _WORD


def term_tokens(term: str, *, casefold: bool = True) -> list[str]:
    """The folded tokens of a query term."""
    return token_stream(fold_text(term, casefold=casefold)).split()


@dataclass(frozen=True, slots=True)
class TokenMap:
    """Where each token of the stream of a text sits in the original text."""

    folded: Folded
    # start, end, start, end, ... of each token in `folded.text`, flat and unboxed:
    # a tuple of pairs held ~100 bytes per token.
    spans: array[int]

    def original_span(
        self, first: tuple[int, int], last: tuple[int, int]
    ) -> tuple[int, int] | None:
        """The original span from (token, offset) `first` to (token, offset) `last`, inclusive."""
        count = len(self.spans) // 2
        if first[0] >= count or last[0] >= count:
            return None
        start = self.spans[2 * first[0]] + first[1]
        end = self.spans[2 * last[0]] + last[1] + 1
        return self.folded.original_span(start, end)


def token_map(text: str, *, casefold: bool = True) -> TokenMap:
    """The tokens of `text` as `token_stream` sees them, placed in the original text."""
    folded = fold(text, casefold=casefold)
    spans = array("I")
    _, tokens, plain_tokens = _patterns()
    if not _HAS_SPACELESS.search(folded.text):
        tokens = plain_tokens
    for match in tokens.finditer(folded.text):
        spans.extend(match.span())
    return TokenMap(folded, spans)


def fold_term(term: str, *, casefold: bool = True) -> str:
    """Fold a query term the same way as the text it is matched against."""
    return fold(term.strip(), casefold=casefold).text


def is_spaceless(term: str) -> bool:
    """True when the term contains a character of a script written without spaces."""
    return _HAS_SPACELESS.search(term) is not None
