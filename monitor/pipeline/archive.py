"""Searching the archive and re-running rules over it, with the rules' own evaluator.

`search` turns the query into clauses of words the full-text index (FTS5 /
tsvector) can look up — a disjunction of conjunctions, so `a OR (b c)` asks
for articles holding `a` and for those holding both `b` and `c` — and keeps
the candidates the exact evaluator matches. A query the index cannot narrow
(a bare NOT, or only ``url:``/``source:``/``author:`` terms or words of
spaceless scripts) is evaluated on every stored article, streamed in pages.
`Searcher` splits the work for `newsmon search`: the matching rows (candidates
sorted as ids, read a page at a time until enough match), their count (from
the index when it answers the query alone, `index_clauses`), and the terms,
snippets and outlets of the rows shown only.
`rematch` runs compiled rules over stored articles.
"""

from __future__ import annotations

import heapq
import itertools
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from math import prod

from monitor.match.query import And, Near, Node, Not, Or, Term
from monitor.match.rules import Document, Match, Matcher, RuleSpec
from monitor.match.text import is_spaceless
from storage import Store
from storage.types import ArticleRow

Clause = tuple[tuple[str, ...], tuple[str, ...]]

__all__ = [
    "Searcher",
    "candidate_clauses",
    "document_of_row",
    "either_query",
    "index_clauses",
    "rematch",
    "search",
]

_MAX_CANDIDATES = 100_000
_MAX_CLAUSES = 32  # beyond this, an AND keeps only its narrowest child's clauses
_INDEXED_FIELDS = (None, "title", "body")

Clauses = list[tuple[str, ...]]


def candidate_clauses(node: Node) -> Clauses | None:
    """Word sets, one of which every match of `node` contains in full; None: can't narrow.

    Words are FTS terms: ``"a b"`` phrases as written, ``word*`` prefixes.
    """
    if isinstance(node, Term):
        indexable = (
            node.field in _INDEXED_FIELDS
            and not is_spaceless(node.text)
            and not (node.prefix and " " in node.text)
        )
        # The index holds text as written; NFKC makes a full-width ＡＳＥＡＮ query find "ASEAN".
        word = unicodedata.normalize("NFKC", node.text) + ("*" if node.prefix else "")
        return [(word,)] if indexable else None
    if isinstance(node, Or):
        parts = [candidate_clauses(child) for child in node.children]
        if any(part is None for part in parts):
            return None  # a branch the index cannot narrow: any article may match
        return [clause for part in parts if part is not None for clause in part]
    if isinstance(node, And):
        narrowing = [p for p in (candidate_clauses(c) for c in node.children) if p is not None]
        if not narrowing:
            return None
        return _conjunction(narrowing)
    if isinstance(node, Near):
        sides = [candidate_clauses(Or(tuple(side))) for side in (node.left, node.right)]
        narrowing = [side for side in sides if side is not None]
        return _conjunction(narrowing) if narrowing else None
    return None  # NOT: nothing is required


def index_clauses(node: Node) -> list[Clause] | None:
    """The query as the full-text index answers it alone: clauses of (words all present,
    words all absent), any clause matching; None when it cannot (a field, NEAR, a NOT
    of more than a word or with nothing beside it, words of spaceless scripts). The
    index then finds what the evaluator would, but for text the two tokenise apart
    (``foo_bar`` is one word to the evaluator, two to the index)."""
    if isinstance(node, Term):
        word = _index_word(node)
        return None if word is None else [((word,), ())]
    if isinstance(node, Or):
        branches = [index_clauses(child) for child in node.children]
        if any(branch is None for branch in branches):
            return None
        return [clause for branch in branches if branch is not None for clause in branch]
    if isinstance(node, And):
        return _and_clauses(node)
    return None  # NEAR, or NOT alone


def _and_clauses(node: And) -> list[Clause] | None:
    excluded: list[str] = []
    parts: list[list[Clause]] = []
    for child in node.children:
        if isinstance(child, Not):
            word = _index_word(child.child) if isinstance(child.child, Term) else None
            if word is None:
                return None
            excluded.append(word)
            continue
        part = index_clauses(child)
        if part is None:
            return None
        parts.append(part)
    if not parts or prod(map(len, parts)) > _MAX_CLAUSES:
        return None
    return [
        (
            tuple(dict.fromkeys(w for required, _ in combo for w in required)),
            tuple(dict.fromkeys([*(w for _, out in combo for w in out), *excluded])),
        )
        for combo in itertools.product(*parts)
    ]


def _index_word(term: Term) -> str | None:
    """The term as a word of the index, when the index finds exactly it (default fields)."""
    if term.field is not None or is_spaceless(term.text) or (term.prefix and " " in term.text):
        return None
    return unicodedata.normalize("NFKC", term.text) + ("*" if term.prefix else "")


def either_query(node: Node) -> str | None:
    """For terms side by side (`ASEAN Russia`, an AND of plain terms), the query that
    finds either (`ASEAN OR Russia`); None for any other query."""
    if not isinstance(node, And) or not all(isinstance(c, Term) for c in node.children):
        return None
    parts = []
    for term in node.children:
        assert isinstance(term, Term)
        text = f'"{term.text}"' if " " in term.text else term.text
        field = f"{term.field}:" if term.field else ""
        parts.append(field + text + ("*" if term.prefix else ""))
    return " OR ".join(parts)


def _conjunction(parts: list[Clauses]) -> Clauses:
    size = 1
    for part in parts:
        size *= len(part)
    if size > _MAX_CLAUSES:
        return min(parts, key=len)  # still a correct superset: a match satisfies every part
    return [
        tuple(dict.fromkeys(w for clause in combo for w in clause))
        for combo in itertools.product(*parts)
    ]


def document_of_row(row: ArticleRow, tags: frozenset[str] = frozenset()) -> Document:
    """The matchable view of a stored article."""
    return Document(
        title=row.title,
        summary=row.summary,
        body=row.body,
        source=row.source,
        tags=tags,
        url=row.url,
        author=row.author or "",
    )


def search(
    store: Store,
    query: str,
    *,
    since: datetime | None = None,
    source: str | Sequence[str] | None = None,
    limit: int = 50,
    index: bool = True,
) -> list[tuple[ArticleRow, Match]]:
    """Stored articles matching `query`, newest first (QuerySyntaxError for a bad query).

    `source`: only articles carried by that source (or by one of those names).
    `index` first adds waiting bodies to the full-text index (a write); the
    dashboard, which only reads, leaves that to the daemon's ticks.
    """
    searcher = Searcher(store, query, index=index)
    return searcher.explain(searcher.rows(since=since, source=source, limit=limit))


class Searcher:
    """One query over the archive: `rows` finds the matching articles, `count` counts
    them, `explain` says why the ones shown match. Apart because a match's terms,
    snippet and outlets cost more than the exact test, and a caller counting a
    thousand matches shows fifty."""

    def __init__(self, store: Store, query: str, *, index: bool = True) -> None:
        """Parse and compile `query` (QuerySyntaxError for a bad one); with `index`, add
        waiting bodies to the full-text index first (a write)."""
        spec = RuleSpec("search", query=query)
        tree = spec.tree()
        self._store = store
        self._clauses = candidate_clauses(tree)
        self._exact = index_clauses(tree)
        self._matcher = Matcher([spec])
        # Candidates the index gave `rows` for (words, since, source): how many, and
        # whether that was all of them.
        self._candidates: dict[tuple[tuple[str, ...], datetime | None, object], _Read] = {}
        # Each candidate read and checked so far: its row when it matches, else None.
        self._verdicts: dict[int, ArticleRow | None] = {}
        # Bodies enter the index in batches; search must see every body stored so far.
        while index and store.index_bodies(5000):
            pass

    def rows(
        self,
        *,
        since: datetime | None = None,
        source: str | Sequence[str] | None = None,
        limit: int = 50,
    ) -> list[ArticleRow]:
        """Up to `limit` matching articles, newest first, without their outlets."""
        if self._clauses is None:
            names = None if source is None else {source} if isinstance(source, str) else set(source)
            rows: Iterable[ArticleRow] = (
                row
                for row in self._store.iter_articles(since)
                if names is None or row.source in names
            )
            return heapq.nlargest(limit, self._matching(rows), key=_newest)
        found: dict[int, ArticleRow] = {}
        for words in self._clauses:
            for row in self._search_clause(list(words), since, source, limit):
                found.setdefault(row.id, row)
        return sorted(found.values(), key=_newest, reverse=True)[:limit]

    def count(
        self,
        *,
        since: datetime | None = None,
        source: str | Sequence[str] | None = None,
        cap: int = 1000,
    ) -> int:
        """How many articles match, counting no further than `cap`: the index's count
        when it answers the query alone (`index_clauses`), else the evaluator's."""
        if self._exact is None:
            return len(self.rows(since=since, source=source, limit=cap))
        if len(self._exact) == 1 and not self._exact[0][1]:  # words only: the candidates
            read = self._candidates.get((self._exact[0][0], since, _key(source)))
            if read is not None and (read.complete or read.count >= cap):
                return min(read.count, cap)
        return self._store.count_matches(self._exact, since=since, source=source, cap=cap)

    def explain(self, rows: Sequence[ArticleRow]) -> list[tuple[ArticleRow, Match]]:
        """Each of `rows` (matches found by `rows`) with its outlets and its `Match`."""
        match = self._matcher.match
        return [(row, match(document_of_row(row))[0]) for row in self._store.with_outlets(rows)]

    def _search_clause(
        self,
        words: list[str],
        since: datetime | None,
        source: str | Sequence[str] | None,
        limit: int,
    ) -> list[ArticleRow]:
        """The newest `limit` matches among the index's candidates for `words`.

        Candidates are sorted as ids, then read and checked a page at a time until
        `limit` match: most candidates match, so few more rows are read than kept.
        """
        # Sorting is over every candidate whatever the cap: reading up to a thousand ids
        # costs little more than fifty, and lets `count` answer from them.
        cap = max(4 * limit, 1000)
        while True:
            ids = self._store.search_ids(words, since=since, source=source, limit=cap)
            self._candidates[(tuple(words), since, _key(source))] = _Read(len(ids), len(ids) < cap)
            found = self._checked(ids, limit)
            if len(found) >= limit or len(ids) < cap or cap >= _MAX_CANDIDATES:
                return found
            cap *= 4  # the exact evaluator rejected many candidates: look further back

    def _checked(self, ids: list[int], limit: int) -> list[ArticleRow]:
        """The first `limit` of `ids` that match, newest first; rows not checked yet are
        read a page at a time, and only until `limit` match."""
        found: list[ArticleRow] = []
        start = 0
        while start < len(ids) and len(found) < limit:
            page = ids[start : start + max(limit - len(found), 50)]
            unknown = [i for i in page if i not in self._verdicts]
            for i in unknown:
                self._verdicts[i] = None  # gone since: no longer stored
            for match in self._matching(self._store.articles(unknown)):
                self._verdicts[match.id] = match
            found.extend(row for i in page if (row := self._verdicts[i]) is not None)
            start += len(page)
        return found[:limit]

    def _matching(self, rows: Iterable[ArticleRow]) -> Iterator[ArticleRow]:
        names = self._matcher.names
        return (row for row in rows if names(document_of_row(row)))


@dataclass(frozen=True, slots=True)
class _Read:
    count: int
    complete: bool


def _key(source: str | Sequence[str] | None) -> object:
    return source if source is None or isinstance(source, str) else tuple(source)


def _newest(row: ArticleRow) -> tuple[datetime, int]:
    return (row.published_at or row.fetched_at, row.id)


def rematch(
    rows: Iterable[ArticleRow],
    matcher: Matcher,
    tags_of: Mapping[str, frozenset[str]],
) -> Iterator[tuple[ArticleRow, Match]]:
    """Each (article, match) of the rules over `rows`, in article then rule order."""
    for row in rows:
        for match in matcher.match(document_of_row(row, tags_of.get(row.source, frozenset()))):
            yield row, match
