"""A compiled rule set: the patterns, atoms, trees and automata the engine builds.

Its own module so that the scanner (`scan`) and the engine (`engine`) both read
it without importing each other. Also the document fields a term may name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ahocorasick

from monitor.match.query import Term
from monitor.match.text import is_spaceless, term_tokens

__all__ = [
    "DEFAULT_FIELDS",
    "FIELD_MASKS",
    "SEGMENTS",
    "Compiled",
    "FirstWords",
    "Pattern",
    "Test",
    "Tree",
]

SEGMENTS = ("title", "summary", "body", "url", "author", "source")
DEFAULT_FIELDS = 0b111
FIELD_MASKS: dict[str | None, int] = {
    None: DEFAULT_FIELDS,
    "title": 0b1,
    "body": 0b110,  # the article text: summary and body
    "url": 1 << 3,
    "author": 1 << 4,
    "source": 1 << 5,
}


Test = Callable[[Callable[[int], bool], Callable[[int], bool], "set[int]"], bool]

# A tree over atom ids: ("t", atom) | ("&", children) | ("|", children) | ("!", child)
# | ("n", left atoms, right atoms, distance).
Tree = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Pattern:
    key: str
    casefold: bool
    lead: int  # 1 when the key starts with a boundary space
    trail: int
    prefix: bool


@dataclass(slots=True)
class FirstWords:
    """The first word of every pattern of a fold mode, bare (no word boundaries).

    A text that holds none of them cannot hit, and need not be written as a stream
    and scanned again; with a small rule set that is most texts. Where most texts
    do hold one, looking costs more than it saves, so it looks only while a running
    share of texts without any stays above half (and at every 16th text, to notice a
    change). The answer never changes a match, only the work.
    """

    automaton: ahocorasick.Automaton
    share: float = 1.0  # of recent texts that held none
    count: int = 0

    def absent(self, folded: str) -> bool:
        """True when `folded` surely holds no pattern; False when it may."""
        self.count += 1
        if self.share < 0.5 and self.count % 16:
            return False
        none = next(self.automaton.iter(folded), None) is None
        self.share += (none - self.share) / 32
        return none


@dataclass(slots=True)
class Compiled:
    """The automata, patterns, atoms and trees of a rule set."""

    patterns: list[Pattern] = field(default_factory=list)
    atoms: list[tuple[int, int, str]] = field(default_factory=list)  # pattern, mask, label
    trees: list[Tree] = field(default_factory=list)
    tests: list[Test] = field(default_factory=list)  # each tree as code: test(a, n, P) -> bool
    nears: list[Tree] = field(default_factory=list)
    positive: list[tuple[int, ...]] = field(default_factory=list)  # atoms that explain a match
    rules_by_pattern: list[list[int]] = field(default_factory=list)
    settled_by: list[list[int]] = field(default_factory=list)  # rules a body hit alone matches
    maybe_by: list[list[int]] = field(default_factory=list)  # other rules to evaluate on a hit
    always: list[int] = field(default_factory=list)  # rules that match on absence alone
    scoped: frozenset[int] = frozenset()  # rules limited to some sources
    # Phrase keys "leading words + two spaces": their length, and (pattern, regex of
    # the rest) to check.
    spread: list[tuple[int, list[tuple[int, re.Pattern[str]]]]] = field(default_factory=list)
    automata: dict[bool, ahocorasick.Automaton] = field(default_factory=dict)
    first_words: dict[bool, FirstWords] = field(default_factory=dict)
    # What to scan: (casefold, first segment, automaton, first words) per stream.
    plan: list[tuple[bool, int, ahocorasick.Automaton, FirstWords]] = field(default_factory=list)
    meta_fields: dict[bool, bool] = field(default_factory=dict)  # url/author/source needed
    _pattern_ids: dict[tuple[str, bool], int] = field(default_factory=dict)
    _atom_ids: dict[tuple[int, int, str], int] = field(default_factory=dict)

    def pattern(self, term: Term, casefold: bool) -> int:
        body = " ".join(term_tokens(term.text, casefold=casefold))
        lead = 0 if is_spaceless(body[0]) else 1
        trail = 0 if term.prefix or is_spaceless(body[-1]) else 1
        key = " " * lead + body + " " * trail
        found = self._pattern_ids.get((key, casefold))
        if found is None:
            found = self._pattern_ids[(key, casefold)] = len(self.patterns)
            self.patterns.append(Pattern(key, casefold, lead, trail, term.prefix))
            self.rules_by_pattern.append([])
        return found

    def atom(self, term: Term, casefold: bool) -> int:
        mask = FIELD_MASKS[term.field]
        if mask & ~DEFAULT_FIELDS:
            self.meta_fields[casefold] = True
        key = (self.pattern(term, casefold), mask, term.label())
        found = self._atom_ids.get(key)
        if found is None:
            found = self._atom_ids[key] = len(self.atoms)
            self.atoms.append(key)
        return found
