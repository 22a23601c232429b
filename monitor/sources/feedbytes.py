"""Byte-level preparation of feed bodies before a parser sees them.

Three jobs, all pure and cheap:

- `strip_doctype` removes every DOCTYPE (with its internal subset) from the
  prolog. feedparser's loose parser expands entities declared there without a
  limit: a 160 KB "billion laughs" body took 48 s and 5.7 GB. A feed has no
  use for a DTD, so it goes, also in UTF-16/32 bodies.
- `charset_hint` names the encoding of a body that declares none in HTTP:
  UTF-16/32 from the byte pattern, else, when there is no BOM or XML
  declaration and the bytes are not UTF-8, a detected one, so that KOI8-R or
  Big5 bytes are not decoded as windows-1252.
- `repair_utf8` / `mostly_utf8`: a body that is (or defaults to) UTF-8 and is
  valid apart from a few stray bytes stays UTF-8, the stray bytes becoming
  U+FFFD; feedparser would otherwise decode the whole feed as windows-1252 for
  the sake of one byte ("Phnom Pénh" read as "Phnom PĂŠnh").
- `root_name` reads the name of the root element (or "{" for JSON), skipping
  the prolog, for sniffing what kind of document a body is.
"""

from __future__ import annotations

import re

import charset_normalizer

__all__ = [
    "charset_hint",
    "decode_head",
    "detect_charset",
    "mostly_utf8",
    "repair_utf8",
    "root_name",
    "strip_doctype",
    "wide_codec",
]

_BOMS = (  # UTF-32 before UTF-16: the UTF-32-LE BOM starts with the UTF-16-LE one
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_DOCTYPE = re.compile(r"<!DOCTYPE", re.IGNORECASE)
_FIRST_ELEMENT = re.compile(r"<[A-Za-z_]")
_DOCTYPE_BYTES = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_FIRST_ELEMENT_BYTES = re.compile(rb"<[A-Za-z_]")
# What can hide a '>' inside a DOCTYPE: quoted literals, comments, PIs, the subset.
_DOCTYPE_TOKENS = re.compile(r"""["'\[\]>]|<!--|<\?""")
_XML_ENCODING = re.compile(rb"""^[^>]*?<\?xml[^>]*?encoding\s*=\s*["'][^"']+["']""")
_NAME = re.compile(r"[A-Za-z_][\w.:-]*")
_HEAD_BYTES = 64 * 1024
_HTTP_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
_XML_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([\w.:-]+)["']""")
_UTF8_LABELS = frozenset({"utf-8", "utf8", "unicode-1-1-utf-8", "x-unicode20utf8"})
_REPLACEMENT = "\ufffd"
_REPLACEMENT_BYTES = _REPLACEMENT.encode("utf-8")
# Stray bytes tolerated in a UTF-8 body: at most 1% of its good non-ASCII
# characters, or up to 8 but never more than there are good ones. Legacy text
# (windows-1252, KOI8-R...) read as UTF-8 is invalid at nearly every non-ASCII
# byte and almost never forms a valid multi-byte sequence by chance, so it
# fails this by far; a UTF-8 feed with a corrupted byte or a pasted fragment
# passes. A body with no good non-ASCII character at all has no evidence for
# UTF-8 and goes to detection, as before.
_STRAY_SHARE = 100
_STRAY_MAX = 8


def wide_codec(body: bytes) -> tuple[str, int] | None:
    """(codec, BOM length) when the body is UTF-16 or UTF-32, else None."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return codec, len(bom)
    head = body[:4]
    if len(head) == 4:
        if head[:3] == b"\x00\x00\x00" and head[3]:
            return "utf-32-be", 0
        if head[0] and head[1:] == b"\x00\x00\x00":
            return "utf-32-le", 0
        if head[0] == 0 and head[2] == 0 and head[1] and head[3]:
            return "utf-16-be", 0
        if head[1] == 0 and head[3] == 0 and head[0] and head[2]:
            return "utf-16-le", 0
    return None


def decode_head(body: bytes, size: int = _HEAD_BYTES) -> str:
    """The start of the body as text, with positions that are good enough for sniffing."""
    wide = wide_codec(body)
    if wide is None:
        return body[:size].decode("latin-1").removeprefix("\xef\xbb\xbf")
    codec, bom = wide
    return body[bom : bom + size].decode(codec, "replace")


def strip_doctype(body: bytes) -> bytes:
    """The body without any DOCTYPE declaration before its root element."""
    wide = wide_codec(body)
    if wide is None:
        element = _FIRST_ELEMENT_BYTES.search(body)
        if not _DOCTYPE_BYTES.search(body, 0, element.start() if element else len(body)):
            return body
        # latin-1 maps each byte to one character, so text positions are byte positions
        text = body.decode("latin-1")
        stripped = _strip_doctype_text(text)
        return body if stripped is text else stripped.encode("latin-1")
    codec, bom = wide
    text = body[bom:].decode(codec, "replace")
    stripped = _strip_doctype_text(text)
    return body if stripped is text else body[:bom] + stripped.encode(codec)


def _strip_doctype_text(text: str) -> str:
    """Remove DOCTYPEs that start before the first element; returns `text` itself if none."""
    original = text
    while True:
        element = _FIRST_ELEMENT.search(text)
        doctype = _DOCTYPE.search(text, 0, element.start() if element else len(text))
        if doctype is None:
            break
        text = text[: doctype.start()] + text[_doctype_end(text, doctype.end()) :]
    return original if text == original else text


def _doctype_end(text: str, pos: int) -> int:
    """Index just past the '>' closing the DOCTYPE whose body starts at `pos`."""
    in_subset = False
    while True:
        token = _DOCTYPE_TOKENS.search(text, pos)
        if token is None:
            return len(text)  # unterminated: the rest is DTD, not feed
        kind, pos = token.group(), token.end()
        if kind in ('"', "'"):
            close = text.find(kind, pos)
            pos = len(text) if close < 0 else close + 1
        elif kind in ("<!--", "<?"):
            close = text.find("-->" if kind == "<!--" else "?>", pos)
            pos = len(text) if close < 0 else close + (3 if kind == "<!--" else 2)
        elif kind == "[":
            in_subset = True
        elif kind == "]":
            in_subset = False
        elif not in_subset:  # ">"
            return pos


def charset_hint(body: bytes, content_type: str | None) -> str | None:
    """The charset to tell feedparser, or None to let it follow the document."""
    if content_type and "charset=" in content_type.lower().replace(" ", ""):
        return None
    wide = wide_codec(body)
    if wide is not None:
        # feedparser sniffs UTF-16/32 but, with no encoding in the XML
        # declaration, then decodes as UTF-8 (NULs are valid UTF-8): say it.
        return wide[0]
    if body.startswith(b"\xef\xbb\xbf"):
        return None
    if _XML_ENCODING.match(body[:1024]):
        return None
    if mostly_utf8(body):
        return None
    return detect_charset(body)


def mostly_utf8(body: bytes) -> bool:
    """True when `body` is UTF-8 apart from a few stray bytes (see _STRAY_SHARE)."""
    text = body.decode("utf-8", "replace")
    stray = text.count(_REPLACEMENT) - body.count(_REPLACEMENT_BYTES)
    if stray == 0:
        return True
    good = len(text) - len(text.encode("ascii", "ignore")) - stray
    return stray * _STRAY_SHARE <= good or stray <= min(_STRAY_MAX, good)


def repair_utf8(body: bytes, content_type: str | None) -> tuple[bytes, str | None]:
    """(body, charset) for a feed parser that must not second-guess UTF-8.

    A body declared UTF-8 (HTTP charset, else XML declaration, else BOM) or not
    declared at all, and valid UTF-8 but for a few stray bytes, comes back as
    clean UTF-8 (strays as U+FFFD) with charset "utf-8"; one declared UTF-8 but
    mostly invalid comes back as it is, with a detected charset; anything else
    comes back as it is, with `charset_hint`'s answer.
    """
    if wide_codec(body) is not None:
        return body, charset_hint(body, content_type)
    declared = _HTTP_CHARSET.search(content_type or "")
    label = declared.group(1) if declared else None
    if label is None and not body.startswith(b"\xef\xbb\xbf"):
        in_xml = _XML_DECLARED.match(body[:1024])
        label = in_xml.group(1).decode("ascii") if in_xml else None
    if label is not None and label.lower() not in _UTF8_LABELS:
        return body, charset_hint(body, content_type)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        if mostly_utf8(body):
            return body.decode("utf-8", "replace").encode("utf-8"), "utf-8"
        return body, detect_charset(body.removeprefix(b"\xef\xbb\xbf"))
    return body, None


def detect_charset(body: bytes) -> str | None:
    """The most likely legacy charset of `body` (charset-normalizer), None if none fits."""
    matches = list(charset_normalizer.from_bytes(body))
    if not matches:
        return None
    best = matches[0]
    # Markup is English-looking ASCII, which skews the language model toward
    # e.g. cp1257 for Portuguese; windows-1252 is the web's default for
    # undeclared Western text, so it wins a tie on chaos.
    for match in matches:
        if match.encoding == "cp1252" and match.chaos <= best.chaos:
            return "cp1252"
    return str(best.encoding)


def root_name(body: bytes) -> str:
    """The root element's name, "{" for a JSON object, "" when there is none to see."""
    text = decode_head(body)
    pos = 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n\ufeff":
            pos += 1
        if text.startswith("<?", pos):
            end = _after(text, "?>", pos)
        elif text.startswith("<!--", pos):
            end = _after(text, "-->", pos)
        elif text[pos : pos + 9].upper() == "<!DOCTYPE":
            end = _doctype_end(text, pos + 9)
        elif text.startswith("<", pos):
            name = _NAME.match(text, pos + 1)
            return name.group() if name else ""
        elif text.startswith("{", pos):
            return "{"
        else:
            return ""
        if end >= len(text):
            return ""
        pos = end


def _after(text: str, marker: str, pos: int) -> int:
    close = text.find(marker, pos)
    return len(text) if close < 0 else close + len(marker)
