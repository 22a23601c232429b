"""Searching the archive and re-running rules over it, with the rules' own evaluator.

`search` asks the store's full-text index (FTS5 / tsvector) for candidates that
hold every word the query requires, then keeps the ones the exact evaluator
matches. A query that requires no word the index can look up (only OR, NOT,
``url:``/``source:``/``author:`` terms or words of spaceless scripts) is
evaluated on the newest `SCAN_CAP` articles instead. `rematch` runs compiled
rules over stored articles.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime

from monitor.matching import Document, Match, Matcher, RuleSpec
from monitor.query import And, Near, Node, Term
from monitor.text import is_spaceless
from storage import Store
from storage.types import ArticleRow

__all__ = ["SCAN_CAP", "candidate_words", "document_of_row", "rematch", "search"]

SCAN_CAP = 10_000  # articles a query without indexable words is evaluated on
_MAX_CANDIDATES = 100_000
_INDEXED_FIELDS = (None, "title", "body")


def candidate_words(node: Node) -> list[str]:
    """Words (``"a b"`` phrases, ``word*`` prefixes) every match of `node` contains."""
    if isinstance(node, Term):
        indexable = (
            node.field in _INDEXED_FIELDS
            and not is_spaceless(node.text)
            and not (node.prefix and " " in node.text)
        )
        return [node.text + ("*" if node.prefix else "")] if indexable else []
    if isinstance(node, And):
        return list(dict.fromkeys(w for child in node.children for w in candidate_words(child)))
    if isinstance(node, Near):
        words = [*candidate_words_of(node.left), *candidate_words_of(node.right)]
        return list(dict.fromkeys(words))
    return []  # OR, NOT: nothing is required


def candidate_words_of(side: tuple[Term, ...]) -> list[str]:
    return candidate_words(side[0]) if len(side) == 1 else []


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
    source: str | None = None,
    limit: int = 50,
) -> list[tuple[ArticleRow, Match]]:
    """Stored articles matching `query`, newest first (QuerySyntaxError for a bad query)."""
    spec = RuleSpec("search", query=query)
    words = candidate_words(spec.tree())
    matcher = Matcher([spec])
    # Bodies enter the index in batches; search must see every body stored so far.
    while store.index_bodies(5000):
        pass
    cap = max(4 * limit, 200) if words else SCAN_CAP
    while True:
        rows = store.search(words, since=since, source=source, limit=cap)
        found = [(row, m[0]) for row in rows if (m := matcher.match(document_of_row(row)))]
        if len(found) >= limit or len(rows) < cap or not words or cap >= _MAX_CANDIDATES:
            return found[:limit]
        cap *= 4  # the exact evaluator rejected many candidates: look further back


def rematch(
    rows: Iterable[ArticleRow],
    matcher: Matcher,
    tags_of: Mapping[str, frozenset[str]],
) -> Iterator[tuple[ArticleRow, Match]]:
    """Each (article, match) of the rules over `rows`, in article then rule order."""
    for row in rows:
        for match in matcher.match(document_of_row(row, tags_of.get(row.source, frozenset()))):
            yield row, match
