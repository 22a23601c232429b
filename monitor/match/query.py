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
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from typing import NoReturn

from monitor.errors import MonitorError
from monitor.match.text import term_tokens

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
FIELDS = ("title", "body", "url", "source", "author")
_OPERATORS = {"AND", "OR", "NOT"}
_NEAR = re.compile(r"NEAR(?:/(\S*))?")
MAX_NEAR = 1000  # words; more is "anywhere in the text", and huge numbers overflow
_FIELD = re.compile(r"([A-Za-z]+):")
_WORD_END = re.compile(r'[\s()"]')
_VALUE_END = re.compile(r"[\s)]")  # a field's value: ( and " may sit inside a URL
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015"
# Punctuation that separates the tokens of a phrase (Russia-ASEAN, Hun's, U.S.,
# R&D): the same punctuation separates them in the text, so nothing is lost.
_JOINERS = set(_DASHES + "'\u2018\u2019\u02bc.,/:&")
_ALWAYS_REFUSED = set("+#")  # C++, C#, F#: the symbol is the whole point of the name
_SPOKEN = {"+": "plus", "#": "sharp", "$": "dollar", "%": "percent", "@": "at"}
_SHORTEST_KEPT = 3  # $5 or @x: what is left after dropping the symbols is too vague


class QuerySyntaxError(MonitorError):
    """A query that does not parse: where (1-based column) and why."""

    def __init__(self, query: str, column: int, reason: str) -> None:
        self.query = query
        self.column = column
        self.reason = reason
        super().__init__(f"{self.headline()}\n{self.caret()}")

    def headline(self) -> str:
        return f"syntax error at column {self.column}: {self.reason}"

    def caret(self) -> str:
        """The query on one line and a caret under the column."""
        shown = re.sub(r"\s", " ", self.query)
        return f"  {shown}\n  {' ' * (self.column - 1)}^"


@dataclass(frozen=True, slots=True)
class Term:
    """A word, a phrase (several tokens in a row) or a prefix (``Russia*``)."""

    text: str  # as written, without quotes or the trailing *
    prefix: bool = False
    field: str | None = None  # None: title + summary + body

    def label(self) -> str:
        """The term as the user wrote it, for explanations."""
        field = f"{self.field}:" if self.field else ""
        return field + self.text + ("*" if self.prefix else "")


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Near:
    """Any term of `left` and any term of `right` with at most `distance` words between."""

    left: tuple[Term, ...]
    right: tuple[Term, ...]
    distance: int


Node = Term | Not | And | Or | Near


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # ( ) word phrase field and or not near minus end
    text: str
    column: int
    prefix: bool = False
    distance: int = 0


def parse_query(query: str) -> Node:
    """The tree of `query`; raises QuerySyntaxError naming the column."""
    parser = _Parser(query, list(_lex(query)))
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


def positive_terms(node: Node, negated: bool = False) -> list[Term]:
    """The terms whose presence can make the query match (not under NOT)."""
    if isinstance(node, Term):
        return [] if negated else [node]
    if isinstance(node, Not):
        return positive_terms(node.child, not negated)
    if isinstance(node, Near):
        return [] if negated else [*node.left, *node.right]
    return [t for child in node.children for t in positive_terms(child, negated)]


def _lex(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        column = i + 1
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(_Token(ch, ch, column))
            i += 1
        elif ch == '"':
            end = query.find('"', i + 1)
            if end == -1:
                raise QuerySyntaxError(query, column, "unterminated phrase (missing closing '\"')")
            prefix = query.startswith("*", end + 1)
            tokens.append(_Token("phrase", query[i + 1 : end], column, prefix=prefix))
            i = end + 1 + prefix
        elif ch in _DASHES and _stands_alone(query, i):
            i += 1  # "Russia - ASEAN": punctuation between words, like a comma
        elif ch == "-" and i + 1 < n and not query[i + 1].isspace():
            tokens.append(_Token("minus", "-", column))
            i += 1
        else:
            field = _FIELD.match(query, i)
            if field and query.startswith("//", field.end()):
                field = None  # http://x.org is a word (a URL), not the field "http"
            if field:
                name = field.group(1)
                if name.lower() not in FIELDS:
                    raise QuerySyntaxError(
                        query, column, f"unknown field '{name}' (use {', '.join(FIELDS)})"
                    )
                tokens.append(_Token("field", name.lower(), column))
                i = field.end()
                inner = _FIELD.match(query, i)
                nested = inner is not None and inner.group(1).lower() in FIELDS
                if i < n and not query[i].isspace() and query[i] not in '("-' and not nested:
                    stop = _VALUE_END.search(query, i)
                    end = stop.start() if stop else n
                    tokens.append(_word(query, query[i:end], i + 1))
                    i = end
                continue
            stop = _WORD_END.search(query, i)
            end = stop.start() if stop else n
            tokens.append(_word(query, query[i:end], column))
            i = end
    tokens.append(_Token("end", "", n + 1))
    return tokens


def _stands_alone(query: str, i: int) -> bool:
    before = query[i - 1] if i > 0 else " "
    after = query[i + 1] if i + 1 < len(query) else " "
    return before.isspace() and after.isspace()


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


def _word(query: str, word: str, column: int) -> _Token:
    if word in _OPERATORS:
        return _Token(word.lower(), word, column)
    near = _NEAR.fullmatch(word)
    if near:
        if not near.group(1) or not near.group(1).isdigit():
            raise QuerySyntaxError(query, column, "NEAR needs a distance in words, e.g. NEAR/5")
        if int(near.group(1)) > MAX_NEAR:
            raise QuerySyntaxError(query, column, f"NEAR distance is at most {MAX_NEAR} words")
        return _Token("near", word, column, distance=int(near.group(1)))
    star = word.find("*")
    if star != -1 and star != len(word) - 1:
        raise QuerySyntaxError(query, column + star, "'*' is only allowed at the end of a word")
    return _Token("word", word.rstrip("*"), column, prefix=word.endswith("*"))


class _Parser:
    def __init__(self, query: str, tokens: list[_Token]) -> None:
        self.query = query
        self.tokens = tokens
        self.position = 0
        self.depth = 0
        self.field: str | None = None  # the field in force, for its own rules (url: keeps "+")

    def peek(self) -> _Token:
        return self.tokens[self.position]

    def take(self) -> _Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def fail(self, token: _Token, reason: str) -> NoReturn:
        raise QuerySyntaxError(self.query, token.column, reason)

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.peek().kind == "or":
            operator = self.take()
            children.append(self.parse_and(after=operator))
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self, after: _Token | None = None) -> Node:
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

    def parse_unary(self, after: _Token | None = None) -> Node:
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

    def parse_near(self, after: _Token | None) -> Node:
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

    def _near(self, left: Node, right: Node, operator: _Token) -> Near:
        left_terms, right_terms = _near_side(left), _near_side(right)
        if left_terms is None or right_terms is None:
            self.fail(
                operator, "NEAR needs a word or phrase on each side (or a group joined by OR)"
            )
        fields = {t.field for t in (*left_terms, *right_terms) if t.field}
        if len(fields) > 1:
            self.fail(operator, "NEAR needs both sides in the same field")
        return Near(left_terms, right_terms, operator.distance)

    def parse_primary(self, after: _Token | None) -> Node:
        token = self.take()
        if token.kind == "field":
            if self.peek().kind == "field":
                self.fail(self.peek(), f"a field cannot follow '{token.text}:'")
            outer, self.field = self.field, token.text
            node = self.parse_primary(token)
            self.field = outer
            return _with_field(node, token.text)
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


def _near_side(node: Node) -> tuple[Term, ...] | None:
    if isinstance(node, Term):
        return (node,)
    if isinstance(node, Or) and all(isinstance(c, Term) for c in node.children):
        return tuple(c for c in node.children if isinstance(c, Term))
    return None


def _with_field(node: Node, field: str) -> Node:
    """`field` on every term below `node` that has none of its own."""
    if isinstance(node, Term):
        return node if node.field else replace(node, field=field)
    if isinstance(node, Not):
        return Not(_with_field(node.child, field))
    if isinstance(node, Near):
        left = tuple(t if t.field else replace(t, field=field) for t in node.left)
        right = tuple(t if t.field else replace(t, field=field) for t in node.right)
        return Near(left, right, node.distance)
    children = tuple(_with_field(child, field) for child in node.children)
    return And(children) if isinstance(node, And) else Or(children)
