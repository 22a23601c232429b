"""OPML in and out: feed lists from and for other feed readers. Pure: bytes and data in, data out.

`parse_opml` reads every feed outline, nested folders included (a folder's
name becomes a tag); `plan_import` decides which feeds are new and names
them; `render_opml` writes OPML 2.0.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

from anyascii import anyascii
from lxml import etree

from monitor.errors import ParseError
from monitor.normalize.clean import canonical_url

__all__ = [
    "ExportSource",
    "ImportPlan",
    "NewSource",
    "OpmlFeed",
    "parse_opml",
    "plan_import",
    "render_opml",
    "slug",
]

_NAME_MAX = 40
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """A feed outline: its URL, title and the folders it sits in (outermost first)."""

    url: str
    title: str
    folders: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()  # the OPML 2.0 `category` attribute, split


@dataclass(frozen=True, slots=True)
class NewSource:
    """A source to append to the config."""

    name: str
    url: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """What an import adds, and what it leaves out and why."""

    added: list[NewSource]
    skipped: list[tuple[str, str]]  # (url, reason)


@dataclass(frozen=True, slots=True)
class ExportSource:
    """A configured source as an OPML outline."""

    name: str
    url: str
    tags: tuple[str, ...] = ()


def parse_opml(data: bytes) -> list[OpmlFeed]:
    """Every outline with an ``xmlUrl``, in document order (raises ParseError)."""
    # No entities, no network: an OPML file from elsewhere is untrusted input.
    # No recover=True: a truncated file must fail, not import the feeds before the cut.
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root: Any = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"not an OPML file: invalid XML: {exc.msg}") from None
    if root is None or _local(root.tag) != "opml":
        raise ParseError("not an OPML file: the document's root is not <opml>")
    body = next((child for child in root if _local(child.tag) == "body"), None)
    if body is None:
        raise ParseError("not an OPML file: no <body>")
    feeds: list[OpmlFeed] = []
    _walk(body, (), feeds)
    return feeds


def _walk(node: Any, folders: tuple[str, ...], out: list[OpmlFeed]) -> None:
    for child in node:
        if not isinstance(child.tag, str) or _local(child.tag) != "outline":
            continue
        attrs = {str(k).lower(): str(v).strip() for k, v in child.attrib.items()}
        title = attrs.get("title") or attrs.get("text") or ""
        url = attrs.get("xmlurl", "")
        if url:
            categories = tuple(
                part.strip("/").rsplit("/", 1)[-1]
                for part in attrs.get("category", "").split(",")
                if part.strip("/ ")
            )
            out.append(OpmlFeed(url, title, folders, categories))
        # A feed outline may hold children too (some readers nest that way).
        _walk(child, (*folders, title) if not url and title else folders, out)


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1].lower()


def slug(text: str, max_length: int = _NAME_MAX) -> str:
    """A source name from a title: ASCII lowercase letters, digits and '-'.

    Other scripts are transliterated ("Новости Москвы" -> novosti-moskvy,
    "新华网" -> xinhuawang), so a Khmer or Cyrillic title still names its source.
    """
    bounded = unicodedata.normalize("NFKC", text[: max_length * 4])
    ascii_text = anyascii(bounded)
    return _NOT_SLUG.sub("-", ascii_text.lower())[:max_length].strip("-")


def plan_import(
    feeds: Iterable[OpmlFeed],
    *,
    existing_names: Iterable[str],
    existing_urls: Iterable[tuple[str, str]],
) -> ImportPlan:
    """Name the new feeds uniquely; skip URLs already configured (or twice in the file).

    `existing_urls` are (name, url) pairs of the configured sources.
    """
    taken = set(existing_names)
    known = {_identity(url): name for name, url in existing_urls}
    added: list[NewSource] = []
    skipped: list[tuple[str, str]] = []
    for feed in feeds:
        parts = urlsplit(feed.url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            skipped.append((feed.url, "not an http(s) URL"))
            continue
        identity = _identity(feed.url)
        if identity in known:
            skipped.append((feed.url, f"already configured as {known[identity]}"))
            continue
        host = (parts.hostname or "").removeprefix("www.")
        name = _unique(slug(feed.title) or slug(host) or "feed", taken)
        tags = tuple(dict.fromkeys(t for t in map(slug, (*feed.folders, *feed.categories)) if t))
        taken.add(name)
        known[identity] = name
        added.append(NewSource(name, feed.url, tags))
    return ImportPlan(added, skipped)


def _identity(url: str) -> str:
    try:
        return canonical_url(url)
    except ValueError:
        return url.strip()


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    n = 2
    while f"{name[: _NAME_MAX - 4]}-{n}" in taken:
        n += 1
    return f"{name[: _NAME_MAX - 4]}-{n}"


def render_opml(sources: Sequence[ExportSource], *, title: str, now: datetime) -> str:
    """An OPML 2.0 document with one ``type="rss"`` outline per source; tags as categories."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "  <head>",
        f"    <title>{_text(title)}</title>",
        f"    <dateCreated>{format_datetime(now)}</dateCreated>",
        "    <docs>http://opml.org/spec2.opml</docs>",
        "  </head>",
        "  <body>",
    ]
    for source in sources:
        attrs = [
            ("type", "rss"),
            ("text", source.name),
            ("title", source.name),
            ("xmlUrl", source.url),
        ]
        if source.tags:
            attrs.append(("category", ",".join(f"/{tag}" for tag in source.tags)))
        rendered = " ".join(f"{key}={quoteattr(value)}" for key, value in attrs)
        lines.append(f"    <outline {rendered}/>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
