"""The query language's lexer: query text to tokens, each with its 1-based column.

Operators are upper case (``and`` is a word); a dash standing alone between
words is punctuation, not NOT; after ``field:`` the value runs to the next
space or ``)``. Lexical errors raise `QuerySyntaxError` at their column.
The grammar lives in `monitor.match.query`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.errors import QuerySyntaxError

__all__ = ["DASHES", "FIELDS", "MAX_NEAR", "Token", "lex"]

FIELDS = ("title", "body", "url", "source", "author")
MAX_NEAR = 1000  # words; more is "anywhere in the text", and huge numbers overflow
DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015"
_OPERATORS = {"AND", "OR", "NOT"}
_NEAR = re.compile(r"NEAR(?:/(\S*))?")
_FIELD = re.compile(r"([A-Za-z]+):")
_WORD_END = re.compile(r'[\s()"]')
_VALUE_END = re.compile(r"[\s)]")  # a field's value: ( and " may sit inside a URL


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # ( ) word phrase field and or not near minus end
    text: str
    column: int
    prefix: bool = False
    distance: int = 0


def lex(query: str) -> list[Token]:
    """The tokens of `query`, ending with an "end" token; raises QuerySyntaxError."""
    tokens: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        column = i + 1
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(Token(ch, ch, column))
            i += 1
        elif ch == '"':
            end = query.find('"', i + 1)
            if end == -1:
                raise QuerySyntaxError(query, column, "unterminated phrase (missing closing '\"')")
            prefix = query.startswith("*", end + 1)
            tokens.append(Token("phrase", query[i + 1 : end], column, prefix=prefix))
            i = end + 1 + prefix
        elif ch in DASHES and _stands_alone(query, i):
            i += 1  # "Russia - ASEAN": punctuation between words, like a comma
        elif ch == "-" and i + 1 < n and not query[i + 1].isspace():
            tokens.append(Token("minus", "-", column))
            i += 1
        else:
            field = _FIELD.match(query, i)
            if field and query.startswith("//", field.end()):
                field = None  # http://x.org is a word (a URL), not the field "http"
            if field:
                i = _lex_field(query, field, tokens)
                continue
            stop = _WORD_END.search(query, i)
            end = stop.start() if stop else n
            tokens.append(_word(query, query[i:end], column))
            i = end
    tokens.append(Token("end", "", n + 1))
    return tokens


def _lex_field(query: str, field: re.Match[str], tokens: list[Token]) -> int:
    """Append the field token (and its value when it is a bare word); return where to go on."""
    name = field.group(1)
    if name.lower() not in FIELDS:
        raise QuerySyntaxError(
            query, field.start() + 1, f"unknown field '{name}' (use {', '.join(FIELDS)})"
        )
    tokens.append(Token("field", name.lower(), field.start() + 1))
    i, n = field.end(), len(query)
    inner = _FIELD.match(query, i)
    nested = inner is not None and inner.group(1).lower() in FIELDS
    if i < n and not query[i].isspace() and query[i] not in '("-' and not nested:
        stop = _VALUE_END.search(query, i)
        end = stop.start() if stop else n
        tokens.append(_word(query, query[i:end], i + 1))
        i = end
    return i


def _stands_alone(query: str, i: int) -> bool:
    before = query[i - 1] if i > 0 else " "
    after = query[i + 1] if i + 1 < len(query) else " "
    return before.isspace() and after.isspace()


def _word(query: str, word: str, column: int) -> Token:
    if word in _OPERATORS:
        return Token(word.lower(), word, column)
    near = _NEAR.fullmatch(word)
    if near:
        if not near.group(1) or not near.group(1).isdigit():
            raise QuerySyntaxError(query, column, "NEAR needs a distance in words, e.g. NEAR/5")
        if int(near.group(1)) > MAX_NEAR:
            raise QuerySyntaxError(query, column, f"NEAR distance is at most {MAX_NEAR} words")
        return Token("near", word, column, distance=int(near.group(1)))
    star = word.find("*")
    if star != -1 and star != len(word) - 1:
        raise QuerySyntaxError(query, column + star, "'*' is only allowed at the end of a word")
    return Token("word", word.rstrip("*"), column, prefix=word.endswith("*"))
