"""Huge documents are parsed one at a time, so a handful of them cannot multiply peak memory."""

from __future__ import annotations

import asyncio
import threading

from monitor.pipeline.harvest import LARGE_DOCUMENT, ParseSlots


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
