"""Similarity fingerprints: is this article a copy of one stored before (pure).

An outlet that republishes wire copy changes the headline, adds a "first
published by" line, trims a paragraph and rewords a date; the text stays
mostly the same word sequence. The fingerprint is a MinHash sketch of the
article's word 3-shingles (runs of three words of the normalised title and
body: NFKC, casefolded, punctuation gone; runs of short words only, such as
"of the", left out), built with one-permutation hashing: each shingle is
hashed once, the hash picks one of 256 bins and the bin keeps its smallest
value. Two sketches agree in a bin with probability equal to the Jaccard
similarity of the two shingle sets, so the share of agreeing bins estimates it.

`band_keys` cuts the sketch into 85 LSH bands of 3 bins; two articles that may
be the same story share a band key with high probability, so storage finds
candidates through an index on the keys, not a scan. `same_story` is the
decision. Parameters and threshold were chosen on one half of a labelled set
and reported on the other by `bench/clusters.py`.

Everything here is deterministic across processes and machines: hashes are
BLAKE2b of UTF-8 text, never Python's salted `hash()`. Work is bounded: at
most `MAX_WORDS` words are read, and the text is scanned once.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
from dataclasses import dataclass

__all__ = [
    "FINGERPRINT_VERSION",
    "MAX_WORDS",
    "MIN_SHINGLES",
    "MIN_WORDS",
    "SCHEME",
    "THRESHOLD",
    "Scheme",
    "band_keys",
    "fingerprint",
    "normalise_words",
    "same_story",
    "similarity",
]

FINGERPRINT_VERSION = 1
MIN_WORDS = 20  # fewer words than this say too little to compare
MIN_SHINGLES = 10  # nor do fewer distinct shingles ("10 20 30 ...", a repeated line)
MAX_WORDS = 2_000  # words read from title + text; later ones are ignored
# The raw text read before splitting into words: a word is rarely longer than
# this on average, and the cap keeps normalising a huge body cheap.
_MAX_CHARS = MAX_WORDS * 16
_HEADER = struct.Struct(">BH")  # version, number of distinct shingles (capped)
_EMPTY = 1 << 64
_MASK64 = (1 << 64) - 1
# Odd 64-bit constants, one per position in a shingle (so at most 6 words).
_FACTORS = (
    0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
    0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53,
)  # fmt: skip
# A "word": a run of letters and digits; scripts written without spaces (CJK,
# Thai, ...) are split into single characters so they still form shingles.
_WORD = re.compile(r"[^\W_]+")
_UNSPACED = re.compile(
    r"[\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff"
    r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)


@dataclass(frozen=True)
class Scheme:
    """One choice of fingerprint parameters; `SCHEME` is the one newsmon uses.

    `bench/clusters.py` compares other schemes on one half of its labelled
    set and reports the chosen one on the other half.
    """

    shingle: int = 3  # words per shingle
    bins: int = 256  # sketch size, a power of two (one 32-bit value per bin)
    rows: int = 3  # bins per LSH band
    threshold: float = 0.23  # estimated similarity at or above which: one story
    short: int = 3  # shingles of words this short only are left out (0: none are)

    @property
    def bands(self) -> int:
        return self.bins // self.rows

    def shingles(self, title: str, text: str) -> set[int] | None:
        """64-bit hashes of the shingles of title and text; None when too short."""
        title_words = _words(title[:_MAX_CHARS])[:MAX_WORDS]
        body_words = _words(text[:_MAX_CHARS])[: MAX_WORDS - len(title_words)]
        if len(title_words) + len(body_words) < MIN_WORDS:
            return None
        # Title and body are shingled apart: no shingle spans the two.
        hashes = _shingle_hashes(title_words, self.shingle, self.short) | _shingle_hashes(
            body_words, self.shingle, self.short
        )
        return hashes if len(hashes) >= MIN_SHINGLES else None

    def sketch(self, hashes: set[int]) -> bytes:
        """The fingerprint of a set of shingle hashes."""
        values = _one_permutation_minhash(hashes, self.bins)
        header = _HEADER.pack(FINGERPRINT_VERSION, min(len(hashes), 0xFFFF))
        return header + struct.pack(f">{self.bins}I", *values)

    def fingerprint(self, title: str, text: str) -> bytes | None:
        hashes = self.shingles(title, text)
        return None if hashes is None else self.sketch(hashes)

    def band_keys(self, fp: bytes) -> list[int]:
        values = self._values(fp)
        keys = []
        for band in range(self.bands):
            rows = values[band * self.rows : (band + 1) * self.rows]
            digest = hashlib.blake2b(
                struct.pack(f">H{self.rows}I", band, *rows), digest_size=8, person=b"newsmon-band"
            ).digest()
            keys.append(int.from_bytes(digest, "big", signed=True))
        return keys

    def similarity(self, a: bytes, b: bytes) -> float:
        self._check(a)
        self._check(b)
        # All bins at once on big integers: XOR, then fold each 32-bit lane onto
        # its lowest bit (right shifts of 31 in all never reach the next lane's
        # lowest bit); a lane left 0 is a bin the two sketches agree on.
        lanes = int.from_bytes(a[_HEADER.size :], "big") ^ int.from_bytes(b[_HEADER.size :], "big")
        for shift in (16, 8, 4, 2, 1):
            lanes |= lanes >> shift
        differ = (lanes & int.from_bytes(b"\0\0\0\1" * self.bins, "big")).bit_count()
        return (self.bins - differ) / self.bins

    def _check(self, fp: bytes) -> None:
        if len(fp) != _HEADER.size + 4 * self.bins or fp[0] != FINGERPRINT_VERSION:
            raise ValueError(
                f"fingerprint: not a version {FINGERPRINT_VERSION} fingerprint "
                f"({len(fp)} bytes, version {fp[0] if fp else None})"
            )

    def _values(self, fp: bytes) -> tuple[int, ...]:
        self._check(fp)
        return struct.unpack_from(f">{self.bins}I", fp, _HEADER.size)


SCHEME = Scheme()
THRESHOLD = SCHEME.threshold


def fingerprint(title: str, text: str) -> bytes | None:
    """The similarity fingerprint of an article, or None when it has too few words."""
    return SCHEME.fingerprint(title, text)


def band_keys(fp: bytes) -> list[int]:
    """One signed 64-bit key per LSH band, the band's index mixed in."""
    return SCHEME.band_keys(fp)


def similarity(a: bytes, b: bytes) -> float:
    """The estimated Jaccard similarity of two articles' shingle sets, in [0, 1]."""
    return SCHEME.similarity(a, b)


def same_story(a: bytes, b: bytes) -> bool:
    """Whether two fingerprints are close enough to be copies of one story."""
    return SCHEME.similarity(a, b) >= SCHEME.threshold


def normalise_words(text: str) -> list[str]:
    """The words of `text` as they are shingled: NFKC, casefolded, punctuation gone."""
    return _words(text)


def _words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKC", text).casefold()
    if not _UNSPACED.search(folded):  # the common case: one pass, no per-word check
        words = _WORD.findall(folded)
        return words[:MAX_WORDS]
    words = []
    for match in _WORD.finditer(folded):
        word = match.group()
        if _UNSPACED.search(word):
            words.extend(_split_unspaced(word))
        else:
            words.append(word)
        if len(words) >= MAX_WORDS:
            break
    return words


def _split_unspaced(word: str) -> list[str]:
    """Unspaced-script characters one by one; runs of other letters stay whole."""
    parts: list[str] = []
    start = 0
    for match in _UNSPACED.finditer(word):
        if match.start() > start:
            parts.append(word[start : match.start()])
        parts.append(match.group())
        start = match.end()
    if start < len(word):
        parts.append(word[start:])
    return parts


def _shingle_hashes(words: list[str], shingle: int, short: int = 0) -> set[int]:
    """64-bit hashes of each run of `shingle` words (the whole text when shorter).

    Runs made only of words of at most `short` letters ("of the", "in a") are
    left out: nearly every article has them, so they only make unrelated
    articles look alike. A character of an unspaced script is never short.
    Each distinct word is hashed once (BLAKE2b); a run's hash is a fixed
    linear combination of its words' hashes, so position matters.
    """
    if not words:
        return set()
    width = min(shingle, len(words))
    count = len(words) - width + 1
    known: dict[str, tuple[int, int]] = {}
    hashed, longs = [], []
    for word in words:
        seen = known.get(word)
        if seen is None:
            digest = hashlib.blake2b(word.encode("utf-8", "surrogatepass"), digest_size=8)
            is_long = not short or len(word) > short or bool(_UNSPACED.match(word))
            seen = known[word] = (int.from_bytes(digest.digest(), "big"), int(is_long))
        hashed.append(seen[0])
        longs.append(seen[1])
    totals, long_words = [0] * count, [0] * count
    for offset in range(width):
        factor = _FACTORS[offset]
        window = slice(offset, offset + count)
        totals = [acc + value * factor for acc, value in zip(totals, hashed[window], strict=True)]
        long_words = [n + flag for n, flag in zip(long_words, longs[window], strict=True)]
    return {total & _MASK64 for total, n in zip(totals, long_words, strict=True) if n}


def _mix(value: int) -> int:
    """SplitMix64's finaliser: every input bit moves every output bit."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


def _one_permutation_minhash(hashes: set[int], bins: int) -> list[int]:
    """One-permutation MinHash with densification, as `bins` 32-bit values."""
    if not hashes:
        return [0] * bins
    bin_bits = bins.bit_length() - 1
    value_mask = (1 << (64 - bin_bits)) - 1
    minima = [_EMPTY] * bins
    for value in hashes:
        index = value >> (64 - bin_bits)
        rest = value & value_mask
        if rest < minima[index]:
            minima[index] = rest
    # An empty bin borrows the value of the next non-empty bin (rotating to the
    # right), salted with the distance so borrowed values differ from the
    # lender's; two sketches of the same set borrow identically.
    sketch = [0] * bins
    for index in range(bins):
        distance = 0
        while minima[(index + distance) % bins] == _EMPTY:
            distance += 1
        value = minima[(index + distance) % bins]
        if distance:
            value = _mix(value ^ (distance << 57))
        sketch[index] = value & 0xFFFFFFFF
    return sketch
