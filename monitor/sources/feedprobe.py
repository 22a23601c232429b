"""What feedparser and feedparser-rs would make of a feed's bytes, told before either reads them.

Byte-level checks for the fast path (`monitor.sources.feedfast`), each one
a scan of the body:

- `codec_problem`: both parsers decode the body the same way, and feedparser
  does not complain about it (its Content-Type or charset);
- `malformed`: expat, feedparser's strict parser, finds the body
  well-formed (else feedparser falls back to its loose parser and reports
  the body as malformed);
- `layout_problem` and `item_fields`: no element that the two parsers are
  known to map to an entry's fields differently.
"""

from __future__ import annotations

import codecs
import re
import xml.parsers.expat

__all__ = ["codec_problem", "item_layout", "layout_problem", "malformed"]

# What feedparser (encodings.convert_to_utf8, RFC 3023) reads as XML, and with what default.
_APPLICATION_XML = (
    "application/xml",
    "application/xml-dtd",
    "application/xml-external-parsed-entity",
)
_TEXT_XML = ("text/xml", "text/xml-external-parsed-entity")
# Codecs (by Python's name) read alike by both parsers, ASCII first.
_ASCII_SUPERSETS = ("ascii", "utf-8", "iso8859-1")
_XML_PI_ENCODING = re.compile(rb"""^<\?.*encoding=['"](.*?)['"].*\?>""")
_ITEM_FIELD = re.compile(
    rb"<(/?)((?:[\w.-]+:)?(?:item|entry|image|title|description|summary|author|creator|link))"
    rb"[\s/>]"
)
_FAMILY = {
    **dict.fromkeys((b"title", b"dc:title", b"media:title"), "title"),
    **dict.fromkeys(
        (b"description", b"summary", b"itunes:summary", b"media:description", b"dc:description"),
        "summary",
    ),
    **dict.fromkeys((b"author", b"dc:creator", b"dc:author", b"itunes:author"), "author"),
}
_ITEM = frozenset({b"item", b"entry", b"rdf:item", b"rss:item", b"atom:entry"})
_EMPTY_AUTHOR = re.compile(
    rb"<((?:[\w.-]+:)?(?:author|creator|name))(?:\s[^<>]*)?(?:/>|>\s*</\1\s*>)"
)
_RSS_AUTHOR_EMAIL = re.compile(rb"<author>[^<]*@")
_SOURCE_WITH_CHILDREN = re.compile(rb"<(?:atom:)?source(?:\s[^<>]*)?>\s*<(?!/)")
_DCTERMS_DATE = re.compile(rb"<dcterms:(?:issued|modified|created)[\s/>]")


def codec_problem(body: bytes, content_type: str) -> tuple[str, str | None]:
    """(codec both parsers read `body` in, None) or ("", why they may read it differently).

    feedparser takes the charset by RFC 3023 from the Content-Type, the XML
    declaration or a default, and complains about a non-XML Content-Type;
    feedparser-rs sees only the XML declaration (else UTF-8).
    """
    media, _, params = content_type.partition(";")
    media = media.strip()
    charset = ""
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip("\"'")
    unmarked = body.removeprefix(codecs.BOM_UTF8)
    newline = unmarked.find(b"\n")
    # on the whole first line, as feedparser does: the last "encoding=" there counts
    in_xml = _XML_PI_ENCODING.match(unmarked if newline < 0 else unmarked[:newline])
    declared = in_xml.group(1).decode("latin-1") if in_xml else ""
    if media in _APPLICATION_XML or (media.startswith("application/") and media.endswith("+xml")):
        label = charset or declared or "utf-8"
    elif media in _TEXT_XML or (media.startswith("text/") and media.endswith("+xml")):
        label = charset or "us-ascii"
    else:
        return "", f"content type {media!r} is not an XML type"
    try:
        codec = codecs.lookup(label).name
        own = codecs.lookup(declared or "utf-8").name
    except LookupError:
        return "", f"unknown encoding {label!r} or {declared!r}"
    if codec == "ascii" and body.isascii() and own in _ASCII_SUPERSETS:
        return "utf-8", None
    if codec != own or codec not in _ASCII_SUPERSETS[1:]:
        return "", f"encoding {label} (the XML declaration says {declared or 'nothing'})"
    if codec == "utf-8":
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return "", "not UTF-8"
    return codec, None


def malformed(body: bytes, codec: str) -> str | None:
    """expat's complaint about `body`, as feedparser's strict parser would meet it."""
    parser = xml.parsers.expat.ParserCreate(codec, " ")  # namespaces on, as in feedparser
    try:
        parser.Parse(body, True)
    except xml.parsers.expat.ExpatError as exc:
        return f"malformed XML: {exc}"
    return None


def layout_problem(body: bytes) -> str | None:
    """An element feedparser-rs reads otherwise than feedparser, or None."""
    if _EMPTY_AUTHOR.search(body):
        return "empty author element"  # feedparser-rs takes the next element's text
    if _RSS_AUTHOR_EMAIL.search(body):
        return "author with an e-mail address"  # feedparser keeps it whole, feedparser-rs not
    if _DCTERMS_DATE.search(body):
        return "dcterms date"  # feedparser reads them as published/updated, feedparser-rs not
    if _SOURCE_WITH_CHILDREN.search(body):
        return "<source> with a title or author of its own"
    return None


def item_layout(body: bytes) -> tuple[list[bool], str | None]:
    """(whether each item has an author element, why their fields may be read otherwise or None).

    feedparser takes the first title, puts a second summary-like element
    (``media:description``, ``itunes:summary``...) in the content and the last
    author; feedparser-rs has its own preferences, and reads ``atom:link`` in
    an RSS item not at all. So an item with two of a kind, or with a
    namespaced link, is not read fast.
    """
    authored: list[bool] = []
    seen: dict[str, bytes] = {}
    inside = in_image = False
    for found in _ITEM_FIELD.finditer(body):
        closing, name = found.group(1), found.group(2)
        if name in _ITEM:
            if inside:
                authored.append("author" in seen)
            inside, in_image = not closing, False
            seen.clear()
            continue
        if name == b"image":  # an item's picture has a title and link of its own
            in_image = not closing and body[body.find(b">", found.start()) - 1] != ord("/")
            continue
        if not inside or in_image or closing:
            continue
        family = _FAMILY.get(name)
        first = seen.get(family) if family else None
        if family == "title" and name != b"title" and first != b"title":
            # feedparser takes the first title-like element, feedparser-rs <title>
            return authored, f"item {len(authored) + 1}: <{name.decode()}> before any <title>"
        if family and first is None:
            seen[family] = name
        # a title followed by dc:title or media:title is read alike
        elif family and not (family == "title" and first == b"title" != name):
            item = len(authored) + 1
            return authored, f"item {item}: <{(first or b'').decode()}> and <{name.decode()}>"
        elif name.endswith(b":link"):
            return authored, f"item {len(authored) + 1}: <{name.decode()}>"
    if inside:  # an item left open: expat has accepted the body, so this is a nested item
        return authored, "an item inside an item"
    return authored, None
