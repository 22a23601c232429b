"""`newsmon stories`: recent story clusters, the most widely carried first.

A story is a cluster of copies of one article (syndication, reposts with a new
headline); its outlets are the distinct sources that carried it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from monitor.cli.app import Format, app, globals_of, parse_since
from monitor.cli.output import print_rows, story_json

__all__ = ["STORY_COLUMNS", "stories"]

STORY_COLUMNS = ["cluster_id", "outlet_count", "first_seen", "title", "outlets"]
DEFAULT_SINCE = "7d"


@app.command("stories")
def stories(
    ctx: typer.Context,
    since: Annotated[
        str, typer.Option(help="Stories first seen since (2024-05-01, 7d).")
    ] = DEFAULT_SINCE,
    min_outlets: Annotated[
        int, typer.Option("--min-outlets", min=1, help="Only stories carried by this many sources.")
    ] = 1,
    limit: Annotated[int, typer.Option(min=1, help="At most this many stories.")] = 50,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
) -> None:
    """Recent stories by the number of outlets that carried them: outlets, first seen, title."""
    g = globals_of(ctx)
    first_seen = parse_since(since, datetime.now(UTC))
    assert first_seen is not None
    store = g.reader()
    try:
        rows = [
            story_json(s) for s in store.stories(first_seen, min_outlets=min_outlets, limit=limit)
        ]
    finally:
        store.close()
    if not rows and fmt == Format.table:
        typer.echo("no stories")
        return
    print_rows(rows, fmt, STORY_COLUMNS, secrets=g.secrets, title=f"{len(rows)} story(ies)")
