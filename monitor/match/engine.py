"""The matching engine: every term of every rule in one Aho-Corasick automaton.

A document is scanned once (`monitor.match.scan.Scan`) as a stream of its folded
text with a space for every separator. A term is a key ``" tok tok "`` (whole
tokens in a row), ``" tok"`` for a prefix, and without the space on a side
written in a script without spaces (a substring there), so the automaton checks
word boundaries itself. The stream keeps runs of spaces, so a phrase whose words
are more than one space apart (``"Phnom,  Penh"``) is found by a second key, its
leading words and two spaces, and the rest checked by a regex: rare, and only then.

Only the rules that own a pattern that hit (plus the few that can match on
absence alone, like ``NOT x``) are evaluated, and a rule that a hit settles alone
(``a OR b``) not even those. Cost grows with text size and hits, not with the
number of rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from itertools import chain

import ahocorasick

from monitor.match.compiled import DEFAULT_FIELDS, Compiled, FirstWords, Pattern, Test, Tree
from monitor.match.query import And, Near, Node, Not, Or, Term
from monitor.match.scan import Scan

__all__ = ["Compiled", "FirstWords", "compile_trees", "matching"]


def compile_trees(queries: Sequence[tuple[Node, bool]], scoped: Iterable[int] = ()) -> Compiled:
    """Compile (query tree, case-sensitive) pairs, one per rule, into one engine.

    `scoped` are the rules that apply to some sources only: `matching` asks about them.
    """
    out = Compiled(scoped=frozenset(scoped))
    for index, (node, case_sensitive) in enumerate(queries):
        casefold = not case_sensitive
        tree = _tree(node, out, casefold)
        out.trees.append(tree)
        out.tests.append(_test(tree, out.atoms, out.nears))
        out.positive.append(_positive_atoms(tree))
        for pattern in dict.fromkeys(out.atoms[a][0] for a in _all_atoms(tree)):
            out.rules_by_pattern[pattern].append(index)
        if out.tests[-1](_absent, _absent, set()):
            out.always.append(index)
    out.settled_by = [[] for _ in out.patterns]
    out.maybe_by = [[] for _ in out.patterns]
    for index, tree in enumerate(out.trees):
        settling = set() if index in out.scoped else _settling(tree, out.atoms)
        for pattern in dict.fromkeys(out.atoms[a][0] for a in _all_atoms(tree)):
            (out.settled_by if pattern in settling else out.maybe_by)[pattern].append(index)
    for casefold in (True, False):
        patterns = [(i, p) for i, p in enumerate(out.patterns) if p.casefold is casefold]
        if patterns:
            out.automata[casefold] = _automaton(patterns, out.spread)
            out.first_words[casefold] = FirstWords(_first_words(p for _, p in patterns))
            for base in (0, 3) if out.meta_fields.get(casefold) else (0,):
                out.plan.append((casefold, base, out.automata[casefold], out.first_words[casefold]))
    return out


def _automaton(
    patterns: list[tuple[int, Pattern]],
    spread: list[tuple[int, list[tuple[int, re.Pattern[str]]]]],
) -> ahocorasick.Automaton:
    """Exact keys map to their pattern id; the spread keys of phrases to ``-1 - index``."""
    automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
    spread_ids: dict[str, int] = {}
    for i, p in patterns:
        automaton.add_word(p.key, i)
        words = p.key.strip(" ").split(" ")
        for n in range(1, len(words)):
            key = " " * p.lead + " ".join(words[:n]) + "  "
            rest = " *" + " +".join(map(re.escape, words[n:])) + " " * p.trail
            if key not in spread_ids:
                spread_ids[key] = len(spread)
                spread.append((len(key), []))
                automaton.add_word(key, -1 - spread_ids[key])
            spread[spread_ids[key]][1].append((i, re.compile(rest)))
    automaton.make_automaton()
    return automaton


def _first_words(patterns: Iterable[Pattern]) -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
    for word in {p.key.strip(" ").split(" ")[0] for p in patterns}:
        automaton.add_word(word, 0)
    automaton.make_automaton()
    return automaton


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


def _settling(tree: Tree, atoms: list[tuple[int, int, str]]) -> set[int]:
    """Patterns whose hit in title, summary or body alone makes the tree true."""
    kind = tree[0]
    if kind == "t":
        pid, mask, _ = atoms[tree[1]]
        return {pid} if mask == DEFAULT_FIELDS else set()
    if kind == "|" or (kind == "&" and len(tree[1]) == 1):
        return set().union(*(_settling(child, atoms) for child in tree[1]))
    return set()


def matching(compiled: Compiled, scan: Scan, in_scope: Callable[[int], bool]) -> list[int]:
    """The rules that match the scanned document, in rule order.

    `in_scope(rule)` is asked only about the rules compiled as scoped.
    """
    pids = scan.pids
    matched = set(chain.from_iterable(map(compiled.settled_by.__getitem__, pids)))
    candidates = set(chain.from_iterable(map(compiled.maybe_by.__getitem__, pids)))
    candidates.update(compiled.always)
    if scan.meta_pids:
        candidates.update(
            chain.from_iterable(map(compiled.rules_by_pattern.__getitem__, scan.meta_pids))
        )
    if candidates:
        candidates -= matched
        tests, scoped = compiled.tests, compiled.scoped
        atom, near = scan.atom, scan.near
        for index in candidates:
            if (index not in scoped or in_scope(index)) and tests[index](atom, near, pids):
                matched.add(index)
    return sorted(matched)


def _absent(_: int) -> bool:
    return False


def _cost(node: Tree, atoms: list[tuple[int, int, str]]) -> int:
    """How dear a node is to evaluate: a set lookup, a field check, a NEAR."""
    kind = node[0]
    if kind == "t":
        return 0 if atoms[node[1]][1] == DEFAULT_FIELDS else 1
    if kind == "n":
        return 2
    if kind == "!":
        return _cost(node[1], atoms)
    return max((_cost(child, atoms) for child in node[1]), default=0)


def _test(tree: Tree, atoms: list[tuple[int, int, str]], nears: list[Tree]) -> Test:
    """The tree as a compiled Python expression: short-circuit evaluation without recursion."""

    def source(node: Tree) -> str:
        kind = node[0]
        if kind == "t":
            pid, mask, _ = atoms[node[1]]
            return f"({int(pid)} in P)" if mask == DEFAULT_FIELDS else f"a({int(node[1])})"
        if kind == "!":
            return f"(not {source(node[1])})"
        if kind == "n":
            nears.append(node)
            return f"n({len(nears) - 1})"
        if not node[1]:
            return "True" if kind == "&" else "False"
        joiner = " and " if kind == "&" else " or "
        # Cheap operands first: the result is the same, the dear ones are often skipped.
        children = sorted(node[1], key=lambda child: _cost(child, atoms))
        return "(" + joiner.join(source(child) for child in children) + ")"

    # The source holds only integers and operators generated above, never user text.
    test: Test = eval(f"lambda a, n, P: bool({source(tree)})")
    return test
