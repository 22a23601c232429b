"""The config file's YAML as plain data that remembers lines, in linear time.

libyaml (PyYAML's C parser) composes the node tree: ruamel.yaml's pure-Python
round trip spent about 20 s per MB, so a 10 MB file of 66,000 sources took
minutes. The nodes become `YamlMap` and `YamlSeq` (a dict and a list that know
the line of each key and item). Plain scalars are read as YAML 1.2, as
ruamel.yaml read them: `yes`, `no`, `on` and `1:30` are strings, `010` is
ten, not the booleans and sexagesimals of YAML 1.1. Merge keys (``<<``) work.

Aliases are shared, never copied, and what they would expand to is counted
first, once per node (memoised, so a bomb of nested aliases costs as much as
it is long): `alias_overflow` names where the expansion passes the budget.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = [
    "ALIAS_BUDGET",
    "TreeError",
    "UnsupportedTag",
    "YamlMap",
    "YamlSeq",
    "alias_overflow",
    "build",
    "compose",
]

# Nodes aliases may add beyond those written (or as many as are written, for
# a large file): sharing an anchor between a few sources stays far below it,
# and interpolation copies at most this many.
ALIAS_BUDGET = 10_000
_CAP = 1 << 62  # an expansion size standing for "endless" (an alias inside itself)
_YAML_TAG = "tag:yaml.org,2002:"
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9][0-9_]*")
_RADIX_INT = re.compile(r"0o[0-7_]+|0x[0-9a-fA-F_]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?")
_SPECIAL_FLOATS = {".inf": "inf", "+.inf": "inf", "-.inf": "-inf", ".nan": "nan"}
_Path = tuple[tuple[str | int, int], ...]  # key path parts, each with its line
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}"
    r"(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?"
)
_TAGS = {
    ScalarNode: _YAML_TAG + "str",
    SequenceNode: _YAML_TAG + "seq",
    MappingNode: _YAML_TAG + "map",
}


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml without PyYAML's YAML 1.1 tag guessing, a third of the time: `_scalar` reads plain
    scalars (as YAML 1.2)."""

    def resolve(self, kind: type[Node], value: Any, implicit: Any) -> str:
        return _TAGS[kind]


_TIMESTAMPS = SafeConstructor()  # for dates, which plain scalars may be


class TreeError(Exception):
    """Something a YAML parser accepts but a config cannot hold, at a line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class UnsupportedTag:
    """A scalar with a tag of its own (``!env X``): reported, never guessed at."""

    tag: str


class YamlMap(dict[Any, Any]):
    """A mapping with the line of each of its keys."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}


class YamlSeq(list[Any]):
    """A list with the line of each of its items."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


def compose(text: str) -> Node | None:
    """The YAML node tree of `text` (None when empty); raises yaml.YAMLError."""
    node: Node | None = yaml.compose(text, Loader=_Loader)
    return node


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _children(node: Node) -> Iterator[Node]:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            yield key
            yield value
    elif isinstance(node, SequenceNode):
        yield from node.value


def alias_overflow(
    root: Node, budget: int = ALIAS_BUDGET
) -> tuple[int, tuple[str | int, ...], int] | None:
    """(line, key path, limit) of the alias whose expansion passes the limit, else None.

    The limit is `budget` or the number of nodes written, whichever is larger.
    """
    sizes: dict[int, int] = {}
    written = 1

    def size(node: Node) -> int:
        nonlocal written
        if isinstance(node, ScalarNode):
            return 1
        known = sizes.get(id(node))
        if known is not None:
            return known
        sizes[id(node)] = _CAP  # until finished: an alias back into it is endless
        children = list(_children(node))
        written += len(children)
        total = min(_CAP, 1 + sum(size(child) for child in children))
        sizes[id(node)] = total
        return total

    if size(root) - written <= max(budget, written):
        return None
    limit = max(budget, written)
    seen = {id(root)}
    added = 0

    def locate(node: Node, path: _Path) -> _Path | None:
        nonlocal added
        if isinstance(node, MappingNode):
            slots = [(_key_part(k), _line(k), c) for k, v in node.value for c in (k, v)]
        else:
            slots = [(i, _line(c), c) for i, c in enumerate(_children(node))]
        for part, line, child in slots:
            if isinstance(child, ScalarNode):
                continue
            here = (*path, (part, line))
            if id(child) in seen:
                added += sizes[id(child)] - 1
                if added > limit:
                    return here
            else:
                seen.add(id(child))
                found = locate(child, here)
                if found is not None:
                    return found
        return None

    found = locate(root, ())
    if found is None:  # not reached: the same sum, in another order
        return _line(root), (), limit
    field = found[:3]  # section, item and key: the field the user wrote the aliases in
    return field[-1][1], tuple(part for part, _ in field), limit


def _key_part(node: Node) -> str | int:
    key = _scalar(node) if isinstance(node, ScalarNode) else None
    return key if isinstance(key, str | int) and not isinstance(key, bool) else str(key)


def build(root: Node) -> Any:
    """Plain data from the node tree; an aliased node is built once and shared."""
    built: dict[int, Any] = {}

    def walk(node: Node) -> Any:
        if isinstance(node, ScalarNode):
            return _scalar(node)
        known = built.get(id(node))
        if known is not None:
            return known
        if isinstance(node, SequenceNode):
            seq = built[id(node)] = YamlSeq(_line(node))
            for item in node.value:
                seq.append(walk(item))
                seq.item_lines.append(_line(item))
            return seq
        mapping = built[id(node)] = YamlMap(_line(node))
        merged: list[tuple[YamlMap, int]] = []
        for key_node, value_node in node.value:
            line = _line(key_node)
            if isinstance(key_node, ScalarNode) and not key_node.style and key_node.value == "<<":
                merged.extend((source, line) for source in _merge_sources(walk(value_node), line))
                continue
            key = walk(key_node)
            if isinstance(key, list | dict):
                raise TreeError(line, "invalid YAML: a key must be a single value")
            if key in mapping.key_lines:
                raise TreeError(line, f"duplicate key '{key}'")
            mapping[key] = walk(value_node)
            mapping.key_lines[key] = line
        for source, line in merged:  # keys written here win, then the earlier merge
            for key, value in source.items():
                if key not in mapping.key_lines:
                    mapping[key] = value
                    mapping.key_lines[key] = line
        return mapping

    return walk(root)


def _merge_sources(value: Any, line: int) -> list[YamlMap]:
    sources = value if isinstance(value, YamlSeq) else [value]
    if not all(isinstance(source, YamlMap) for source in sources):
        raise TreeError(line, "invalid YAML: '<<' merges a mapping or a list of mappings")
    return list(sources)


def _scalar(node: ScalarNode) -> Any:
    """A scalar as YAML 1.2's core schema reads it (plus dates, as ruamel.yaml did)."""
    tag, text = str(node.tag), str(node.value)
    if not tag.startswith(_YAML_TAG):
        return UnsupportedTag(tag)
    if node.style:  # quoted or a block scalar: always a string
        return text
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    if _INT.fullmatch(text):
        return int(text.replace("_", ""))
    if _RADIX_INT.fullmatch(text):
        return int(text.replace("_", ""), 0)
    if _FLOAT.fullmatch(text):
        return float(text.replace("_", ""))
    if _TIMESTAMP.fullmatch(text):
        try:
            return _TIMESTAMPS.construct_yaml_timestamp(node)
        except (ValueError, AttributeError):  # a date-like string that is no date (2024-13-45)
            return text
    special = _SPECIAL_FLOATS.get(text.lower())
    return float(special) if special else text
