"""Who this daemon process is among the replicas sharing one database.

One `ReplicaInfo` per process: its id (``HOST:PID:STARTTS``) is the claimant
written on every source and delivery it leases, the key of its heartbeat row,
the `replica` label of its metrics and the name `/healthz` gives.
"""

from __future__ import annotations

import copy
import os
import socket
from collections.abc import Iterable
from datetime import UTC, datetime

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from monitor import __version__
from storage.types import ReplicaInfo

__all__ = ["HEARTBEAT_SECONDS", "STALE_SECONDS", "ReplicaLabelled", "replica_info"]

HEARTBEAT_SECONDS = 10.0
# A replica silent this long is shown dead: several missed beats, not one slow database.
STALE_SECONDS = 60.0


def replica_info(now: datetime | None = None) -> ReplicaInfo:
    """This process's identity; the start time tells a restarted process from its predecessor
    when a container reuses the host name and PID 1."""
    started = now or datetime.now(UTC)
    host, pid = socket.gethostname(), os.getpid()
    return ReplicaInfo(f"{host}:{pid}:{int(started.timestamp())}", host, pid, started, __version__)


class ReplicaLabelled:
    """A collector that exposes `source`'s metrics with ``replica="<id>"`` on every sample.

    The label is added at exposition, so the counters stay plain and a
    Prometheus scraping several replicas keeps their series apart.
    """

    def __init__(self, source: Collector, replica: str) -> None:
        self._source = source
        self._replica = replica

    def collect(self) -> Iterable[Metric]:
        for family in self._source.collect():
            labelled = copy.copy(family)
            labelled.samples = [
                sample._replace(labels={**sample.labels, "replica": self._replica})
                for sample in family.samples
            ]
            yield labelled
