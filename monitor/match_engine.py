"""The matching engine: every term of every rule in one Aho-Corasick automaton.

A document's fields are written as one token stream per fold mode
(``" title toks | summary toks | body toks | url toks ..."``); the automaton
reports every pattern in it in one pass, and only the rules that own a pattern
that hit (plus the few that can match on absence alone, like ``NOT x``) have
their boolean tree evaluated on the set of hits. Cost grows with text size and
hits, not with the number of rules.

A term is a pattern ``" tok tok "`` (whole tokens in a row), ``" tok"`` for a
prefix, and without the spaces on a side written in a script without spaces
(a substring there). Token positions, needed by NEAR and snippets, are worked
out only for the hits that need them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ahocorasick

from monitor.query import And, Near, Node, Not, Or, Term
from monitor.text import SEGMENT_MARK, fold_text, is_spaceless, term_tokens, token_stream

__all__ = ["FIELD_MASKS", "SEGMENTS", "Compiled", "Hit", "Scan", "compile_trees"]

SEGMENTS = ("title", "summary", "body", "url", "author", "source")
_DEFAULT = 0b111
FIELD_MASKS: dict[str | None, int] = {
    None: _DEFAULT,
    "title": 0b1,
    "body": 0b110,  # the article text: summary and body
    "url": 1 << 3,
    "author": 1 << 4,
    "source": 1 << 5,
}

_Test = Callable[[Callable[[int], bool], Callable[[int], bool], "set[int]"], bool]

# A tree over atom ids: ("t", atom) | ("&", children) | ("|", children) | ("!", child)
# | ("n", left atoms, right atoms, distance).
Tree = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Hit:
    """One occurrence: its segment and its first and last (token, offset in token)."""

    segment: int
    first: tuple[int, int]
    last: tuple[int, int]


@dataclass(frozen=True, slots=True)
class _Pattern:
    key: str
    casefold: bool
    lead: int  # 1 when the key starts with a boundary space
    trail: int
    prefix: bool


@dataclass(slots=True)
class Compiled:
    """The automata, patterns, atoms and trees of a rule set."""

    patterns: list[_Pattern] = field(default_factory=list)
    atoms: list[tuple[int, int, str]] = field(default_factory=list)  # pattern, mask, label
    trees: list[Tree] = field(default_factory=list)
    tests: list[_Test] = field(
        default_factory=list
    )  # each rule's tree as Python code: test(atom, near) -> bool
    nears: list[Tree] = field(default_factory=list)
    positive: list[tuple[int, ...]] = field(default_factory=list)  # atoms that explain a match
    rules_by_pattern: list[list[int]] = field(default_factory=list)
    always: list[int] = field(default_factory=list)  # rules that match on absence alone
    automata: dict[bool, ahocorasick.Automaton] = field(default_factory=dict)
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
            self.patterns.append(_Pattern(key, casefold, lead, trail, term.prefix))
            self.rules_by_pattern.append([])
        return found

    def atom(self, term: Term, casefold: bool) -> int:
        mask = FIELD_MASKS[term.field]
        if mask & ~_DEFAULT:
            self.meta_fields[casefold] = True
        key = (self.pattern(term, casefold), mask, term.label())
        found = self._atom_ids.get(key)
        if found is None:
            found = self._atom_ids[key] = len(self.atoms)
            self.atoms.append(key)
        return found


def compile_trees(queries: Sequence[tuple[Node, bool]]) -> Compiled:
    """Compile (query tree, case-sensitive) pairs, one per rule, into one engine."""
    out = Compiled()
    for index, (node, case_sensitive) in enumerate(queries):
        casefold = not case_sensitive
        tree = _tree(node, out, casefold)
        out.trees.append(tree)
        out.tests.append(_test(tree, out.atoms, out.nears))
        positive = _positive_atoms(tree)
        out.positive.append(positive)
        for pattern in dict.fromkeys(out.atoms[a][0] for a in _all_atoms(tree)):
            out.rules_by_pattern[pattern].append(index)
        if out.tests[-1](_absent, _absent, set()):
            out.always.append(index)
    for casefold in (True, False):
        patterns = [(i, p) for i, p in enumerate(out.patterns) if p.casefold is casefold]
        if patterns:
            automaton = ahocorasick.Automaton()
            for i, p in patterns:
                automaton.add_word(p.key, i)
            automaton.make_automaton()
            out.automata[casefold] = automaton
    return out


def _tree(node: Node, out: Compiled, casefold: bool) -> Tree:
    if isinstance(node, Term):
        return ("t", out.atom(node, casefold))
    if isinstance(node, Not):
        return ("!", _tree(node.child, out, casefold))
    if isinstance(node, Near):
        left = tuple(out.atom(t, casefold) for t in node.left)
        right = tuple(out.atom(t, casefold) for t in node.right)
        return ("n", left, right, node.distance)
    kind = "&" if isinstance(node, And) else "|"
    assert isinstance(node, And | Or)
    return (kind, tuple(_tree(child, out, casefold) for child in node.children))


def _all_atoms(tree: Tree) -> Iterable[int]:
    kind = tree[0]
    if kind == "t":
        yield tree[1]
    elif kind == "n":
        yield from tree[1]
        yield from tree[2]
    elif kind == "!":
        yield from _all_atoms(tree[1])
    else:
        for child in tree[1]:
            yield from _all_atoms(child)


def _positive_atoms(tree: Tree, negated: bool = False) -> tuple[int, ...]:
    kind = tree[0]
    if kind == "!":
        return _positive_atoms(tree[1], not negated)
    if negated:
        return ()
    if kind in ("t", "n"):
        return tuple(_all_atoms(tree))
    return tuple(a for child in tree[1] for a in _positive_atoms(child))


class Scan:
    """One document scanned: the hits of every pattern, and lazy positions."""

    __slots__ = ("_compiled", "_positions", "_streams", "meta_pids", "pids")

    def __init__(self, compiled: Compiled, segments: Sequence[str]) -> None:
        self._compiled = compiled
        # (casefold, first segment, stream, segment starts, hits) per stream scanned
        self._streams: list[tuple[bool, int, str, list[int], list[tuple[int, int]]]] = []
        self._positions: dict[int, list[Hit]] = {}
        self.pids: set[int] = set()  # patterns that hit in title, summary or body
        self.meta_pids: set[int] = set()  # ... in url, author or source
        for casefold, automaton in compiled.automata.items():
            for base in (0, 3) if compiled.meta_fields.get(casefold) else (0,):
                parts = (_clean(text) for text in segments[base : base + 3])
                stream = token_stream(fold_text(_JOIN.join(parts), casefold=casefold))
                starts = [0]
                for _ in range(2):
                    starts.append(stream.index(SEGMENT_MARK, starts[-1]) + 1)
                hits = list(automaton.iter(stream))
                self._streams.append((casefold, base, stream, starts, hits))
                (self.pids if base == 0 else self.meta_pids).update(pid for _, pid in hits)

    def atom(self, atom: int) -> bool:
        """Whether the atom's pattern hit in one of the atom's fields."""
        pid, mask, _ = self._compiled.atoms[atom]
        if mask == _DEFAULT:
            return pid in self.pids
        if pid not in (self.pids if mask & _DEFAULT else self.meta_pids):
            return False
        return any(mask >> h.segment & 1 for h in self.positions(pid))

    def near(self, index: int) -> bool:
        """Whether NEAR number `index` of the rule set holds."""
        _, left, right, distance = self._compiled.nears[index]
        lefts = [h for a in left for h in self.atom_hits(a)]
        if not lefts:
            return False
        rights = [h for a in right for h in self.atom_hits(a)]
        return any(_near(a, b, distance) for a in lefts for b in rights)

    def atom_hits(self, atom: int) -> list[Hit]:
        pid, mask, _ = self._compiled.atoms[atom]
        if pid not in self.pids and pid not in self.meta_pids:
            return []
        return [h for h in self.positions(pid) if mask >> h.segment & 1]

    def positions(self, pid: int) -> list[Hit]:
        found = self._positions.get(pid)
        if found is not None:
            return found
        pattern = self._compiled.patterns[pid]
        found = []
        for casefold, base, stream, starts, hits in self._streams:
            if casefold is not pattern.casefold:
                continue
            for end, hit_pid in hits:
                if hit_pid != pid:
                    continue
                first = end - len(pattern.key) + 1 + pattern.lead
                last = end - pattern.trail
                segment = bisect_right(starts, first) - 1
                first_at = _token_at(stream, starts[segment], first)
                last_at = _token_at(stream, starts[segment], last)
                if pattern.prefix:  # mark the whole word, not just the prefix
                    token_end = stream.find(" ", last)
                    last_at = (last_at[0], last_at[1] + token_end - last - 1)
                found.append(Hit(base + segment, first_at, last_at))
        self._positions[pid] = found
        return found


_JOIN = f" {SEGMENT_MARK} "


def _clean(text: str) -> str:
    return text.replace(SEGMENT_MARK, " ") if SEGMENT_MARK in text else text


def _token_at(stream: str, segment_start: int, index: int) -> tuple[int, int]:
    """(token number within the segment, offset within the token) of a stream index."""
    token = stream.count(" ", segment_start, index) - 1
    offset = index - stream.rfind(" ", segment_start, index) - 1
    return token, offset


def _absent(_: int) -> bool:
    return False


def _test(tree: Tree, atoms: list[tuple[int, int, str]], nears: list[Tree]) -> _Test:
    """The tree as a compiled Python expression: short-circuit evaluation without recursion."""

    def source(node: Tree) -> str:
        kind = node[0]
        if kind == "t":
            pid, mask, _ = atoms[node[1]]
            return f"({int(pid)} in P)" if mask == _DEFAULT else f"a({int(node[1])})"
        if kind == "!":
            return f"(not {source(node[1])})"
        if kind == "n":
            nears.append(node)
            return f"n({len(nears) - 1})"
        if not node[1]:
            return "True" if kind == "&" else "False"
        joiner = " and " if kind == "&" else " or "
        return "(" + joiner.join(source(child) for child in node[1]) + ")"

    # The source holds only integers and operators generated above, never user text.
    test: _Test = eval(f"lambda a, n, P: bool({source(tree)})")
    return test


def evaluate(compiled: Compiled, rule: int, scan: Scan) -> bool:
    """Whether rule number `rule` matches the scanned document."""
    return compiled.tests[rule](scan.atom, scan.near, scan.pids)


def _near(a: Hit, b: Hit, distance: int) -> bool:
    if a.segment != b.segment or a == b:
        return False
    if a.last[0] < b.first[0]:
        return b.first[0] - a.last[0] - 1 <= distance
    if b.last[0] < a.first[0]:
        return a.first[0] - b.last[0] - 1 <= distance
    return True  # overlapping distinct hits
