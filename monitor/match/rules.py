"""Rule matching: every rule compiled into one scanner, run once per document.

`compile_rules` builds a `Matcher`; `Matcher.match(doc)` returns the rules that
hit, each with the terms that hit and a snippet with the hits marked. A rule is
a query (DESIGN §6, `monitor.match.query`) or a list of keywords (any of them).
The engine is in `monitor.match.engine` and `monitor.match.scan`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.match.engine import compile_trees, matching
from monitor.match.query import Node, keywords_query, parse_query
from monitor.match.scan import Scan
from monitor.match.text import TokenMap, token_map

__all__ = ["Document", "Match", "Matcher", "RuleSpec", "compile_rules", "snippet_around"]

SNIPPET_RADIUS = 120


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """What the matcher needs of a rule: `query`, else `terms` (keywords, any of them)."""

    name: str
    terms: tuple[str, ...] = ()
    case_sensitive: bool = False
    sources: frozenset[str] = frozenset()  # source names; empty = all
    tags: frozenset[str] = frozenset()  # source tags (from `tag:x`)
    query: str | None = None

    def tree(self) -> Node:
        """The rule as a query tree (raises QuerySyntaxError for a bad query)."""
        if self.query is not None:
            return parse_query(self.query)
        return keywords_query(self.terms)


@dataclass(frozen=True, slots=True)
class Document:
    """The matchable text of an article."""

    title: str
    summary: str
    body: str
    source: str = ""
    tags: frozenset[str] = frozenset()
    url: str = ""
    author: str = ""

    def parts(self) -> tuple[str, str, str]:
        """Title, summary and body; the body is empty when it repeats the summary."""
        # Feeds often repeat the summary as the body.
        return self.title, self.summary, "" if self.body == self.summary else self.body

    def text(self) -> str:
        """Title, summary and body, the default search fields, one paragraph each."""
        return "\n\n".join(p for p in self.parts() if p)


@dataclass(frozen=True, slots=True)
class Match:
    """A rule that hit a document: which terms, and where (a snippet with spans)."""

    rule: str
    terms: tuple[str, ...]
    snippet: str
    spans: tuple[tuple[int, int], ...] = ()


class Matcher:
    """Compiled rules. Cost grows with text size, not with the number of rules."""

    def __init__(self, rules: Sequence[RuleSpec]) -> None:
        self._rules = list(rules)
        self._names = [r.name for r in self._rules]
        self._engine = compile_trees(
            [(r.tree(), r.case_sensitive) for r in self._rules],
            scoped=[i for i, r in enumerate(self._rules) if r.sources or r.tags],
        )

    @property
    def rules(self) -> list[RuleSpec]:
        return list(self._rules)

    def scan(self, doc: Document) -> tuple[Scan, list[int]]:
        """Scan `doc` once; the scan and the indexes of the rules that match, in rule order."""
        scan = Scan(self._engine, (*doc.parts(), doc.url, doc.author, doc.source))
        rules = self._rules

        def in_scope(index: int) -> bool:
            rule = rules[index]
            return doc.source in rule.sources or bool(rule.tags & doc.tags)

        return scan, matching(self._engine, scan, in_scope)

    def names(self, doc: Document) -> list[str]:
        """The names of the rules that match `doc` (no explanations: the fast path)."""
        names = self._names
        return [names[i] for i in self.scan(doc)[1]]

    def match(self, doc: Document) -> list[Match]:
        """The rules that match `doc`, in rule order, each with terms and a snippet."""
        scan, matched = self.scan(doc)
        if not matched:
            return []
        parts = doc.parts()
        offsets, at = [], 0
        for part in parts:
            offsets.append(at)
            at += len(part) + 2 if part else 0
        maps: dict[tuple[int, bool], TokenMap] = {}
        text = doc.text()
        out = []
        for index in matched:
            found: list[tuple[tuple[int, int], str]] = []
            spans: list[tuple[int, int]] = []
            for atom in self._engine.positive[index]:
                hits = scan.atom_hits(atom)
                if not hits:
                    continue
                pid, _, label = self._engine.atoms[atom]
                casefold = self._engine.patterns[pid].casefold
                found.append(((hits[0][1].segment, hits[0][1].start), label))
                for stream, hit in hits:
                    if hit.segment >= len(parts):
                        continue
                    key = (hit.segment, casefold)
                    if key not in maps:
                        maps[key] = token_map(parts[hit.segment], casefold=casefold)
                    span = maps[key].original_span(*scan.tokens(stream, hit))
                    if span is not None:
                        base = offsets[hit.segment]
                        spans.append((span[0] + base, span[1] + base))
            terms = tuple(dict.fromkeys(label for _, label in sorted(found)))
            snippet, marked = snippet_around(text, spans)
            out.append(Match(self._rules[index].name, terms, snippet, marked))
        return out


def compile_rules(rules: Sequence[RuleSpec]) -> Matcher:
    """Compile rules into one matcher (raises QuerySyntaxError for a bad query)."""
    return Matcher(rules)


def snippet_around(
    text: str, hits: Sequence[tuple[int, int]], radius: int = SNIPPET_RADIUS
) -> tuple[str, tuple[tuple[int, int], ...]]:
    """A one-line excerpt of ±radius characters around the first hit, and the hit spans in it.

    Cuts at word boundaries and marks cuts with "…".
    """
    if not hits:
        return " ".join(text[: 2 * radius].split()), ()
    first_start, first_end = min(hits)
    start = max(0, first_start - radius)
    end = min(len(text), first_end + radius)
    if start > 0:
        space = text.find(" ", start, first_start)
        start = space + 1 if space != -1 else start
    if end < len(text):
        space = text.rfind(" ", first_end, end)
        end = space if space != -1 else end
    window = text[start:end]
    # Collapse whitespace while tracking offsets so spans stay right.
    out: list[str] = []
    offsets: list[int] = []
    previous_space = False
    for i, ch in enumerate(window):
        if ch.isspace():
            if previous_space or not out:
                continue
            out.append(" ")
            previous_space = True
        else:
            out.append(ch)
            previous_space = False
        offsets.append(i)
    while out and out[-1] == " ":
        out.pop()
        offsets.pop()
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    snippet = prefix + "".join(out) + suffix
    position = {orig: new + len(prefix) for new, orig in enumerate(offsets)}
    spans = []
    for hit_start, hit_end in sorted(set(hits)):
        if hit_start < start or hit_end > end:
            continue
        a = position.get(hit_start - start)
        b = position.get(hit_end - 1 - start)
        if a is not None and b is not None:
            spans.append((a, b + 1))
    return snippet, tuple(spans)
