"""Huge documents are parsed one at a time, so a handful of them cannot multiply peak memory;
with worker processes the others are parsed on another core."""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from pathlib import Path

import pytest

from monitor.daemon.service import parse_processes
from monitor.errors import ParseError
from monitor.pipeline.harvest import LARGE_DOCUMENT, ParseSlots
from monitor.pipeline.kinds.feed import read_feed

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"


def test_small_documents_are_parsed_side_by_side() -> None:
    meet = threading.Barrier(3, timeout=10)

    def parse(body: bytes) -> int:
        meet.wait()  # raises BrokenBarrierError unless all three run at once
        return len(body)

    async def main() -> list[int]:
        slots = ParseSlots()
        return await asyncio.gather(*(slots.run(parse, b"x" * 10) for _ in range(3)))

    assert asyncio.run(main()) == [10, 10, 10]


def test_large_documents_wait_for_each_other() -> None:
    entered = [threading.Event() for _ in range(3)]
    release = threading.Event()
    count = iter(range(3))

    def parse(body: bytes) -> int:
        entered[next(count)].set()
        release.wait(10)
        return len(body)

    async def main() -> list[int]:
        slots = ParseSlots()
        big = b"x" * (LARGE_DOCUMENT + 1)
        tasks = [asyncio.ensure_future(slots.run(parse, big)) for _ in range(3)]
        assert await asyncio.to_thread(entered[0].wait, 10)
        # A second parse must not start while the first holds the slot.
        assert not await asyncio.to_thread(entered[1].wait, 0.5)
        release.set()
        return list(await asyncio.gather(*tasks))

    assert asyncio.run(main()) == [LARGE_DOCUMENT + 1] * 3


# Workers import these by name: they live at module level, as the parsers do.
def _where(body: bytes) -> tuple[int, int]:
    return os.getpid(), len(body)


def _die(body: bytes, *, url: str) -> int:
    os._exit(3)  # a worker killed mid-parse (out of memory, a crash in C)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_with_processes_small_documents_are_parsed_in_a_worker_and_close_ends_it() -> None:
    slots = ParseSlots(processes=1)
    slots.start("monitor.sources.feed")  # workers up before the first document

    async def main() -> list[tuple[int, int]]:
        return await asyncio.gather(*(slots.run(_where, b"x" * n) for n in (1, 2, 3)))

    try:
        results = asyncio.run(main())
    finally:
        slots.close()
    assert [size for _, size in results] == [1, 2, 3]
    [worker] = {pid for pid, _ in results}
    assert worker != os.getpid()
    assert _gone(worker)


def test_with_processes_a_feed_reads_as_it_does_in_this_process() -> None:
    body = (FIXTURES / "rss20.xml").read_bytes()
    job = functools.partial(read_feed, url="https://example.org/f", headers={}, source="s")
    slots = ParseSlots(processes=1)
    try:
        read = asyncio.run(slots.run(job, body, max_body=10_000))
    finally:
        slots.close()
    assert read == job(body, max_body=10_000)
    assert read.articles


def test_a_worker_that_dies_fails_only_its_document() -> None:
    slots = ParseSlots(processes=1)

    async def main() -> int:
        with pytest.raises(ParseError, match=r"parse: https://example.org/x: the parsing process"):
            await slots.run(_die, b"x", url="https://example.org/x")
        _, size = await slots.run(_where, b"abc")
        return size

    try:
        assert asyncio.run(main()) == 3
    finally:
        slots.close()


@pytest.mark.parametrize(
    ("sources", "cpus", "processes"),
    [(200, 2, 1), (200, 3, 2), (200, 64, 2), (19, 2, 0), (200, 1, 0), (200, None, 0)],
)
def test_parsing_processes_one_per_spare_core_up_to_two_for_configs_worth_it(
    sources: int, cpus: int | None, processes: int
) -> None:
    assert parse_processes(sources, cpus) == processes
