"""A response's body and Retry-After, decoded without a transport: plain bytes in, bytes out."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator

import pytest

from monitor.errors import FetchError
from monitor.fetch_response import content_coding, content_length, read_body, retry_after

BODY = b"<rss><channel><title>ASEAN news</title></channel></rss>" * 50


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


async def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def read(data: bytes, coding: str = "", *, cap: int = 1_000_000, size: int = 7) -> bytes:
    headers = {"content-encoding": coding} if coding else {}
    return asyncio.run(read_body(chunked(data, size), headers, "fresh-news", cap))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        ("identity", None),
        ("gzip", "gzip"),
        ("x-gzip", "gzip"),
        (" GZIP ", "gzip"),
        ("deflate", "deflate"),
        ("br", "br"),
        ("utf-8", None),  # a misconfigured server: the body is as sent
        ("gzip, br", "gzip, br"),  # stacked: reported whole, refused
    ],
)
def test_content_coding(value: str, expected: str | None) -> None:
    assert content_coding(value) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, 0),
        ({"content-length": "42"}, 42),
        ({"content-length": "-1"}, 0),
        ({"content-length": "²"}, 0),
    ],
)
def test_content_length(headers: dict[str, str], expected: int) -> None:
    assert content_length(headers) == expected


@pytest.mark.parametrize(
    ("encoded", "coding"),
    [
        pytest.param(BODY, "", id="identity"),
        # mtime=0: the test's id must be the same in every pytest-xdist worker
        pytest.param(gzip.compress(BODY, mtime=0), "gzip", id="gzip"),
        pytest.param(zlib.compress(BODY), "deflate", id="zlib-deflate"),  # RFC 9110
        pytest.param(raw_deflate(BODY), "deflate", id="raw-deflate"),  # what some servers send
    ],
)
@pytest.mark.parametrize("size", [1, 7, 4096])
def test_body_is_decoded_whatever_the_chunking(encoded: bytes, coding: str, size: int) -> None:
    assert read(encoded, coding, size=size) == BODY


@pytest.mark.parametrize("coding", ["", "gzip", "deflate"])
def test_body_over_the_cap_fails(coding: str) -> None:
    encoded = {"": BODY, "gzip": gzip.compress(BODY), "deflate": zlib.compress(BODY)}[coding]
    with pytest.raises(FetchError, match="fresh-news: response larger than 100 bytes"):
        read(encoded, coding, cap=100)


def test_body_exactly_at_the_cap_is_read() -> None:
    assert read(gzip.compress(BODY), "gzip", cap=len(BODY)) == BODY


def test_declared_length_over_the_cap_fails_before_reading() -> None:
    async def never() -> AsyncIterator[bytes]:
        raise AssertionError("the body must not be read")
        yield b""  # pragma: no cover - makes this an async generator

    headers = {"content-length": "101"}
    with pytest.raises(FetchError, match="larger than 100 bytes"):
        asyncio.run(read_body(never(), headers, "fresh-news", 100))


@pytest.mark.parametrize(
    ("coding", "message"),
    [
        ("br", "unsupported Content-Encoding 'br'"),
        ("gzip, gzip", "unsupported Content-Encoding 'gzip, gzip'"),
    ],
)
def test_refused_codings(coding: str, message: str) -> None:
    with pytest.raises(FetchError, match=message):
        read(BODY, coding)


def test_corrupt_gzip_fails_naming_the_coding() -> None:
    with pytest.raises(FetchError, match="cannot decompress gzip body"):
        read(b"\x1f\x8b" + b"\x00" * 40, "gzip")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after": "120"}, 120.0),
        ({"retry-after": "soon"}, None),
        # A date counts from the server's Date, so clock skew cancels out.
        (
            {
                "retry-after": "Wed, 21 Oct 2015 07:30:00 GMT",
                "date": "Wed, 21 Oct 2015 07:28:00 GMT",
            },
            120.0,
        ),
    ],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after(headers) == expected
