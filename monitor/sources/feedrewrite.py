"""What feedparser rewrites in the values it reads, so that feedparser-rs's can be checked.

feedparser does more than parse: it repairs UTF-8 read as ISO-8859-1, maps C1
characters to windows-1252, resolves ids and links (``urls._urljoin``) and
re-serialises HTML (``html._BaseHTMLProcessor``). The functions here say
when one of a feedparser-rs value would be rewritten (a reason, or None) or do
the rewriting where it is known exactly. Used by `monitor.sources.feedfast`.
"""

from __future__ import annotations

import html.entities
import re
from urllib.parse import urljoin, urlsplit, urlunsplit, uses_relative

from monitor.normalize.clean import clean_title
from monitor.sources.feedentry import plain_web_url

__all__ = [
    "base_free",
    "feedparser_urljoin",
    "link_problem",
    "markup_problem",
    "name_problem",
    "text_problem",
    "title_problem",
    "xml_attribute",
]

_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9_]*);")
_XML_REFERENCE = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|amp|lt|gt|quot|apos);")
_XML_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
# What feedparser's HTML re-serialisation (html._BaseHTMLProcessor, run while it resolves
# relative links) changes in a way that changes the text: "<iframe .../>" loses its "/",
# references to windows-1252 code points and named references without ";" are rewritten,
# unknown named references lose their ";", "<!x" is escaped.
_SELF_CLOSED = re.compile(r"<([A-Za-z][^\s/<>]*)(?:\s[^<>]*)?/>")
_VOID = frozenset(
    {
        "area", "base", "basefont", "br", "col", "command", "embed", "frame", "hr", "img",
        "input", "isindex", "keygen", "link", "meta", "param", "source", "track", "wbr",
    }
)  # fmt: skip
_REFERENCE = re.compile(r"&(#?[A-Za-z0-9][-.A-Za-z0-9]*)(;?)")
_DECLARATION = re.compile(r"<!(?!DOCTYPE|--|\[)", re.IGNORECASE)
_C1_CONTROL = re.compile("[\x80-\x9f]")  # feedparser maps these to their windows-1252 characters
_EXTRA_SLASHES = re.compile(r"^[A-Za-z][A-Za-z0-9+\-.]*:///")  # feedparser drops them
_URI_FIXER = re.compile(r"^([A-Za-z][A-Za-z0-9+\-.]*://)(/*)(.*?)")  # feedparser's urls._urifixer
_BASE_FREE = re.compile(r"(?:tag|urn):(?!//)")  # schemes urljoin leaves alone


def title_problem(title: str) -> str | None:
    """Why feedparser would give another title than `title`, or None."""
    if _ENTITY.search(title):
        return "entity left in title"
    if clean_title(title) != " ".join(title.split()):
        # feedparser reads it as HTML or as text by its own guess
        return "title with markup, entities or non-NFC text"
    return text_problem(title)


def name_problem(name: str) -> str | None:
    """Why feedparser would give another author name than `name`, or None."""
    if _ENTITY.search(name):
        return "entity left in author"
    return text_problem(name)


def link_problem(href: str) -> str | None:
    """Why feedparser would give another link or id than `href`, or None."""
    if _ENTITY.search(href):
        return "entity left in link"
    if _EXTRA_SLASHES.match(href):
        return "link with ':///'"  # feedparser drops the extra slashes
    return text_problem(href)


def text_problem(text: str) -> str | None:
    """Why feedparser would give other text than `text`, or None."""
    if text.isascii():
        return None
    if "\ufffd" in text:
        return "U+FFFD"
    if _C1_CONTROL.search(text):
        return "C1 control character"
    try:
        # feedparser undoes UTF-8 read as ISO-8859-1 in every value it reads
        if text.encode("iso-8859-1").decode("utf-8") != text:
            return "UTF-8 read as ISO-8859-1"
    except UnicodeError:
        pass
    return None


def markup_problem(markup: str) -> str | None:
    """Why feedparser's re-serialised HTML may have other text than `markup`, or None."""
    if "<" in markup:
        for tag in _SELF_CLOSED.finditer(markup):
            if tag.group(1).lower() not in _VOID:
                return f"self-closed <{tag.group(1)[:20]}/> in HTML"
        if _DECLARATION.search(markup):
            return "'<!' in HTML"
    if "&" in markup:
        for reference in _REFERENCE.finditer(markup):
            name, semicolon = reference.groups()
            if _rewritten(name, semicolon=bool(semicolon)):
                return f"reference &{name[:20]}{semicolon} in HTML"
    return None


def _rewritten(name: str, *, semicolon: bool) -> bool:
    """True when feedparser's HTML processor writes this reference otherwise."""
    if name.startswith("#"):
        number = name[1:]
        try:
            code = int(number[1:], 16) if number[:1] in "xX" and number[1:] else int(number)
        except ValueError:
            return True
        return not semicolon or 0x80 <= code <= 0x9F
    known = name in html.entities.name2codepoint or name == "apos"
    return known != semicolon


def feedparser_urljoin(base: str, uri: str) -> str:
    """feedparser's resolution of ids and links (urls._urljoin)."""
    if _BASE_FREE.match(uri) or plain_web_url(uri):
        return uri  # what urljoin would return, without its cost
    try:
        return urljoin(base, _URI_FIXER.sub(r"\1\3", uri))
    except ValueError:
        return ""


def base_free(uri: str) -> bool:
    """True when resolving `uri` against any base gives `uri` (so xml:base cannot matter)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    if not parts.scheme or not uri.startswith(parts.scheme):
        return False
    # urljoin returns a URI of another scheme as it is, one of the same scheme recomposed
    return parts.scheme not in uses_relative or (bool(parts.netloc) and urlunsplit(parts) == uri)


def xml_attribute(raw: str) -> str:
    """An attribute value as an XML parser gives it, from its text in a well-formed document.

    feedparser-rs leaves attribute values as written; expat has found the
    document well-formed, so the only references in them are XML's.
    """
    spaced = raw.replace("\r\n", " ").replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return _XML_REFERENCE.sub(_xml_character, spaced)


def _xml_character(reference: re.Match[str]) -> str:
    name = reference.group(1)
    if name.startswith("#x"):
        return chr(int(name[2:], 16))
    if name.startswith("#"):
        return chr(int(name[1:]))
    return _XML_ENTITIES[name]
