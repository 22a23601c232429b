"""Replicas starting together on one fresh database: every one opens and syncs.

Real processes, released at the same instant by a barrier: first they all
open (migrate) the empty database, then they all mirror the same sources.
"""

from __future__ import annotations

import multiprocessing
import queue
from multiprocessing.synchronize import Barrier

import sqlalchemy as sa

from storage import SourceSpec, Store
from tests.storage.builders import NOW

REPLICAS = 3
SPECS = [SourceSpec(f"s{n}", f"https://s{n}.example/feed.xml", "feed", 600) for n in range(120)]
WAIT = 60.0  # seconds: a deadline, not a pause; each step returns as soon as it can


def _start_and_sync(url: str, gate: Barrier, results: multiprocessing.Queue[str]) -> None:
    """One replica's start-up: open the database, then mirror the sources."""
    try:
        gate.wait(WAIT)
        store = Store.open(url)
        try:
            gate.wait(WAIT)
            store.sync_sources(SPECS, NOW)
        finally:
            store.close()
    except BaseException as exc:
        gate.abort()  # the others stop waiting for this one
        results.put(f"{type(exc).__name__}: {exc}")
        raise
    results.put("ok")


def test_sync_sources_run_by_three_processes_at_once_never_fails(db_url: str) -> None:
    spawn = multiprocessing.get_context("spawn")
    gate = spawn.Barrier(REPLICAS)
    results: multiprocessing.Queue[str] = spawn.Queue()
    processes = [
        spawn.Process(target=_start_and_sync, args=(db_url, gate, results)) for _ in range(REPLICAS)
    ]
    for process in processes:
        process.start()
    try:
        outcomes = sorted(results.get(timeout=2 * WAIT) for _ in processes)
    except queue.Empty:
        outcomes = ["a replica neither finished nor failed"]
    finally:
        for process in processes:
            process.join(WAIT)
            if process.is_alive():
                process.kill()
    assert outcomes == ["ok"] * REPLICAS
    assert [process.exitcode for process in processes] == [0] * REPLICAS
    store = Store(db_url)
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT name, active FROM source")).all()
    finally:
        store.close()
    assert sorted(name for name, _ in rows) == sorted(spec.name for spec in SPECS)
    assert all(active for _, active in rows)
