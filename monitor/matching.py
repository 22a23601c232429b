"""Rule matching: every rule's terms compiled into one scanner, run once per document.

`compile_rules` builds a `Matcher`; `Matcher.match(doc)` returns the rules that
hit with the terms and a snippet. Rules with `keywords:` match when any term
does. The query language (DESIGN §6) plugs in behind the same interface.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from monitor.text import Folded, fold, fold_term, is_spaceless

__all__ = ["Document", "Match", "Matcher", "RuleSpec", "compile_rules", "snippet_around"]

SNIPPET_RADIUS = 120


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """What the matcher needs of a rule."""

    name: str
    terms: tuple[str, ...]
    case_sensitive: bool = False
    sources: frozenset[str] = frozenset()  # source names; empty = all
    tags: frozenset[str] = frozenset()  # source tags (from `tag:x`)


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

    def text(self) -> str:
        """Title, summary and body, the default search fields, one paragraph each."""
        parts = [self.title, self.summary]
        # Feeds often repeat the summary as the start of the body.
        if self.body and self.body != self.summary:
            parts.append(self.body)
        return "\n\n".join(p for p in parts if p)


@dataclass(frozen=True, slots=True)
class Match:
    """A rule that hit a document: which terms, and where (a snippet with spans)."""

    rule: str
    terms: tuple[str, ...]
    snippet: str
    spans: tuple[tuple[int, int], ...] = ()


@dataclass(slots=True)
class _Scanner:
    """One alternation of every term of one fold mode; maps a hit to its rules."""

    casefold: bool
    rules_by_term: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    pattern: re.Pattern[str] | None = None

    def compile(self) -> None:
        if not self.rules_by_term:
            return
        # Longest first, so "Phnom Penh" wins over "Phnom" at the same position.
        alternatives = []
        for term in sorted(self.rules_by_term, key=len, reverse=True):
            escaped = r"\s+".join(re.escape(w) for w in term.split())
            if is_spaceless(term):
                alternatives.append(f"(?:{escaped})")
            else:
                alternatives.append(rf"(?<!\w)(?:{escaped})(?!\w)")
        self.pattern = re.compile("|".join(alternatives))

    def scan(self, folded: Folded) -> list[tuple[str, int, int]]:
        if self.pattern is None:
            return []
        hits = []
        for m in self.pattern.finditer(folded.text):
            key = " ".join(m.group(0).split())
            start, end = folded.original_span(m.start(), m.end())
            hits.append((key, start, end))
        return hits


class Matcher:
    """Compiled rules. Cost grows with text size, not with the number of rules."""

    def __init__(self, rules: Sequence[RuleSpec]) -> None:
        self._rules = list(rules)
        self._scanners = {True: _Scanner(casefold=True), False: _Scanner(casefold=False)}
        self._display: dict[tuple[bool, str], dict[int, str]] = defaultdict(dict)
        for index, rule in enumerate(self._rules):
            scanner = self._scanners[not rule.case_sensitive]
            for term in rule.terms:
                key = " ".join(fold_term(term, casefold=scanner.casefold).split())
                if not key:
                    continue
                scanner.rules_by_term[key].append(index)
                self._display[(scanner.casefold, key)][index] = term
        for scanner in self._scanners.values():
            scanner.compile()

    @property
    def rules(self) -> list[RuleSpec]:
        return list(self._rules)

    def match(self, doc: Document) -> list[Match]:
        """The rules that match `doc`, in rule order, each with terms and a snippet."""
        text = doc.text()
        hits_by_rule: dict[int, list[tuple[str, int, int]]] = defaultdict(list)
        for casefold, scanner in self._scanners.items():
            if scanner.pattern is None:
                continue
            for key, start, end in scanner.scan(fold(text, casefold=casefold)):
                for index in scanner.rules_by_term[key]:
                    if self._in_scope(self._rules[index], doc):
                        display = self._display[(casefold, key)][index]
                        hits_by_rule[index].append((display, start, end))
        matches = []
        for index in sorted(hits_by_rule):
            hits = hits_by_rule[index]
            terms = tuple(dict.fromkeys(term for term, _, _ in hits))
            snippet, spans = snippet_around(text, [(s, e) for _, s, e in hits])
            matches.append(Match(self._rules[index].name, terms, snippet, spans))
        return matches

    @staticmethod
    def _in_scope(rule: RuleSpec, doc: Document) -> bool:
        if not rule.sources and not rule.tags:
            return True
        return doc.source in rule.sources or bool(rule.tags & doc.tags)


def compile_rules(rules: Sequence[RuleSpec]) -> Matcher:
    """Compile rules into one matcher."""
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
