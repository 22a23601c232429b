"""`newsmon replicas`: the daemons sharing this database, and what each holds now.

A replica's row comes from its heartbeat (every 10 s) and goes on a clean
stop; a killed one stays, shown not alive once a minute passes without a beat,
until its leases run out and the others take its work.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from monitor.cli.app import Format, app, globals_of
from monitor.cli.output import display_of, print_rows
from monitor.clock import iso
from monitor.daemon.replica import STALE_SECONDS
from storage.types import ReplicaRow

__all__ = ["REPLICA_COLUMNS", "replica_json", "replicas"]

REPLICA_COLUMNS = [
    "id",
    "host",
    "pid",
    "started_at",
    "last_seen",
    "alive",
    "sources",
    "deliveries",
]


def replica_json(row: ReplicaRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "host": row.host,
        "pid": row.pid,
        "version": row.version,
        "started_at": iso(row.started_at),
        "last_seen": iso(row.last_seen),
        "alive": row.alive,
        "sources": list(row.sources),
        "deliveries": row.deliveries,
    }


def _flat(doc: dict[str, Any]) -> dict[str, Any]:
    """A row for a table or CSV: one cell per field."""
    return doc | {
        "alive": "yes" if doc["alive"] else "no",
        "sources": " ".join(doc["sources"]),
    }


@app.command("replicas")
def replicas(
    ctx: typer.Context,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
) -> None:
    """The daemons running on this database: last heartbeat, sources and alerts they hold."""
    g = globals_of(ctx)
    store = g.reader()
    try:
        rows = [
            replica_json(r) for r in store.replicas(datetime.now(UTC), stale_after=STALE_SECONDS)
        ]
    finally:
        store.close()
    if fmt == Format.json:
        print_rows(rows, fmt, REPLICA_COLUMNS, secrets=g.secrets)
    elif not rows and fmt == Format.table:
        typer.echo("no replicas")
    else:
        shown = display_of(g) if fmt == Format.table else None
        print_rows([_flat(r) for r in rows], fmt, REPLICA_COLUMNS, secrets=g.secrets, display=shown)
