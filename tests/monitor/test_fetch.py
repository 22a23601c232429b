"""Fetching over real HTTP servers on 127.0.0.1: conditional GET, redirects, caps, limits."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from pytest_httpserver import HTTPServer

from monitor.errors import FetchError
from monitor.fetch import Fetcher, FetchLimits, Response, parse_retry_after

T = TypeVar("T")
UA = "newsmon-test/1.0 (+https://example.org/bot)"
FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
HTTP_DATE = "Wed, 21 Oct 2015 07:28:00 GMT"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def fetch(url: str, limits: FetchLimits | None = None, **kwargs: Any) -> Response:
    # The test servers are on loopback, where only a source's own URL may go.
    kwargs.setdefault("origin", "config")
    async with Fetcher(limits or FetchLimits(user_agent=UA)) as fetcher:
        return await fetcher.get(url, subject="fresh-news", **kwargs)


def fetch_error(url: str, limits: FetchLimits | None = None, **kwargs: Any) -> FetchError:
    with pytest.raises(FetchError) as info:
        run(fetch(url, limits, **kwargs))
    return info.value


Handler = Callable[[str, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[int]:
    """A bare asyncio HTTP server on 127.0.0.1 whose handler writes the raw response."""

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await reader.readline()
            while (await reader.readline()).strip():
                pass
            await handler(request_line.split()[1].decode(), writer)
        except ConnectionError:
            pass  # the client gave up, which is what several tests provoke
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


def answer(head: bytes, body: bytes) -> Handler:
    """A handler that sends one fixed response: `head` is the status line and headers."""

    async def handler(path: str, writer: asyncio.StreamWriter) -> None:
        writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()

    return handler


async def fetch_from(handler: Handler, limits: FetchLimits | None = None) -> FetchError:
    """The FetchError of fetching from a `serve(handler)` server."""
    async with serve(handler) as port:
        with pytest.raises(FetchError) as info:
            await fetch(f"http://127.0.0.1:{port}/", limits)
        return info.value


class Gate:
    """Holds every request until the test releases it, counting those open at once."""

    def __init__(self) -> None:
        self.held: list[asyncio.Event] = []
        self.max_open = 0
        self.served = 0
        self.changed = asyncio.Condition()

    async def handler(self, path: str, writer: asyncio.StreamWriter) -> None:
        release = asyncio.Event()
        async with self.changed:
            self.held.append(release)
            self.max_open = max(self.max_open, len(self.held))
            self.changed.notify_all()
        await release.wait()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        async with self.changed:
            self.held.remove(release)
            self.served += 1
            self.changed.notify_all()

    async def wait_until(self, *, served: int, held: int) -> None:
        """Wait until `served` requests are done and at least `held` are waiting."""
        async with asyncio.timeout(5), self.changed:
            await self.changed.wait_for(lambda: self.served == served and len(self.held) >= held)

    async def release_one_by_one(self, total: int, at_once: int) -> None:
        """Finish requests one at a time, each once `at_once` (or all the rest) are waiting."""
        for served in range(total):
            await self.wait_until(served=served, held=min(at_once, total - served))
            self.held[0].set()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- success paths -------------------------------------------------------------------------


def test_sends_user_agent_accept_and_encodings(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(FEED, content_type="application/rss+xml")
    response = run(fetch(httpserver.url_for("/feed")))
    request = httpserver.log[0][0]
    assert request.headers["User-Agent"] == UA
    assert "application/rss+xml" in request.headers["Accept"]
    assert "text/html" in request.headers["Accept"]
    assert request.headers["Accept-Encoding"] == "gzip, deflate"
    assert "If-None-Match" not in request.headers
    assert (response.status, response.body) == (200, FEED)
    assert response.headers["content-type"] == "application/rss+xml"


def test_conditional_get_sends_validators_and_returns_304_with_empty_body(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request(
        "/feed", headers={"If-None-Match": '"v1"', "If-Modified-Since": HTTP_DATE}
    ).respond_with_data("", status=304, headers={"ETag": '"v1"'})
    httpserver.expect_request("/feed").respond_with_data(
        FEED, headers={"ETag": '"v1"', "Last-Modified": HTTP_DATE}
    )
    first = run(fetch(httpserver.url_for("/feed")))
    assert (first.status, first.not_modified, first.body) == (200, False, FEED)
    second = run(fetch(httpserver.url_for("/feed"), etag=first.etag, last_modified=HTTP_DATE))
    assert (second.status, second.not_modified, second.body) == (304, True, b"")
    assert second.etag == '"v1"'
    assert first.last_modified == HTTP_DATE


@pytest.mark.parametrize("hops", [3, 5])
def test_redirect_chain_is_followed_and_final_url_recorded(
    httpserver: HTTPServer, hops: int
) -> None:
    for hop in range(hops):
        target = f"/r{hop + 1}" if hop + 1 < hops else "/feed"
        httpserver.expect_request(f"/r{hop}").respond_with_data(
            "", status=301 if hop % 2 else 302, headers={"Location": target}
        )
    httpserver.expect_request("/feed").respond_with_data(FEED)
    response = run(fetch(httpserver.url_for("/r0")))
    assert response.url == httpserver.url_for("/r0")
    assert response.final_url == httpserver.url_for("/feed")
    assert response.body == FEED


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda data: (gzip.compress(data), "gzip"), id="gzip"),
        pytest.param(lambda data: (zlib.compress(data), "deflate"), id="deflate-zlib"),
        pytest.param(lambda data: (zlib.compress(data, wbits=-15), "deflate"), id="deflate-raw"),
    ],
)
def test_compressed_response_is_decompressed(
    httpserver: HTTPServer, encode: Callable[[bytes], tuple[bytes, str]]
) -> None:
    page = FEED * 2000
    compressed, coding = encode(page)
    httpserver.expect_request("/feed").respond_with_data(
        compressed, headers={"Content-Encoding": coding}
    )
    assert run(fetch(httpserver.url_for("/feed"))).body == page


def test_cookies_are_not_carried_between_fetches(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data(FEED, headers={"Set-Cookie": "s=1; Path=/"})
    httpserver.expect_request("/b").respond_with_data(FEED)

    async def both() -> None:
        async with Fetcher(FetchLimits(user_agent=UA)) as fetcher:
            await fetcher.get(httpserver.url_for("/a"), subject="fresh-news", origin="config")
            await fetcher.get(httpserver.url_for("/b"), subject="fresh-news")

    run(both())
    assert "Cookie" not in httpserver.log[1][0].headers


def test_source_headers_follow_a_redirect_on_its_host_but_not_to_another(
    httpserver: HTTPServer,
) -> None:
    # The source lives at localhost; 127.0.0.1 is the same server under another host name.
    elsewhere = httpserver.url_for("/feed").replace("localhost", "127.0.0.1")
    httpserver.expect_request("/r0").respond_with_data("", status=302, headers={"Location": "/r1"})
    httpserver.expect_request("/r1").respond_with_data(
        "", status=302, headers={"Location": elsewhere}
    )
    httpserver.expect_request("/feed").respond_with_data(FEED)
    pairs = (("Cookie", "s=SECRET"), ("user-agent", "members-only/2.0"))
    limits = FetchLimits(UA, source_headers=(("fresh-news", httpserver.url_for("/"), pairs),))
    assert run(fetch(httpserver.url_for("/r0"), limits)).final_url == elsewhere
    first, second, third = (request for request, _ in httpserver.log)
    for request in (first, second):
        assert request.headers["Cookie"] == "s=SECRET"
        # A source's header replaces newsmon's own of the same name, whatever its case.
        assert request.headers.getlist("User-Agent") == ["members-only/2.0"]
    assert "Cookie" not in third.headers
    assert third.headers.getlist("User-Agent") == [UA]


# --- failures and their messages --------------------------------------------------------------


def test_more_than_five_redirects_fails_with_message(httpserver: HTTPServer) -> None:
    for hop in range(6):
        httpserver.expect_request(f"/r{hop}").respond_with_data(
            "", status=302, headers={"Location": f"/r{hop + 1}"}
        )
    httpserver.expect_request("/r6").respond_with_data(FEED)
    error = fetch_error(httpserver.url_for("/r0"))
    assert str(error) == "fetch: fresh-news: too many redirects (more than 5)"
    assert len(httpserver.log) == 6  # the sixth redirect is not followed


def test_redirect_to_non_http_url_fails_with_message(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/r").respond_with_data(
        "", status=302, headers={"Location": "ftp://example.org/feed"}
    )
    error = fetch_error(httpserver.url_for("/r"))
    assert str(error) == (
        "fetch: fresh-news: redirect to invalid URL 'ftp://example.org/feed': "
        "use http:// or https://"
    )


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """50 MB of zeros, gzipped to about 50 KB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1024 * 1024)
    bomb = b"".join(packer.compress(zeros) for _ in range(50)) + packer.flush()
    assert len(bomb) < 100_000
    return bomb


def test_gzip_bomb_fails_with_size_message_without_inflating_it(gzip_bomb: bytes) -> None:
    # Served from this thread: tracemalloc counts every thread, and werkzeug's buffers are not ours.
    bomb = answer(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n", gzip_bomb)
    limits = FetchLimits(user_agent=UA, max_bytes=1024 * 1024)
    started = time.monotonic()
    tracemalloc.start()
    try:
        error = run(fetch_from(bomb, limits))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(error) == "fetch: fresh-news: response larger than 1048576 bytes"
    assert peak < 8 * 1024 * 1024, f"peak memory {peak} bytes: the bomb was inflated"
    assert time.monotonic() - started < 5


def test_declared_content_length_over_cap_fails_before_the_body_arrives() -> None:
    async def announce_only(path: str, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 50000000\r\n\r\n")
        await writer.drain()
        await asyncio.Event().wait()  # never sends the body

    # A short deadline makes a missing early check fail fast rather than hang.
    error = run(fetch_from(announce_only, FetchLimits(UA, max_bytes=1000, timeout=2)))
    assert str(error) == "fetch: fresh-news: response larger than 1000 bytes"


def test_undeclared_body_over_cap_fails_while_streaming() -> None:
    async def unbounded(path: str, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        for _ in range(100):
            writer.write(b"x" * 65536)
            await writer.drain()

    error = run(fetch_from(unbounded, FetchLimits(UA, max_bytes=1_000_000)))
    assert str(error) == "fetch: fresh-news: response larger than 1000000 bytes"


@pytest.mark.parametrize(
    ("limits", "override"),
    [
        pytest.param(FetchLimits(UA, timeout=0.5), None, id="limits-deadline"),
        pytest.param(FetchLimits(UA, timeout=30), 0.5, id="per-fetch-deadline"),
    ],
)
def test_server_dripping_bytes_times_out_at_the_deadline(
    limits: FetchLimits, override: float | None
) -> None:
    async def drip(path: str, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        while True:  # a byte every 50 ms: no single read ever waits long
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.05)

    async def scenario() -> tuple[FetchError, float]:
        # The outer guard turns a missing deadline into a failure instead of a hang.
        async with asyncio.timeout(5), serve(drip) as port:
            started = time.monotonic()
            with pytest.raises(FetchError) as info:
                await fetch(f"http://127.0.0.1:{port}/", limits, timeout=override)
            return info.value, time.monotonic() - started

    error, elapsed = run(scenario())
    assert str(error) == "fetch: fresh-news: timed out after 0.5s"
    assert 0.5 <= elapsed < 3


def test_connection_refused_names_host_and_port() -> None:
    port = closed_port()
    error = fetch_error(f"http://127.0.0.1:{port}/feed")
    assert (
        str(error) == f"fetch: fresh-news: cannot connect to 127.0.0.1:{port}: connection refused"
    )


@pytest.mark.parametrize(
    ("status", "headers", "message", "retry_after"),
    [
        (503, {"Retry-After": "120"}, "HTTP 503 Service Unavailable", 120.0),
        (429, {"Retry-After": "0"}, "HTTP 429 Too Many Requests", 0.0),
        (404, {}, "HTTP 404 Not Found", None),
        (500, {"Retry-After": "soon"}, "HTTP 500 Internal Server Error", None),
    ],
)
def test_http_error_status_fails_with_status_and_retry_after(
    httpserver: HTTPServer,
    status: int,
    headers: dict[str, str],
    message: str,
    retry_after: float | None,
) -> None:
    httpserver.expect_request("/feed").respond_with_data("busy", status=status, headers=headers)
    error = fetch_error(httpserver.url_for("/feed"))
    assert str(error) == f"fetch: fresh-news: {message}"
    assert error.retry_after == retry_after


def test_retry_after_date_counts_from_the_server_date_not_our_clock() -> None:
    # werkzeug always adds its own Date header, so this server is hand-written.
    busy = answer(
        b"HTTP/1.1 429 Too Many Requests\r\n"
        b"Date: Wed, 21 Oct 2015 07:28:00 GMT\r\n"
        b"Retry-After: Wed, 21 Oct 2015 07:30:00 GMT\r\n",
        b"slow down",
    )
    error = run(fetch_from(busy))
    assert str(error) == "fetch: fresh-news: HTTP 429 Too Many Requests"
    assert error.retry_after == 120.0


def test_server_closing_without_answer_fails_with_message() -> None:
    async def hang_up(path: str, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async def scenario() -> tuple[FetchError, int]:
        async with serve(hang_up) as port:
            with pytest.raises(FetchError) as info:
                await fetch(f"http://127.0.0.1:{port}/")
            return info.value, port

    error, port = run(scenario())
    assert str(error) == (
        f"fetch: fresh-news: protocol error from 127.0.0.1:{port}: "
        "Server disconnected without sending a response."
    )


@pytest.mark.parametrize("coding", ["br", "gzip, deflate"])
def test_undecodable_content_encoding_fails_with_message(
    httpserver: HTTPServer, coding: str
) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        b"\x1b\x00", headers={"Content-Encoding": coding}
    )
    error = fetch_error(httpserver.url_for("/feed"))
    assert str(error) == f"fetch: fresh-news: unsupported Content-Encoding {coding!r}"


def test_corrupt_gzip_body_fails_with_message(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        b"not gzip at all", headers={"Content-Encoding": "gzip"}
    )
    error = fetch_error(httpserver.url_for("/feed"))
    assert str(error).startswith("fetch: fresh-news: cannot decompress gzip body: ")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("not a url", "use http:// or https://"),
        ("ftp://example.org/feed", "use http:// or https://"),
        ("http:///feed", "no host"),
    ],
)
def test_invalid_url_fails_with_message(url: str, problem: str) -> None:
    assert str(fetch_error(url)) == f"fetch: fresh-news: invalid URL {url!r}: {problem}"


def test_get_outside_async_with_is_a_programming_error() -> None:
    with pytest.raises(RuntimeError, match="outside 'async with"):
        run(Fetcher(FetchLimits(UA)).get("http://127.0.0.1/", subject="fresh-news"))


# --- concurrency limits -----------------------------------------------------------------------


def test_per_host_limit_keeps_at_most_two_requests_open_to_one_host() -> None:
    gate = Gate()

    async def scenario() -> list[Response]:
        async with serve(gate.handler) as port, Fetcher(FetchLimits(UA)) as fetcher:
            tasks = [
                asyncio.create_task(
                    fetcher.get(f"http://127.0.0.1:{port}/{i}", subject="s", origin="config")
                )
                for i in range(6)
            ]
            await gate.release_one_by_one(6, at_once=2)
            return await asyncio.gather(*tasks)

    responses = run(scenario())
    assert [r.body for r in responses] == [b"ok"] * 6
    assert gate.max_open == 2


def test_different_hosts_are_fetched_in_parallel() -> None:
    gate = Gate()
    limits = FetchLimits(UA, per_host_concurrency=1)

    async def scenario() -> None:
        async with serve(gate.handler) as port, Fetcher(limits) as fetcher:
            tasks = [
                asyncio.create_task(
                    fetcher.get(f"http://{host}:{port}/", subject="s", origin="config")
                )
                for host in ("127.0.0.1", "localhost")
            ]
            await gate.wait_until(served=0, held=2)
            for release in list(gate.held):
                release.set()
            await asyncio.gather(*tasks)

    run(scenario())
    assert gate.max_open == 2


def test_global_limit_caps_requests_across_hosts() -> None:
    gate = Gate()
    limits = FetchLimits(UA, concurrency=1)

    async def scenario() -> None:
        async with serve(gate.handler) as port, Fetcher(limits) as fetcher:
            tasks = [
                asyncio.create_task(
                    fetcher.get(f"http://{host}:{port}/", subject="s", origin="config")
                )
                for host in ("127.0.0.1", "localhost", "127.0.0.1", "localhost")
            ]
            await gate.release_one_by_one(4, at_once=1)
            await asyncio.gather(*tasks)

    run(scenario())
    assert gate.max_open == 1


# --- Retry-After parsing ----------------------------------------------------------------------

NOW = datetime(2015, 10, 21, 7, 28, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("Wed, 21 Oct 2015 07:30:00 GMT", 120.0),  # IMF-fixdate
        ("Wednesday, 21-Oct-15 07:29:00 GMT", 60.0),  # RFC 850
        ("Wed Oct 21 07:28:30 2015", 30.0),  # asctime
        ("Wed, 21 Oct 2015 07:00:00 GMT", 0.0),  # already past
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
        ("²", None),
    ],
)
def test_parse_retry_after(value: str, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


# --- empty and missing answers ----------------------------------------------------------------


def test_empty_200_fails_with_empty_response(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(b"")
    assert str(fetch_error(httpserver.url_for("/feed"))) == "fetch: fresh-news: empty response"


def test_server_that_accepts_and_sends_nothing_says_no_response_within_the_deadline() -> None:
    async def silent(path: str, writer: asyncio.StreamWriter) -> None:
        await asyncio.Event().wait()  # holds the connection open, answering nothing

    async def scenario() -> FetchError:
        async with asyncio.timeout(5), serve(silent) as port:
            with pytest.raises(FetchError) as info:
                await fetch(f"http://127.0.0.1:{port}/", FetchLimits(UA, timeout=0.5))
            return info.value

    assert str(run(scenario())) == "fetch: fresh-news: no response within 0.5s"
