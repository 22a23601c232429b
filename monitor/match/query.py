"""The query language of rules and search (DESIGN §6): a pure parser from text to a tree.

    query   := or
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*          adjacent terms mean AND
    unary   := ("NOT" | "-") unary | near
    near    := primary ("NEAR/" n primary)*    both within n words
    primary := [field ":"] (word | word* | "phrase" | "(" query ")")

Operators are upper case (``and`` is a word); NOT binds tighter than AND, AND
tighter than OR. A field (title, body, url, source, author) applies to a term,
a phrase or a parenthesised group. A bare word that holds punctuation
(``Russia-ASEAN``) is a phrase of its tokens; a dash standing alone between
words (``Russia - ASEAN``) is punctuation, not NOT. After ``field:`` the value
runs to the next space or ``)`` (``url:http://x.org/a`` is one term). A term
whose symbols would be dropped so that it means something else (``C++``,
``C#``, ``$5``) is refused rather than silently matching every "C". Errors are
`QuerySyntaxError` with the 1-based column and a caret line under the query.

The tokens come from `monitor.match.lexer`, the tree types from
`monitor.match.tree`; the tree's names and `QuerySyntaxError` (from
`monitor.errors`) are re-exported here, the language's one public face.
"""

from __future__ import annotations

import unicodedata
from typing import NoReturn

from monitor.errors import QuerySyntaxError
from monitor.match.lexer import DASHES, FIELDS, MAX_NEAR, Token, lex
from monitor.match.text import term_tokens
from monitor.match.tree import (
    And,
    Near,
    Node,
    Not,
    Or,
    Term,
    near_side,
    positive_terms,
    with_field,
)

__all__ = [
    "FIELDS",
    "MAX_NEAR",
    "And",
    "Near",
    "Node",
    "Not",
    "Or",
    "QuerySyntaxError",
    "Term",
    "keyword_problem",
    "keywords_query",
    "parse_query",
    "positive_terms",
    "query_problem",
]

MAX_DEPTH = 100  # NOTs and parentheses; deeper is a mistake, and would exhaust the stack
# Punctuation that separates the tokens of a phrase (Russia-ASEAN, Hun's, U.S.,
# R&D): the same punctuation separates them in the text, so nothing is lost.
_JOINERS = set(DASHES + "'\u2018\u2019\u02bc.,/:&")
_ALWAYS_REFUSED = set("+#")  # C++, C#, F#: the symbol is the whole point of the name
_SPOKEN = {"+": "plus", "#": "sharp", "$": "dollar", "%": "percent", "@": "at"}
_SHORTEST_KEPT = 3  # $5 or @x: what is left after dropping the symbols is too vague


def parse_query(query: str) -> Node:
    """The tree of `query`; raises QuerySyntaxError naming the column."""
    parser = _Parser(query, lex(query))
    if parser.peek().kind == "end":
        raise QuerySyntaxError(query, 1, "empty query")
    node = parser.parse_or()
    token = parser.peek()
    if token.kind == ")":
        parser.fail(token, "unexpected ')' (no '(' to close)")
    if token.kind != "end":  # pragma: no cover - parse_and consumes every other token
        parser.fail(token, f"unexpected '{token.text}'")
    return node


def query_problem(query: str) -> str | None:
    """Why `query` does not parse (the message and the caret line), or None when it does."""
    try:
        parse_query(query)
    except QuerySyntaxError as exc:
        return str(exc)
    return None


def keyword_problem(keyword: str) -> str | None:
    """Why a `keywords:` entry cannot be matched as written (C++, C#), or None."""
    text = keyword.strip().rstrip("*").strip()
    if not term_tokens(text):
        return f"the keyword '{keyword}' has no letters or digits to match"
    symbols = _unmatchable_symbols(text)
    if symbols:
        return (
            f"the keyword '{keyword}' has symbols that cannot be matched ({symbols});"
            f" spell them in words{_spoken(text, symbols)} or drop them"
        )
    return None


def keywords_query(keywords: tuple[str, ...] | list[str]) -> Node:
    """``keywords: [a, b]``: each keyword a literal term (``*`` at the end: a prefix), ORed."""
    terms: list[Node] = []
    for keyword in keywords:
        text = keyword.strip()
        prefix = text.endswith("*")
        text = text.rstrip("*").strip()
        if term_tokens(text):
            terms.append(Term(text, prefix))
    return terms[0] if len(terms) == 1 else Or(tuple(terms))


def _unmatchable_symbols(text: str) -> str:
    """The symbols of `text` that matching drops so that the term changes meaning, or ""."""
    for word in text.split():
        symbols = [c for c in word if not _kept(c) and c not in _JOINERS]
        kept = sum(1 for c in word if _kept(c))
        if set(symbols) & _ALWAYS_REFUSED or (symbols and kept < _SHORTEST_KEPT):
            return "".join(dict.fromkeys(symbols))
    return ""


def _spoken(text: str, symbols: str) -> str:
    """', e.g. "C plus plus",' for C++; "" when a symbol has no usual name."""
    if not all(c in _SPOKEN for c in symbols):
        return ""
    spoken = "".join(f" {_SPOKEN[c]} " if c in _SPOKEN else c for c in text)
    return f', e.g. "{" ".join(spoken.split())}",'


def _kept(ch: str) -> bool:
    """A character of a token (letters, digits, marks of Khmer or Thai, and "_")."""
    return ch == "_" or unicodedata.category(ch)[0] in "LNM"


class _Parser:
    def __init__(self, query: str, tokens: list[Token]) -> None:
        self.query = query
        self.tokens = tokens
        self.position = 0
        self.depth = 0
        self.field: str | None = None  # the field in force, for its own rules (url: keeps "+")

    def peek(self) -> Token:
        return self.tokens[self.position]

    def take(self) -> Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def fail(self, token: Token, reason: str) -> NoReturn:
        raise QuerySyntaxError(self.query, token.column, reason)

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.peek().kind == "or":
            operator = self.take()
            children.append(self.parse_and(after=operator))
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self, after: Token | None = None) -> Node:
        children = [self.parse_unary(after)]
        while True:
            token = self.peek()
            if token.kind == "and":
                self.take()
                children.append(self.parse_unary(token))
            elif token.kind in ("word", "phrase", "field", "(", "not", "minus"):
                children.append(self.parse_unary())
            else:
                break
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_unary(self, after: Token | None = None) -> Node:
        token = self.peek()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(token, f"the query nests deeper than {MAX_DEPTH} levels")
        if token.kind in ("not", "minus"):
            self.take()
            node: Node = Not(self.parse_unary(token))
        else:
            node = self.parse_near(after)
        self.depth -= 1
        return node

    def parse_near(self, after: Token | None) -> Node:
        operands = [self.parse_primary(after)]
        nears: list[Near] = []
        while self.peek().kind == "near":
            operator = self.take()
            operands.append(self.parse_primary(operator))
            # a NEAR/n b NEAR/m c: a is near b, and b is near c
            nears.append(self._near(operands[-2], operands[-1], operator))
        if not nears:
            return operands[0]
        return nears[0] if len(nears) == 1 else And(tuple(nears))

    def _near(self, left: Node, right: Node, operator: Token) -> Near:
        left_terms, right_terms = near_side(left), near_side(right)
        if left_terms is None or right_terms is None:
            self.fail(
                operator, "NEAR needs a word or phrase on each side (or a group joined by OR)"
            )
        fields = {t.field for t in (*left_terms, *right_terms) if t.field}
        if len(fields) > 1:
            self.fail(operator, "NEAR needs both sides in the same field")
        return Near(left_terms, right_terms, operator.distance)

    def parse_primary(self, after: Token | None) -> Node:
        token = self.take()
        if token.kind == "field":
            if self.peek().kind == "field":
                self.fail(self.peek(), f"a field cannot follow '{token.text}:'")
            outer, self.field = self.field, token.text
            node = self.parse_primary(token)
            self.field = outer
            return with_field(node, token.text)
        if token.kind == "(":
            if self.peek().kind == ")":
                self.fail(self.peek(), "empty parentheses")
            node = self.parse_or()
            closing = self.take()
            if closing.kind != ")":
                self.fail(token, "missing ')' to close this '('")
            return node
        if token.kind in ("word", "phrase"):
            text = token.text.strip()
            if not text and token.prefix:
                self.fail(token, "'*' needs a word before it (Russia*)")
            what = "phrase" if token.kind == "phrase" else "word"
            if not term_tokens(text):
                self.fail(token, f"the {what} '{token.text}' has no letters or digits to match")
            symbols = "" if self.field == "url" else _unmatchable_symbols(text)
            if symbols:
                self.fail(
                    token,
                    f"the {what} '{token.text}' has symbols that cannot be matched ({symbols});"
                    f" spell them in words{_spoken(text, symbols)} or drop them",
                )
            return Term(" ".join(text.split()), token.prefix)
        self.position -= 1
        where = ""
        if after is not None:
            where = f" after '{after.text}:'" if after.kind == "field" else f" after {after.text}"
        found = {"end": "the end of the query", ")": "')'"}.get(token.kind, token.text)
        self.fail(token, f"expected a term{where}, found {found}")
