"""Searching the archive and re-running rules over it, with the rules' own evaluator.

`search` turns the query into clauses of words the full-text index (FTS5 /
tsvector) can look up — a disjunction of conjunctions, so `a OR (b c)` asks
for articles holding `a` and for those holding both `b` and `c` — and keeps
the candidates the exact evaluator matches. A query the index cannot narrow
(a bare NOT, or only ``url:``/``source:``/``author:`` terms or words of
spaceless scripts) is evaluated on every stored article, streamed in pages.
`rematch` runs compiled rules over stored articles.
"""

from __future__ import annotations

import heapq
import itertools
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime

from monitor.match.query import And, Near, Node, Or, Term
from monitor.match.rules import Document, Match, Matcher, RuleSpec
from monitor.match.text import is_spaceless
from storage import Store
from storage.types import ArticleRow

__all__ = ["candidate_clauses", "document_of_row", "either_query", "rematch", "search"]

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
    names = None if source is None else {source} if isinstance(source, str) else set(source)
    spec = RuleSpec("search", query=query)
    clauses = candidate_clauses(spec.tree())
    matcher = Matcher([spec])
    # Bodies enter the index in batches; search must see every body stored so far.
    while index and store.index_bodies(5000):
        pass
    if clauses is None:
        rows: Iterable[ArticleRow] = (
            row for row in store.iter_articles(since) if names is None or row.source in names
        )
        return heapq.nlargest(limit, _matching(rows, matcher), key=_newest)
    found: dict[int, tuple[ArticleRow, Match]] = {}
    for words in clauses:
        for row, match in _search_clause(store, matcher, list(words), since, source, limit):
            found.setdefault(row.id, (row, match))
    return sorted(found.values(), key=_newest, reverse=True)[:limit]


def _search_clause(
    store: Store,
    matcher: Matcher,
    words: list[str],
    since: datetime | None,
    source: str | Sequence[str] | None,
    limit: int,
) -> list[tuple[ArticleRow, Match]]:
    cap = max(4 * limit, 200)
    while True:
        rows = store.search(words, since=since, source=source, limit=cap)
        found = list(_matching(rows, matcher))
        if len(found) >= limit or len(rows) < cap or cap >= _MAX_CANDIDATES:
            return found[:limit]
        cap *= 4  # the exact evaluator rejected many candidates: look further back


def _matching(rows: Iterable[ArticleRow], matcher: Matcher) -> Iterator[tuple[ArticleRow, Match]]:
    for row in rows:
        if hit := matcher.match(document_of_row(row)):
            yield row, hit[0]


def _newest(item: tuple[ArticleRow, Match]) -> tuple[datetime, int]:
    row = item[0]
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
