"""Canonical URLs: the identity of a web resource, for deduplication (DESIGN §7).

Pure and never raising on odd input: a URL that cannot be parsed is returned
stripped but otherwise unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import idna

__all__ = ["TRACKING_PARAMS", "TRACKING_PREFIXES", "canonical_url", "fragment_dependent"]

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
