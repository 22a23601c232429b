"""Normalising what feeds and pages give us: canonical URLs, plain text, content hashes.

All functions are pure and never raise on odd input: a URL that cannot be
parsed is returned stripped but otherwise unchanged, HTML that lxml cannot
parse yields its text with tags left in place rather than an exception.
"""

from __future__ import annotations

import hashlib
import html
import re
import threading
import unicodedata
from collections.abc import Iterable
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import idna
from lxml import etree

__all__ = [
    "TRACKING_PARAMS",
    "TRACKING_PREFIXES",
    "canonical_url",
    "clean_title",
    "content_hash",
    "fragment_dependent",
    "html_to_text",
]

# Query parameters that only identify a campaign, click or share, never the
# resource: dropping them lets the same story reached through different links
# dedupe by URL. Matched case-insensitively. Only parameters known to be pure
# tracking belong here; a parameter that can select content (`id`, `page`,
# `ref` on some CMSs, `partner`) must stay.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
        "twclid", "ttclid", "li_fat_id", "igshid", "igsh", "epik", "rb_clickid",
        "mc_cid", "mc_eid",  # Mailchimp
        "_ga", "_gl", "_hsenc", "_hsmi", "__hssc", "__hstc", "__hsfp", "hsctatracking",
        "mkt_tok", "vero_id", "vero_conv", "oly_anon_id", "oly_enc_id", "s_cid",
        "ref_src", "ref_url",  # Twitter embeds
        "wt_mc", "wt_zmc", "wt.mc_id",  # Webtrends (heise, ...)
        "at_medium", "at_campaign", "at_custom1", "at_custom2", "at_custom3", "at_custom4",
        "ns_mchannel", "ns_source", "ns_campaign", "ns_linkname", "ns_fee",  # comScore (BBC)
        "cmp", "smid", "emc", "ocid", "sr_share", "spm",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_",)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Characters left as they are in a path or query: unreserved, reserved and '%'
# (percent escapes are handled separately). Everything else gets escaped.
_KEEP = _UNRESERVED | frozenset(":/?#[]@!$&'()*+,;=")
_HEX = frozenset("0123456789abcdefABCDEF")
_TAB_NEWLINE = str.maketrans("", "", "\t\r\n")


def canonical_url(url: str, base: str | None = None, *, keep_fragment: bool = False) -> str:
    """The identity of a web resource for deduplication (DESIGN §7).

    Resolves `url` against `base`, lower-cases scheme and host (IDN to
    punycode), drops the default port, the fragment (unless `keep_fragment`:
    see `fragment_dependent`) and tracking parameters, sorts the remaining
    query parameters by name (keeping the order of repeated names), normalises
    percent-encoding and dot segments, and turns an empty path into '/'.
    Non-HTTP URLs are only stripped and resolved.
    """
    url = url.strip().translate(_TAB_NEWLINE)
    if base:
        base = base.strip().translate(_TAB_NEWLINE)
        try:
            url = urljoin(base, url)
        except ValueError:
            return url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # e.g. "http://[::1" or a non-numeric port
        return url
    scheme = parts.scheme
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return url
    userinfo, _, _ = parts.netloc.rpartition("@")
    netloc = _host(parts.hostname)
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    if userinfo:
        netloc = f"{_normalise_escapes(userinfo)}@{netloc}"
    path = _remove_dot_segments(_normalise_escapes(parts.path)) or "/"
    fragment = _normalise_escapes(parts.fragment) if keep_fragment else ""
    return urlunsplit((scheme, netloc, path, _canonical_query(parts.query), fragment))


def fragment_dependent(links: Iterable[str], base: str | None = None) -> frozenset[str]:
    """The canonical URLs that stand for several of `links`, told apart only by fragment.

    A blog that posts each entry as an anchor on a daily page
    (`/2017/06/26.html#a080605`) names its posts by fragment: for those links
    the fragment must stay in the canonical URL, or every post of a day would
    be one article. Links to distinct pages, or repeats of one exact link
    (items that all point at a landing page), do not need it.
    """
    fragments: dict[str, set[str]] = {}
    for link in links:
        key = canonical_url(link, base)
        fragments.setdefault(key, set()).add(canonical_url(link, base, keep_fragment=True))
    return frozenset(key for key, variants in fragments.items() if len(variants) > 1)


def _host(hostname: str) -> str:
    host = hostname.rstrip(".")
    if host.isascii():
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        try:  # IDNA 2003 is laxer (e.g. symbols); consistency beats rejection here
            return host.encode("idna").decode("ascii")
        except UnicodeError:
            return _normalise_escapes(host)


def _canonical_query(query: str) -> str:
    pairs: list[tuple[str, str]] = []
    for raw in query.split("&"):
        if not raw:
            continue
        name, eq, value = raw.partition("=")
        name = _normalise_escapes(name)
        key = _unquote_for_match(name)
        if key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES):
            continue
        pairs.append((name, f"{name}{eq}{_normalise_escapes(value)}"))
    pairs.sort(key=lambda pair: pair[0])  # stable: repeated names keep their order
    return "&".join(item for _, item in pairs)


def _unquote_for_match(name: str) -> str:
    return unquote(name.replace("+", " ")).lower()


def _normalise_escapes(text: str) -> str:
    """Upper-case percent escapes, decode escaped unreserved characters, escape the rest."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "%":
            hexpair = text[i + 1 : i + 3]
            if len(hexpair) == 2 and hexpair[0] in _HEX and hexpair[1] in _HEX:
                decoded = chr(int(hexpair, 16))
                out.append(decoded if decoded in _UNRESERVED else "%" + hexpair.upper())
                i += 3
                continue
            out.append("%25")
        elif ch in _KEEP:
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, on a path that is already split from the query."""
    if "." not in path:
        return path
    segments = path.split("/")
    out: list[str] = []
    for seg in segments[1:] if path.startswith("/") else segments:
        if seg == "..":
            if out:
                out.pop()
        elif seg != ".":
            out.append(seg)
    if segments[-1] in (".", ".."):
        out.append("")  # "/a/b/.." names the directory "/a/", keep its slash
    return ("/" if path.startswith("/") else "") + "/".join(out)


# --- HTML to text ---------------------------------------------------------------

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
