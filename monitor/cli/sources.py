"""`newsmon sources import FILE.opml` and `newsmon sources export`.

Import edits the config file itself through ruamel.yaml's round trip, so
the user's comments, quoting and ``${VAR}`` references survive; only the
new source entries are added at the end of ``sources:``.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from monitor.cli.app import globals_of
from monitor.cli.commands import sources_app
from monitor.config.opml import ExportSource, NewSource, parse_opml, plan_import, render_opml
from monitor.errors import ConfigError, MonitorError, ParseError
from monitor.logs import redact
from monitor.wording import counted

__all__ = ["RELOAD_HINT", "append_sources", "sources_export", "sources_import"]

RELOAD_HINT = (
    "a running daemon polls them after a reload: kill -HUP PID "
    "(docker: docker kill --signal=HUP CONTAINER)"
)


@sources_app.command("import")
def sources_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="An OPML file from a feed reader.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be added; change nothing.")
    ] = False,
) -> None:
    """Append the feeds of an OPML file to the config (URLs already there are skipped)."""
    config_path = globals_of(ctx).config_path()
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise MonitorError(f"sources import: cannot read {file}: {exc.strerror or exc}") from None
    try:
        feeds = parse_opml(data)
    except ParseError as exc:
        raise MonitorError(f"sources import: {file}: {exc}") from None
    text = config_path.read_text(encoding="utf-8") if config_path.exists() else ""
    doc = _load(text, config_path)
    configured = [
        (str(s.get("name", "")), str(s.get("url", "")))
        for s in doc.get("sources") or []
        if isinstance(s, dict)
    ]
    plan = plan_import(feeds, existing_names=[n for n, _ in configured], existing_urls=configured)
    if plan.added and not dry_run:
        _write(config_path, append_sources(text, doc, plan.added))
    verb = "would add" if dry_run else "added"
    added = counted(len(plan.added), "source")
    typer.echo(f"{verb} {added} to {config_path} ({len(feeds)} in {file})")
    for source in plan.added:
        tags = f"  [{', '.join(source.tags)}]" if source.tags else ""
        typer.echo(f"  + {source.name}  {source.url}{tags}")
    for url, reason in plan.skipped:
        typer.echo(f"  skipped {url}: {reason}")
    if plan.added and not dry_run:
        typer.echo(RELOAD_HINT)


@sources_app.command("export")
def sources_export(ctx: typer.Context) -> None:
    """Print the configured feeds as OPML 2.0 (for another feed reader).

    URLs are printed with their ${VAR} secrets masked (****): the file may be shared.
    """
    config = globals_of(ctx).config()
    sources = [
        ExportSource(s.name, redact(s.url, config.secrets), tuple(s.tags))
        for s in config.sources
        if s.kind in (None, "feed")  # HTML listings and sitemaps are no feeds to a reader
    ]
    now = datetime.now(UTC).replace(microsecond=0)
    typer.echo(render_opml(sources, title="newsmon sources", now=now), nl=False)


def _yaml(text: str) -> YAML:
    yaml = YAML()  # round trip: comments, key order and quoting survive
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long URL
    # Keep the file's own list style: `sources:` followed by `  - name:` or `- name:`.
    found = re.search(r"^sources:[ \t]*(?:#.*)?\n(?:[ \t]*(?:#.*)?\n)*([ \t]*)-", text, re.M)
    offset = len(found.group(1)) if found else 2
    yaml.indent(mapping=2, sequence=offset + 2, offset=offset)
    return yaml


def _load(text: str, path: Path) -> Any:
    try:
        doc = _yaml(text).load(text) if text.strip() else None
    except YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if doc is None:
        return CommentedMap()
    if not isinstance(doc, CommentedMap):
        raise ConfigError(f"{path}: the top level must be a mapping with sources")
    return doc


def append_sources(text: str, doc: Any, added: Sequence[NewSource]) -> str:
    """The config text with `added` appended to ``sources:`` (everything else as it was)."""
    sources = doc.get("sources")
    if not isinstance(sources, CommentedSeq):
        sources = CommentedSeq()
        doc["sources"] = sources
    for source in added:
        entry = CommentedMap()
        entry["name"] = source.name
        entry["url"] = source.url
        entry["kind"] = "feed"
        if source.tags:
            tags = CommentedSeq(source.tags)
            tags.fa.set_flow_style()
            entry["tags"] = tags
        sources.append(entry)
    out = io.StringIO()
    _yaml(text).dump(doc, out)
    return out.getvalue()


def _write(path: Path, text: str) -> None:
    """Replace the file atomically (a crash leaves the old or the new, never half)."""
    target = Path(os.path.realpath(path))  # a symlinked config keeps its link
    try:
        mode = target.stat().st_mode & 0o7777 if target.exists() else 0o644
        fd, tmp = tempfile.mkstemp(prefix=".newsmon-", suffix=".yaml", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise MonitorError(f"sources import: cannot write {path}: {exc.strerror or exc}") from None
