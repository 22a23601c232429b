"""What feedparser and feedparser-rs would make of a feed's bytes, told before either reads them.

Byte-level checks for the fast path (`monitor.sources.feedfast`), each one
a scan of the body:

- `codec_problem`: both parsers decode the body the same way, and feedparser
  does not complain about it (its Content-Type or charset);
- `malformed`: expat, feedparser's strict parser, finds the body
  well-formed (else feedparser falls back to its loose parser and reports
  the body as malformed);
- `layout_problem` and `item_fields`: no element that the two parsers are
  known to map to an entry's fields differently;
- `guid_permalinks`: which items' guids feedparser resolves as URLs.
"""

from __future__ import annotations

import codecs
import re
import xml.parsers.expat

__all__ = ["codec_problem", "guid_permalinks", "item_layout", "layout_problem", "malformed"]

# What feedparser (encodings.convert_to_utf8, RFC 3023) reads as XML, and with what default.
_APPLICATION_XML = (
    "application/xml",
    "application/xml-dtd",
    "application/xml-external-parsed-entity",
)
_TEXT_XML = ("text/xml", "text/xml-external-parsed-entity")
# Codecs (by Python's name) read alike by both parsers, ASCII first.
_ASCII_SUPERSETS = ("ascii", "utf-8", "iso8859-1")
_TAG_REST = re.compile(rb"[^<>]*>")
_QUOTE = re.compile(rb"['\"]")
_ITEM_FIELD = re.compile(
    rb"<(/?)((?:[\w.-]+:)?(?:item|entry|image|title|description|summary|author|creator|link))"
    rb"[\s/>]"
)
_FAMILY = {
    **dict.fromkeys(
        (b"title", b"dc:title", b"media:title", b"atom:title", b"atom10:title"), "title"
    ),
    **dict.fromkeys(
        (b"description", b"summary", b"itunes:summary", b"media:description", b"dc:description",
         b"atom:summary", b"atom10:summary"),
        "summary",
    ),
    **dict.fromkeys(
        (b"author", b"dc:creator", b"dc:author", b"itunes:author", b"atom:author",
         b"atom10:author"),
        "author",
    ),
}  # fmt: skip
_ITEM_OR_GUID = re.compile(rb"<((?:[\w.-]+:)?(?:item|entry|guid))([\s/>][^<>]*)?>")
_PERMALINK_ATTRIBUTE = re.compile(
    rb"""\sispermalink\s*=\s*(?:"([^"<>]*)"|'([^'<>]*)')""", re.IGNORECASE
)
_ITEM = frozenset({b"item", b"entry", b"rdf:item", b"rss:item", b"atom:entry"})
_EMPTY_AUTHOR = re.compile(
    rb"<((?:[\w.-]+:)?(?:author|creator|name))(?:\s[^<>]*)?(?:/>|>\s*</\1\s*>)"
)
_RSS_AUTHOR_EMAIL = re.compile(rb"<author>[^<]*@")
_XMLNS = re.compile(rb"""\sxmlns(?::([\w.-]+))?\s*=\s*["']([^"'<>]*)["']""")
_ATOM = frozenset({b"atom", b"atom10"})
_PREFIXES = {
    b"http://purl.org/dc/elements/1.1/": frozenset({b"dc"}),
    b"http://purl.org/dc/terms/": frozenset({b"dcterms"}),
    b"http://search.yahoo.com/mrss/": frozenset({b"media"}),
    b"http://search.yahoo.com/mrss": frozenset({b"media"}),
    b"http://www.itunes.com/dtds/podcast-1.0.dtd": frozenset({b"itunes"}),
    b"http://www.itunes.com/DTDs/Podcast-1.0.dtd": frozenset({b"itunes"}),
    b"http://example.com/DTDs/PodCast-1.0.dtd": frozenset({b"itunes"}),
    b"http://www.w3.org/2005/Atom": _ATOM,
    b"http://purl.org/rss/1.0/modules/content/": frozenset({b"content"}),
    b"http://www.w3.org/1999/02/22-rdf-syntax-ns#": frozenset({b"rdf"}),
}
_KNOWN_PREFIXES = frozenset().union(*_PREFIXES.values())
_DEFAULT_NAMESPACES = frozenset(
    {
        b"",
        b"http://www.w3.org/2005/Atom",
        b"http://purl.org/atom/ns#",
        b"http://purl.org/rss/1.0/",
        b"http://my.netscape.com/rdf/simple/0.9/",
        b"http://backend.userland.com/rss2",
    }
)
_EMPTY_TITLE = re.compile(rb"<title(?:\s[^<>]*)?(?:/>|>\s*(?:<!\[CDATA\[\s*\]\]>\s*)?</title\s*>)")
_XHTML_CONTENT = re.compile(rb"""type\s*=\s*["']xhtml["']""")
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
    declared = _declared_encoding(body.removeprefix(codecs.BOM_UTF8))
    if declared is None:
        return "", "several encoding= on the first line"
    if media in _APPLICATION_XML or (media.startswith("application/") and media.endswith("+xml")):
        label = charset or declared or "utf-8"
    elif media in _TEXT_XML or (media.startswith("text/") and media.endswith("+xml")):
        label = charset or "us-ascii"
    else:
        return "", f"content type {media!r} is not an XML type"
    try:
        codec = codecs.lookup(label).name
        own = codecs.lookup(declared or "utf-8").name
    except LookupError as exc:
        return "", f"encoding: {exc}"
    if body.startswith(codecs.BOM_UTF8) and codec != "utf-8":
        return "", f"a UTF-8 byte order mark on a body in {label}"
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


def _declared_encoding(body: bytes) -> str | None:
    """The encoding feedparser reads from the first line, "" if none, None if in doubt.

    feedparser matches ``^<\\?.*encoding=['"](.*?)['"].*\\?>`` on the first line,
    which backtracks badly on a long line with many "encoding="; with one, this
    is the same match in linear time.
    """
    newline = body.find(b"\n")
    line = body if newline < 0 else body[:newline]
    if not line.startswith(b"<?"):
        return ""
    count = line.count(b"encoding=")
    if count > 1:
        return None
    at = line.find(b"encoding=")
    if count == 0 or at < 2 or line[at + 9 : at + 10] not in (b"'", b'"'):
        return ""
    close = _QUOTE.search(line, at + 10)
    if close is None or line.find(b"?>", close.end()) < 0:
        return ""
    return line[at + 10 : close.start()].decode("latin-1")


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
    if (b"dc:title" in body or b"media:title" in body) and _EMPTY_TITLE.search(body):
        return "an empty title and dc:title or media:title"  # feedparser takes the other
    if _XHTML_CONTENT.search(body):
        return "xhtml content"  # feedparser unwraps its <div> by rules of its own
    return _namespace_problem(body)


def _namespace_problem(body: bytes) -> str | None:
    """A namespace under another prefix than the one the element checks here expect.

    feedparser knows elements by namespace (``<a10:author>`` is an Atom author),
    the checks of this module by their usual prefix.
    """
    for found in _XMLNS.finditer(body):
        prefix, uri = found.group(1), found.group(2).strip()
        expected = _PREFIXES.get(uri)
        if prefix is None:
            if uri not in _DEFAULT_NAMESPACES:
                return f"default namespace {uri.decode('latin-1')[:60]}"
        elif prefix not in (expected or ()) and (expected or prefix in _KNOWN_PREFIXES):
            return f"namespace prefix {prefix.decode('latin-1')[:20]}"
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
            tag = _TAG_REST.match(body, found.end() - 1)
            in_image = not closing and not (tag and tag.group().endswith(b"/>"))
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


def guid_permalinks(body: bytes, items: int) -> list[bool | None] | None:
    """For each of the `items` items, whether feedparser resolves its guid against the
    feed's URL: unless an ``isPermaLink`` attribute says anything but exactly ``true``
    (feedparser's rule; the value is not case-folded); None for an item without a
    guid (its id would come from elsewhere). None for all when in doubt: another count
    of items, two guids in one item, an entity in the value.
    """
    permalinks: list[bool | None] = []
    guids = 0
    for found in _ITEM_OR_GUID.finditer(body):
        name, rest = found.group(1), found.group(2) or b""
        if name.rpartition(b":")[2] != b"guid":
            if name in _ITEM:
                permalinks.append(None)
                guids = 0
            continue
        guids += 1
        attribute = _PERMALINK_ATTRIBUTE.search(rest)
        value = attribute and (attribute.group(1) or attribute.group(2) or b"")
        if not permalinks or guids > 1 or (value and b"&" in value):
            return None
        permalinks[-1] = value is None or value == b"true"
    return permalinks if len(permalinks) == items else None
