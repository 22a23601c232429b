"""One document scanned by the engine: which patterns hit, and where, on demand.

The document's fields are folded and written, one stream per fold mode, with a
space for every separator (``" title toks \\x1f summary toks \\x1f body toks "``,
`monitor.match.text.separated`) and scanned once by the engine's automaton. Which
patterns hit is known at once; where they hit (the segment, for field atoms; the
distance in words, for ``NEAR``; the tokens, for snippets) is worked out only for
the patterns that a rule asks about, from the stream.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter

from monitor.match.compiled import DEFAULT_FIELDS, FIELD_MASKS, SEGMENTS, Compiled
from monitor.match.text import SEGMENT_MARK, fold_text, separated

__all__ = ["DEFAULT_FIELDS", "FIELD_MASKS", "SEGMENTS", "Hit", "Scan"]


@dataclass(frozen=True, slots=True)
class Hit:
    """One occurrence: its segment and its [start, end) in the scanned stream."""

    segment: int
    start: int
    end: int  # a prefix hit ends with its word


# One stream scanned: (casefold, first segment, stream, hits, spread hits).
_Stream = tuple[bool, int, str, list[tuple[int, int]], list[tuple[int, int, int]]]


class Scan:
    """One document scanned: the patterns that hit, and their positions on demand."""

    __slots__ = ("_compiled", "_positions", "_streams", "meta_pids", "pids")

    def __init__(self, compiled: Compiled, segments: Sequence[str]) -> None:
        self._compiled = compiled
        self._streams: list[_Stream] = []
        self._positions: dict[int, list[tuple[str, Hit]]] = {}
        self.pids: set[int] = set()  # patterns that hit in title, summary or body
        self.meta_pids: set[int] = set()  # ... in url, author or source
        for casefold, base, automaton, first_words in compiled.plan:
            first, second, third = segments[base : base + 3]
            text = first + _JOIN + second + _JOIN + third
            if text.count(SEGMENT_MARK) != 2:  # the mark is ours; drop any in the text
                text = _JOIN.join(p.replace(SEGMENT_MARK, " ") for p in (first, second, third))
            folded = fold_text(text, casefold=casefold)
            if first_words.absent(folded):
                continue
            stream = separated(folded)
            hits = list(automaton.iter(stream))
            found = set(map(_second, hits))
            spread: list[tuple[int, int, int]] = []
            if compiled.spread and found and min(found) < 0:
                spread = self._spread(stream, hits)
                found = {pid for pid in found if pid >= 0}
                found.update(pid for pid, _, _ in spread)
            self._streams.append((casefold, base, stream, hits, spread))
            if base:
                self.meta_pids |= found
            else:
                self.pids = self.pids | found if self.pids else found

    def _spread(self, stream: str, hits: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
        """(pattern, start, end) of the phrases whose words are more than one space apart."""
        out = []
        patterns = self._compiled.patterns
        for end, key in hits:
            if key >= 0:
                continue
            length, checks = self._compiled.spread[-1 - key]
            for pid, rest in checks:
                found = rest.match(stream, end + 1)
                if found is not None:
                    out.append((pid, end + 1 - length + patterns[pid].lead, found.end()))
        return out

    def atom(self, atom: int) -> bool:
        """Whether the atom's pattern hit in one of the atom's fields."""
        pid, mask, _ = self._compiled.atoms[atom]
        if mask == DEFAULT_FIELDS:
            return pid in self.pids
        if pid not in (self.pids if mask & DEFAULT_FIELDS else self.meta_pids):
            return False
        return any(mask >> h.segment & 1 for _, h in self.positions(pid))

    def near(self, index: int) -> bool:
        """Whether NEAR number `index` of the rule set holds."""
        _, left, right, distance = self._compiled.nears[index]
        lefts = [h for a in left for h in self.atom_hits(a)]
        if not lefts:
            return False
        rights = [h for a in right for h in self.atom_hits(a)]
        return any(_near(s, a, b, distance) for s, a in lefts for _, b in rights)

    def atom_hits(self, atom: int) -> list[tuple[str, Hit]]:
        """The hits of an atom in its fields, each with the stream it is in."""
        pid, mask, _ = self._compiled.atoms[atom]
        if pid not in self.pids and pid not in self.meta_pids:
            return []
        return [(s, h) for s, h in self.positions(pid) if mask >> h.segment & 1]

    def positions(self, pid: int) -> list[tuple[str, Hit]]:
        """Every hit of a pattern, with its stream, in document order (worked out once)."""
        found = self._positions.get(pid)
        if found is not None:
            return found
        pattern = self._compiled.patterns[pid]
        found = []
        for casefold, base, stream, hits, spread in self._streams:
            if casefold is not pattern.casefold:
                continue
            spans = [
                (end + 1 - len(pattern.key) + pattern.lead, end + 1) for end, p in hits if p == pid
            ]
            spans.extend((start, end) for p, start, end in spread if p == pid)
            if not spans:
                continue
            mark = stream.index(SEGMENT_MARK)
            starts = [0, mark + 1, stream.index(SEGMENT_MARK, mark + 1) + 1]
            for start, end in spans:
                end -= pattern.trail
                if pattern.prefix:  # the whole word, not just the prefix
                    end = stream.find(" ", end)
                found.append((stream, Hit(base + bisect_right(starts, start) - 1, start, end)))
        found.sort(key=lambda sh: (sh[1].segment, sh[1].start))
        self._positions[pid] = found
        return found

    def tokens(self, stream: str, hit: Hit) -> tuple[tuple[int, int], tuple[int, int]]:
        """(token, offset in token) of the first and last character of a hit in its segment."""
        mark = -1
        for _ in range(hit.segment % 3):
            mark = stream.index(SEGMENT_MARK, mark + 1)
        return _token_at(stream, mark + 1, hit.start), _token_at(stream, mark + 1, hit.end - 1)


_JOIN = f" {SEGMENT_MARK} "
_second = itemgetter(1)


def _token_at(stream: str, segment_start: int, index: int) -> tuple[int, int]:
    """(token number within the segment, offset within the token) of a stream index."""
    token = len(stream[segment_start : index + 1].split()) - 1
    offset = index - stream.rfind(" ", segment_start, index) - 1
    return token, offset


def _near(stream: str, a: Hit, b: Hit, distance: int) -> bool:
    """Whether two hits of one stream have at most `distance` whole tokens between them."""
    if a.segment != b.segment or a == b:
        return False
    if b.start < a.start:
        a, b = b, a
    if b.start < a.end:
        return True  # overlapping distinct hits
    gap = stream[a.end : b.start]
    if " " not in gap:
        return True  # in the same token of a script without spaces
    # A part-token at either end belongs to a hit's own token; maxsplit stops counting early.
    words = len(gap.split(None, distance + 2))
    return words - (gap[0] != " ") - (gap[-1] != " ") <= distance
