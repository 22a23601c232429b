"""Persistence for newsmon: tables, engine, migrations and the store API.

    store = Store.open("sqlite:///newsmon.db")   # or postgresql+psycopg://...
    result = store.ingest(source_id, candidates, now)   # Candidate(article, deliveries)

Everything crossing this boundary is a value type from `storage.types`; every
database failure is a `StorageError`.
"""

from __future__ import annotations

from storage.errors import StorageError
from storage.store import Store
from storage.types import (
    ArticleIn,
    ArticleRow,
    Candidate,
    ClaimedDelivery,
    DeliveryIn,
    DeliveryRow,
    DueSource,
    IngestResult,
    PollResult,
    ReplicaInfo,
    ReplicaRow,
    SourceSpec,
    SourceStatus,
    Stories,
    StoryRow,
)

__all__ = [
    "ArticleIn",
    "ArticleRow",
    "Candidate",
    "ClaimedDelivery",
    "DeliveryIn",
    "DeliveryRow",
    "DueSource",
    "IngestResult",
    "PollResult",
    "ReplicaInfo",
    "ReplicaRow",
    "SourceSpec",
    "SourceStatus",
    "StorageError",
    "Store",
    "Stories",
    "StoryRow",
]
