"""Decoding HTML page bytes to text: the charset, found the way browsers find it.

In order: a byte-order mark (UTF-8/16/32), the HTTP ``Content-Type`` charset,
an XML declaration, ``<meta charset>`` / ``<meta http-equiv>`` in the head,
then UTF-8 if the bytes are valid UTF-8, else detection (charset-normalizer,
through `monitor.sources.feedbytes.charset_hint`). UTF-8, declared or not, holds
when the bytes are valid UTF-8 but for a few strays (they become U+FFFD);
only a page mostly invalid as UTF-8 goes to detection
(`monitor.sources.feedbytes.mostly_utf8`). Labels are mapped the way the WHATWG
Encoding standard does (``iso-8859-1`` is windows-1252, ``gb2312`` is
GB18030, ...) because that is what the pages were written for.
"""

from __future__ import annotations

import codecs
import re

from monitor.sources.feedbytes import charset_hint, detect_charset, mostly_utf8, wide_codec

__all__ = ["decode_html", "html_charset"]

_HEAD = 16 * 1024
_HTTP_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([\w.:-]+)["']""")
_META = re.compile(
    rb"""<meta\b[^<>]*?charset\s*=\s*["']?\s*([\w.:-]+)""",  # no "<": one scan per tag
    re.IGNORECASE,
)
# Superset encodings the labels really mean on the web (WHATWG Encoding §4.2).
_WEB_SUPERSETS = {
    "latin_1": "cp1252",
    "iso8859_1": "cp1252",
    "ascii": "cp1252",
    "iso8859_9": "cp1254",
    "iso8859_11": "cp874",
    "tis_620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
}


def _codec(label: str | bytes | None) -> str | None:
    """The Python codec for a charset label, widened to its web superset; None if unknown."""
    if label is None:
        return None
    text = label.decode("ascii", "ignore") if isinstance(label, bytes) else label
    try:
        name = codecs.lookup(text.strip().lower()).name
    except LookupError:
        return None
    name = name.replace("-", "_")
    if name in ("utf_16", "utf_16_le", "utf_16_be", "utf_32", "utf_32_le", "utf_32_be"):
        # A page that says UTF-16 in ASCII bytes is not UTF-16 (no BOM was found).
        return None
    return _WEB_SUPERSETS.get(name, name)


def html_charset(body: bytes, content_type: str | None = None) -> str:
    """The codec to decode an HTML page with (never fails; 'utf-8' by default)."""
    if body.startswith(b"\xef\xbb\xbf"):
        return _utf8_unless_mostly_invalid(body[3:], "utf-8-sig")
    wide = wide_codec(body)
    if wide is not None:
        return wide[0]  # a BOM it starts with is dropped after decoding
    if content_type:
        declared = _HTTP_CHARSET.search(content_type)
        codec = _codec(declared.group(1) if declared else None)
        if codec is not None:
            return _utf8_unless_mostly_invalid(body, "utf-8") if codec == "utf_8" else codec
    head = body[:_HEAD]
    for pattern in (_XML_DECL, _META):
        found = pattern.search(head)
        codec = _codec(found.group(1) if found else None)
        if codec is not None:
            return _utf8_unless_mostly_invalid(body, "utf-8") if codec == "utf_8" else codec
    return charset_hint(body, None) or "utf-8"


def _utf8_unless_mostly_invalid(body: bytes, utf8: str) -> str:
    """A UTF-8 declaration is believed unless the bytes mostly contradict it."""
    if mostly_utf8(body):
        return utf8
    return detect_charset(body) or utf8


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """The page as text; undecodable bytes become U+FFFD rather than an error."""
    codec = html_charset(body, content_type)
    text = body.decode(codec, "replace")
    return text.removeprefix("\ufeff")
