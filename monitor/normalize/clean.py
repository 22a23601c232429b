"""Normalising what feeds and pages give us: plain text, titles, content hashes.

All functions are pure and never raise on odd input: HTML that lxml cannot
parse yields its text with tags left in place rather than an exception.
Canonical URLs live in `monitor.normalize.url` and are re-exported here.
"""

from __future__ import annotations

import hashlib
import html
import re
import threading
import unicodedata

from lxml import etree

from monitor.normalize.url import (
    TRACKING_PARAMS,
    TRACKING_PREFIXES,
    canonical_url,
    fragment_dependent,
)

__all__ = [
    "TRACKING_PARAMS",
    "TRACKING_PREFIXES",
    "canonical_url",
    "clean_title",
    "content_hash",
    "fragment_dependent",
    "html_to_text",
]

_LOOKS_LIKE_MARKUP = re.compile(r"<[A-Za-z/!?]")
_SKIP = frozenset({"script", "style", "noscript", "template", "head", "iframe", "object"})
_LINE = frozenset({"li", "tr", "dt", "dd", "div", "figcaption", "option", "caption"})
_PARAGRAPH = frozenset(
    {
        "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "ul", "ol", "dl",
        "table", "section", "article", "header", "footer", "aside", "nav", "figure", "hr",
        "address", "main", "form", "fieldset", "details", "summary", "body",
    }
)  # fmt: skip
_CELL = frozenset({"td", "th"})
_BREAKS = {tag: 1 for tag in _LINE} | {tag: 2 for tag in _PARAGRAPH}
_WHITESPACE = re.compile(r"\s+")
# A tag cannot hold "<" here: "<<<<..." would otherwise be rescanned from each "<".
_TAG = re.compile(r"<[^<>]*>")
_SKIPPED_OPEN = re.compile(r"<(script|style)\b", re.IGNORECASE)
_SKIPPED_CLOSE = {
    name: re.compile(rf"</{name}\s*+>", re.IGNORECASE) for name in ("script", "style")
}
_local = threading.local()  # lxml parsers must not be shared between threads
_NEWLINES = str.maketrans({"\r": "\n", "\f": "\n", "\v": "\n"})


def html_to_text(html_text: str) -> str:
    """Readable plain text from an HTML fragment or document.

    Script, style and similar contents are dropped, entities decoded, block
    elements end lines (paragraph-level ones leave a blank line), runs of
    whitespace within a line become one space, and the result is NFC. Text
    without markup keeps its lines; only entities and whitespace change.
    """
    if not _LOOKS_LIKE_MARKUP.search(html_text):
        return _tidy(html.unescape(html_text.replace("\r\n", "\n").translate(_NEWLINES)))
    try:
        # NUL is not allowed in HTML; lxml would turn it into U+FFFD
        root = etree.fromstring(
            html_text.replace("\x00", "").encode("utf-8", "surrogatepass"), _parser()
        )
    except (etree.XMLSyntaxError, ValueError):
        root = None
    if any(error.type_name == "ERR_RESOURCE_LIMIT" for error in _parser().error_log):
        # nesting deeper than libxml2's 2048 levels: the tree lost its text
        return _tidy(html.unescape(_TAG.sub(" ", _without_skipped_blocks(html_text))))
    if root is None:  # nothing lxml could build a tree from, e.g. only a comment
        return ""
    return _tidy(_render(root))


def _without_skipped_blocks(text: str) -> str:
    """`text` with each <script>/<style> element blanked, in one pass.

    A lazy `<script>.*?</script>` pattern rescans the rest of the text from every
    unclosed opening tag; here an element without its end tag ends the search
    for that name.
    """
    pieces: list[str] = []
    done = 0
    unclosed: set[str] = set()
    for opening in _SKIPPED_OPEN.finditer(text):
        name = opening.group(1).lower()
        if opening.start() < done or name in unclosed:
            continue
        closing = _SKIPPED_CLOSE[name].search(text, opening.end())
        if closing is None:
            unclosed.add(name)
            continue
        pieces += [text[done : opening.start()], " "]
        done = closing.end()
    return "".join(pieces) + text[done:] if pieces else text


def _parser() -> etree.HTMLParser:
    parser: etree.HTMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.HTMLParser(
            encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=True
        )
        _local.parser = parser
    return parser


def _render(root: etree._Element) -> str:
    pieces: list[str] = []
    pending = 0  # line breaks owed before the next text: adjacent blocks share theirs
    pre_depth = 0

    def emit(text: str | None) -> None:
        nonlocal pending
        if not text:
            return
        if not pre_depth:
            text = _WHITESPACE.sub(" ", text)
            if pending and text == " ":
                return
        if pending:
            pieces.append("\n" * pending)
            pending = 0
        pieces.append(text.replace("\r\n", "\n").translate(_NEWLINES))

    def brk(level: int) -> None:
        nonlocal pending
        if pieces:
            pending = max(pending, level)

    def line_break() -> None:  # "<br><br>" is how many writers make a paragraph
        nonlocal pending
        if pieces:
            pending = min(pending + 1, 2)

    walker = etree.iterwalk(root, events=("start", "end"))
    for event, el in walker:
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if event == "start":
            if tag in _SKIP:
                walker.skip_subtree()  # its "end" still comes, and emits the tail
                continue
            if tag in _CELL:
                emit(" ")
            elif tag == "br":
                line_break()
            else:
                brk(_BREAKS.get(tag, 0))
            if tag == "pre":
                pre_depth += 1
            emit(el.text)
        else:
            if tag == "pre":
                pre_depth -= 1
            if tag != "br":
                brk(_BREAKS.get(tag, 0))
            emit(el.tail)
    return "".join(pieces)


def _tidy(text: str) -> str:
    """Collapse whitespace within lines, keep at most one blank line, NFC."""
    lines: list[str] = []
    blank = False
    for line in text.split("\n"):
        squeezed = " ".join(line.split())
        if squeezed:
            if blank and lines:
                lines.append("")
            lines.append(squeezed)
            blank = False
        else:
            blank = True
    return unicodedata.normalize("NFC", "\n".join(lines))


# The markup feeds do put in headlines. Anything else that looks like a tag
# ("Why <script> tags break pages", "Vec<String>") is the headline's text: parsed
# as HTML it would swallow the rest of the line. It is escaped when rendered.
_HEADLINE_TAG = re.compile(
    r"</?(?:a|abbr|b|bdi|bdo|big|br|cite|code|del|dfn|em|font|i|img|ins|kbd|mark|nobr|p"
    r"|q|s|samp|small|span|strike|strong|sub|sup|time|tt|u|var|wbr)(?:\s[^<>]*)?/?>",
    re.IGNORECASE,
)
_SPACING_TAGS = ("br", "img", "p")  # these part words; "<b>Bold</b>," does not


def _headline_tag(found: re.Match[str]) -> str:
    name = found.group().lstrip("</").split(None, 1)[0].rstrip("/>").lower()
    return " " if name in _SPACING_TAGS else ""


def clean_title(text: str) -> str:
    """A headline as one line of plain text: inline markup dropped, entities decoded."""
    text = html.unescape(_HEADLINE_TAG.sub(_headline_tag, text))
    return unicodedata.normalize("NFC", " ".join(text.replace("\x00", "").split()))


def content_hash(title: str, text: str) -> str:
    """SHA-256 hex of the title and text, insensitive to case and whitespace changes."""
    norm_title = " ".join(unicodedata.normalize("NFC", title).casefold().split())
    norm_text = " ".join(unicodedata.normalize("NFC", text).casefold().split())
    # The parts contain no newline after collapsing, so "\n" cannot be forged.
    return hashlib.sha256(f"{norm_title}\n{norm_text}".encode("utf-8", "surrogatepass")).hexdigest()
