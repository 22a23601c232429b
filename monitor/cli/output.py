"""CLI output: JSON objects of the contract (DESIGN §9), tables, CSV, JSON lines.

Every printer masks the `Secrets` it is handed (`monitor.logs`): a source URL with
``${FEED_KEY}`` in it is stored and fetched as is, but printed as ``****``.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from monitor.cli.app import Globals
from monitor.clock import from_iso, iso, table_time, zone
from monitor.config.load import Config
from monitor.errors import ConfigError
from monitor.logs import Secrets
from storage.types import ArticleRow, DeliveryRow, SourceStatus, StoryRow

__all__ = [
    "Display",
    "article_json",
    "delivery_json",
    "display_of",
    "iso",
    "print_csv",
    "print_json",
    "print_jsonl",
    "print_rows",
    "print_table",
    "source_json",
    "story_json",
]

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Display:
    """How tables show times: in this zone, relative to `now` (JSON and CSV stay UTC)."""

    zone: tzinfo = UTC
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def caption(self) -> str:
        return f"times in {self.zone}"

    def cell(self, column: str, value: object) -> object:
        """A table cell: an ISO UTC time of a time column becomes local and relative."""
        if isinstance(value, str) and (column.endswith("_at") or column == "last_seen"):
            moment = from_iso(value)
            if moment is not None:
                return table_time(moment, self.zone, self.now)
        return value


def display_of(g: Globals, config: Config | None = None) -> Display:
    """Tables in `settings.timezone`: of `config`, else of the config file when there is
    one (commands that only read the database need none; then UTC)."""
    if config is None and g.config_path().exists():
        try:
            config = g.config()
        except ConfigError:  # listing the database needs no valid config: show UTC
            config = None
    return Display(zone(config.settings.timezone if config else None))


def article_json(row: ArticleRow, *, body: bool = False, snippet: str | None = None) -> Row:
    doc: Row = {
        "id": row.id,
        "source": row.source,
        "url": row.url,
        "title": row.title,
        "published_at": iso(row.published_at),
        "fetched_at": iso(row.fetched_at),
        "author": row.author,
        "summary": row.summary,
        "cluster_id": row.cluster_id,
        "outlets": list(row.outlets or (row.source,)),
    }
    if body:
        doc["body"] = row.body
    if snippet is not None:
        doc["snippet"] = snippet
    return doc


def story_json(row: StoryRow) -> Row:
    """A story cluster as `newsmon stories` prints it."""
    return {
        "cluster_id": row.cluster_id,
        "title": row.title,
        "url": row.url,
        "first_seen": iso(row.first_seen),
        "outlets": list(row.outlets),
        "outlet_count": len(row.outlets),
        "articles": row.articles,
    }


def _cell(value: object) -> object:
    """A value as one CSV or table cell: lists (outlets) joined with commas."""
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return "" if value is None else value


def source_json(row: SourceStatus) -> Row:
    return {
        "name": row.name,
        "url": row.url,
        "kind": row.kind,
        "status": row.status,
        "last_poll_at": iso(row.last_poll_at),
        "last_success_at": iso(row.last_success_at),
        "next_poll_at": iso(row.next_poll_at),
        "error_count": row.error_count,
        "last_error": row.last_error,
        "articles": row.articles,
        "window_overflows": row.window_overflows,
    }


_WAITING = ("pending", "failed")  # statuses whose next_attempt_at is still ahead


def delivery_json(row: DeliveryRow) -> Row:
    return {
        "id": row.id,
        "rule": row.rule,
        "channel": row.channel,
        "status": row.status,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "created_at": iso(row.created_at),
        "sent_at": iso(row.sent_at),
        "mode": row.mode,
        "next_attempt_at": iso(row.next_attempt_at if row.status in _WAITING else None),
        "article_id": row.article_id,
        "url": row.url,
        "title": row.title,
    }


def print_json(doc: object, *, secrets: Secrets, out: TextIO | None = None) -> None:
    """One JSON document and nothing else."""
    stream = out or sys.stdout
    json.dump(secrets.mask_value(doc), stream, ensure_ascii=False, indent=2)
    stream.write("\n")


def print_jsonl(rows: Iterable[Row], *, secrets: Secrets, out: TextIO | None = None) -> None:
    stream = out or sys.stdout
    for row in rows:
        stream.write(json.dumps(secrets.mask_value(row), ensure_ascii=False) + "\n")


def print_csv(
    rows: Iterable[Row], columns: Sequence[str], *, secrets: Secrets, out: TextIO | None = None
) -> None:
    writer = csv.DictWriter(out or sys.stdout, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in map(secrets.mask_value, rows):
        writer.writerow({k: _cell(row.get(k)) for k in columns})


def print_table(
    rows: Sequence[Row],
    columns: Sequence[str],
    *,
    secrets: Secrets,
    title: str | None = None,
    out: TextIO | None = None,
    display: Display | None = None,
) -> None:
    """A rich table sized to the terminal; 200 columns wide, uncoloured, when piped.

    Scripts should use --format json or csv; the table is for people: times are
    shown in `display`'s zone and relative to its `now` (default UTC, now).
    """
    stream = out or sys.stdout
    width = None if stream.isatty() else 200
    console = Console(file=stream, soft_wrap=False, width=width)
    shown = display or Display()
    has_times = any(c.endswith("_at") or c == "last_seen" for c in columns)
    table = Table(
        title=Text(title) if title else None,
        caption=Text(shown.caption()) if has_times and rows else None,
        show_lines=False,
    )
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in map(secrets.mask_value, rows):
        cells = (shown.cell(c, row.get(c)) for c in columns)
        # Text cells, not markup: "[/]" or "[link=...]" in a news title stays text.
        table.add_row(*(Text(str(_cell(v))) for v in cells))
    console.print(table)


def print_rows(
    rows: Sequence[Row],
    fmt: str,
    columns: Sequence[str],
    *,
    secrets: Secrets,
    csv_columns: Sequence[str] | None = None,
    title: str | None = None,
    display: Display | None = None,
) -> None:
    """Rows as `--format` asks: one JSON array, CSV (every field), or a table of `columns`
    (times in `display`'s zone; JSON and CSV keep UTC)."""
    if fmt == "json":
        print_json(list(rows), secrets=secrets)
    elif fmt == "csv":
        print_csv(rows, csv_columns or (list(rows[0]) if rows else columns), secrets=secrets)
    else:
        print_table(rows, columns, secrets=secrets, title=title, display=display)
