"""The query tree: what `monitor.match.query` parses to and the engine evaluates.

A tree is immutable data: terms (words, phrases, prefixes, each maybe in one
field) joined by NOT, AND, OR and NEAR/n. Functions here walk it and build
new trees; none of them knows the query syntax.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["And", "Near", "Node", "Not", "Or", "Term", "near_side", "positive_terms", "with_field"]


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


def positive_terms(node: Node, negated: bool = False) -> list[Term]:
    """The terms whose presence can make the query match (not under NOT)."""
    if isinstance(node, Term):
        return [] if negated else [node]
    if isinstance(node, Not):
        return positive_terms(node.child, not negated)
    if isinstance(node, Near):
        return [] if negated else [*node.left, *node.right]
    return [t for child in node.children for t in positive_terms(child, negated)]


def near_side(node: Node) -> tuple[Term, ...] | None:
    """The terms `node` offers as one side of NEAR (a term, or terms joined by OR), else None."""
    if isinstance(node, Term):
        return (node,)
    if isinstance(node, Or) and all(isinstance(c, Term) for c in node.children):
        return tuple(c for c in node.children if isinstance(c, Term))
    return None


def with_field(node: Node, field: str) -> Node:
    """`field` on every term below `node` that has none of its own."""
    if isinstance(node, Term):
        return node if node.field else replace(node, field=field)
    if isinstance(node, Not):
        return Not(with_field(node.child, field))
    if isinstance(node, Near):
        left = tuple(t if t.field else replace(t, field=field) for t in node.left)
        right = tuple(t if t.field else replace(t, field=field) for t in node.right)
        return Near(left, right, node.distance)
    children = tuple(with_field(child, field) for child in node.children)
    return And(children) if isinstance(node, And) else Or(children)
