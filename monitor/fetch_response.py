"""A fetched response past the transport: its body read within the cap, its Retry-After.

Pure of httpx: `read_body` takes the raw (still content-coded) chunks as any
async iterable, so `monitor.fetch` stays the only module that speaks HTTP and
this one is tested with plain bytes. Bodies are decompressed here, one
bounded step at a time, so a gzip bomb is never inflated past the cap.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from monitor.errors import FetchError

__all__ = [
    "Inflater",
    "Response",
    "content_coding",
    "content_length",
    "parse_retry_after",
    "read_body",
    "retry_after",
]

_ZLIB_CODINGS = {"gzip": "gzip", "x-gzip": "gzip", "deflate": "deflate"}
_UNDECODABLE = {"br", "zstd", "compress", "x-compress"}


@dataclass(frozen=True, slots=True)
class Response:
    """A successful (2xx) or not-modified (304) response, body fully read."""

    url: str
    final_url: str
    status: int
    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    elapsed: float

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")


class Inflater:
    """A gzip/deflate decoder whose output per call never exceeds what the caller allows."""

    def __init__(self, coding: str) -> None:
        self._head = b""
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16) if coding == "gzip" else None

    def feed(self, data: bytes, max_length: int) -> bytes:
        if self._zlib is None:
            # RFC 9110 deflate is zlib-wrapped, yet some servers send raw deflate.
            self._head += data
            if len(self._head) < 2:
                return b""
            data, self._head = self._head, b""
            wrapped = data[0] & 0x0F == 8 and int.from_bytes(data[:2], "big") % 31 == 0
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        return self._zlib.decompress(data, max_length)

    def flush(self) -> bytes:
        return self._zlib.flush() if self._zlib is not None else b""


async def read_body(
    chunks: AsyncIterable[bytes], headers: Mapping[str, str], subject: str, max_bytes: int
) -> bytes:
    """The decoded body of raw `chunks`; FetchError past `max_bytes` or for a coding we refuse."""
    too_large = f"fetch: {subject}: response larger than {max_bytes} bytes"
    coding = content_coding(headers.get("content-encoding", ""))
    if coding is not None and coding not in ("gzip", "deflate"):
        raise FetchError(f"fetch: {subject}: unsupported Content-Encoding {coding!r}")
    inflater = Inflater(coding) if coding else None
    if inflater is None and content_length(headers) > max_bytes:
        raise FetchError(too_large)
    parts: list[bytes] = []
    size = 0
    try:
        async for raw in chunks:
            # Asking for one byte past the cap is how an over-size body shows itself.
            part = inflater.feed(raw, max_bytes - size + 1) if inflater else raw
            size += len(part)
            if size > max_bytes:
                raise FetchError(too_large)
            parts.append(part)
        if inflater is not None:
            parts.append(inflater.flush())
            if size + len(parts[-1]) > max_bytes:
                raise FetchError(too_large)
    except zlib.error as exc:
        raise FetchError(f"fetch: {subject}: cannot decompress {coding} body: {exc}") from exc
    return b"".join(parts)


def content_coding(value: str) -> str | None:
    """The one coding to undo: 'gzip', 'deflate', an undecodable name, or None for identity."""
    codings = [c.strip().lower() for c in value.split(",")]
    # Unknown tokens ("utf-8", "none", ...) are server misconfiguration; the body is as sent.
    known = [_ZLIB_CODINGS.get(c, c) for c in codings if c in _ZLIB_CODINGS or c in _UNDECODABLE]
    if len(known) > 1:
        return ", ".join(known)  # stacked codings: reported as unsupported
    return known[0] if known else None


def content_length(headers: Mapping[str, str]) -> int:
    """The declared Content-Length, 0 when absent or not a number."""
    value = headers.get("content-length", "")
    return int(value) if value.isascii() and value.isdigit() else 0


def parse_retry_after(value: str, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value (delay-seconds or HTTP-date); None if invalid."""
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    # HTTP dates are always GMT; the asctime form parses as naive.
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the response's Retry-After asks for, or None when it has none (or a bad one)."""
    value = headers.get("retry-after")
    if value is None:
        return None
    # Relative to the server's clock when it tells us, so clock skew cancels out.
    try:
        now = parsedate_to_datetime(headers.get("date", ""))
    except (TypeError, ValueError, IndexError):
        now = datetime.now(UTC)
    return parse_retry_after(value, now)
