"""`newsmon search` and `newsmon rematch`: the query language over the stored archive."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from monitor.cli.app import Format, UsageError, app, globals_of, parse_since
from monitor.cli.output import (
    article_json,
    display_of,
    print_csv,
    print_json,
    print_rows,
    print_table,
)
from monitor.config.load import Config
from monitor.config.yaml import closest
from monitor.delivery.outbox import Deliverer, DeliveryReport
from monitor.match.query import QuerySyntaxError, parse_query
from monitor.match.rules import Match, Matcher
from monitor.pipeline.archive import Searcher, either_query
from monitor.pipeline.archive import rematch as rematch_rows
from monitor.pipeline.articles import delivery_rows
from monitor.pipeline.poll import Rules, compile_config_rules
from monitor.wording import counted, plural_of
from notifiers import Channels
from notifiers.markup import mark_spans
from storage import Store
from storage.types import ArticleRow, DeliveryIn

__all__ = ["Found", "find", "one_per_story", "rematch", "search", "source_names"]

SEARCH_COLUMNS = ["id", "source", "published_at", "title", "url", "snippet"]
SEARCH_CSV_COLUMNS = [*SEARCH_COLUMNS, "cluster_id", "outlets"]
COLLAPSED_COLUMNS = ["cluster_id", "outlets", "published_at", "title", "url", "snippet"]
# With --collapse, candidates read per story wanted: copies of one story fold into one line.
_COLLAPSE_READ = 4
REMATCH_COLUMNS = ["rule", "id", "title", "terms", "url", "snippet"]


COUNT_CAP = 1000  # results counted beyond --limit, for "first 50 of 62" (then "1,000+")


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[
        str,
        typer.Argument(
            help='A query: Russia* AND "Phnom Penh" -sport. Words side by side must all '
            "appear (AND); write ASEAN OR Russia for either."
        ),
    ],
    since: Annotated[str | None, typer.Option(help="Only articles since (2024-05-01, 7d).")] = None,
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source", help="Only this source, or tag:NAME for a tag's sources (repeatable)."
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many results.")] = 50,
    collapse: Annotated[
        bool,
        typer.Option("--collapse", help="One line per story: its newest match and its outlets."),
    ] = False,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
) -> None:
    """Search the stored articles with the rule query language."""
    if not query.strip():
        raise UsageError("search: empty query")
    try:
        parse_query(query)  # before touching the database: a typo never waits on a lock
    except QuerySyntaxError as exc:
        raise UsageError(f"search: {exc}") from None
    g = globals_of(ctx)
    config = g.config() if g.config_path().exists() else None
    store = g.reader(config)
    try:
        names = source_names(source, config, store) if source else None
        found = find(
            store, query, since=parse_since(since), names=names, limit=limit, collapse=collapse
        )
    finally:
        store.close()
    print_rows(
        found.docs,
        fmt,
        COLLAPSED_COLUMNS if collapse else SEARCH_COLUMNS,
        secrets=g.secrets,
        csv_columns=SEARCH_CSV_COLUMNS,
        title=found.title,
        display=display_of(g, config) if fmt is Format.table else None,
    )
    if found.either and found.wider:
        wider = found.wider
        articles = f"{COUNT_CAP:,}+ articles" if wider >= COUNT_CAP else counted(wider, "article")
        typer.echo(
            f"0 results; {articles} match {found.either} — terms side by side mean AND", err=True
        )


@dataclass(frozen=True, slots=True)
class Found:
    """What `newsmon search` prints: the result documents, the table's title and,
    when nothing matched terms side by side, the query finding either and its count."""

    docs: list[dict[str, Any]]
    title: str
    either: str | None
    wider: int


def find(
    store: Store,
    query: str,
    *,
    since: datetime | None,
    names: list[str] | None,
    limit: int,
    collapse: bool,
) -> Found:
    """`newsmon search` short of printing (QuerySyntaxError for a bad query)."""
    searcher = Searcher(store, query)
    if collapse:  # stories are counted among the first matches read
        wanted = max(limit + 1, COUNT_CAP, limit * _COLLAPSE_READ)
        rows = searcher.rows(since=since, source=names, limit=wanted)
        complete = len(rows) < wanted
        rows = one_per_story(rows)
        total = len(rows)
    else:
        rows = searcher.rows(since=since, source=names, limit=limit + 1)
        total, complete = len(rows), True
        if total > limit:  # cut: count the rest, up to the cap
            cap = max(limit + 1, COUNT_CAP)
            total = max(total, searcher.count(since=since, source=names, cap=cap))
            complete = total < cap
    either = either_query(parse_query(query)) if not rows else None
    wider = (
        Searcher(store, either, index=False).count(since=since, source=names, cap=COUNT_CAP)
        if either
        else 0
    )
    docs = [
        article_json(row, snippet=marked(match)) for row, match in searcher.explain(rows[:limit])
    ]
    noun = "story" if collapse else "result"
    title = results_title(len(docs), total, complete=complete, noun=noun)
    return Found(docs, title, either, wider)


def results_title(shown: int, found: int, *, complete: bool = True, noun: str = "result") -> str:
    """The table's title: "62 results", or "first 50 of 62" when --limit cut it
    ("of 1,000+" when counting stopped before the end); `noun` "story" with --collapse."""
    if shown >= found:
        return counted(found, noun)
    total = f"{found:,}" + ("" if complete else "+")
    return f"first {shown} of {total} {plural_of(noun)} (--limit to see more)"


def source_names(refs: list[str], config: Config | None, store: Store) -> list[str]:
    """Source names for --source values (names or tag:NAME); unknown ones are usage errors."""
    stored = set(store.source_names())
    configured = [s.name for s in config.sources] if config else []
    known = list(dict.fromkeys([*configured, *sorted(stored)]))
    tags: dict[str, list[str]] = {}
    for s in config.sources if config else []:
        for tag in s.tags:
            tags.setdefault(tag, []).append(s.name)
    names: list[str] = []
    for ref in refs:
        if ref.startswith("tag:"):
            tag = ref.removeprefix("tag:")
            if tag not in tags:
                guess = closest(tag, list(tags))
                hint = f"did you mean 'tag:{guess}'?" if guess else "no source has this tag"
                raise UsageError(f"search: --source: unknown tag '{tag}' ({hint})")
            names.extend(tags[tag])
        elif ref in known:
            names.append(ref)
        else:
            guess = closest(ref, known)
            hint = f"did you mean '{guess}'?" if guess else f"known: {', '.join(known) or 'none'}"
            raise UsageError(f"search: --source: unknown source '{ref}' ({hint})")
    return list(dict.fromkeys(names))


def one_per_story(rows: list[ArticleRow]) -> list[ArticleRow]:
    """The first (newest) article of each story cluster, in order."""
    seen: set[int] = set()
    kept: list[ArticleRow] = []
    for row in rows:
        if row.cluster_id not in seen:
            seen.add(row.cluster_id)
            kept.append(row)
    return kept


@app.command()
def rematch(
    ctx: typer.Context,
    rule: Annotated[str | None, typer.Option(help="Only this rule.")] = None,
    since: Annotated[str | None, typer.Option(help="Only articles since (2024-05-01, 7d).")] = None,
    alert: Annotated[
        bool, typer.Option("--alert", help="Queue and send the alerts (never twice).")
    ] = False,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
) -> None:
    """Run the rules over stored articles and print what would alert."""
    g = globals_of(ctx)
    config = g.config()
    rules = _selected_rules(compile_config_rules(config), rule)
    tags_of = {s.name: frozenset(s.tags) for s in config.sources}
    store = g.store(config)
    try:
        found = list(rematch_rows(store.iter_articles(parse_since(since)), rules.matcher, tags_of))
        articles = counted(len({r.id for r, _ in found}), "article")
        summary = f"rematch: {counted(len(found), 'match')} in {articles}"
        if alert:
            # Console alerts must not mix into a JSON or CSV document on stdout.
            console = sys.stdout if fmt is Format.table else sys.stderr
            summary += "; " + _alert(
                config, store, rules, found, g.channels(config, console=console)
            )
    finally:
        store.close()
    rows = [_rematch_json(row, match) for row, match in found]
    if fmt is Format.json:
        print_json(rows, secrets=g.secrets)
    else:
        shown = [{**r, "terms": ", ".join(r["terms"])} for r in rows]
        if fmt is Format.csv:
            print_csv(shown, REMATCH_COLUMNS, secrets=g.secrets)
        else:
            print_table(shown, REMATCH_COLUMNS, secrets=g.secrets)
    typer.echo(summary, err=True)


def _selected_rules(rules: Rules, name: str | None) -> Rules:
    if name is None:
        return rules
    specs = [spec for spec in rules.matcher.rules if spec.name == name]
    if not specs:
        known = ", ".join(spec.name for spec in rules.matcher.rules) or "none"
        raise UsageError(f"rematch: unknown rule '{name}' (known: {known})")
    return Rules(Matcher(specs), {name: rules.routes[name]})


def _rematch_json(row: ArticleRow, match: Match) -> dict[str, Any]:
    return {
        "rule": match.rule,
        "id": row.id,
        "url": row.url,
        "title": row.title,
        "terms": list(match.terms),
        "snippet": marked(match),
        "cluster_id": row.cluster_id,
        "outlets": list(row.outlets or (row.source,)),
    }


def marked(match: Match) -> str:
    """The snippet with its hits marked «like this» (plain text, any output format)."""
    return mark_spans(match.snippet, match.spans, escape=str, open_mark="«", close_mark="»")


def _alert(
    config: Config,
    store: Store,
    rules: Rules,
    found: list[tuple[ArticleRow, Match]],
    channels: Channels,
) -> str:
    """Queue the matches through the outbox (its unique key drops repeats), then deliver."""
    now = datetime.now(UTC)
    by_article: dict[int, list[DeliveryIn]] = {}
    for row, match in found:
        by_article.setdefault(row.id, []).extend(delivery_rows(match, rules.routes[match.rule]))
    queued = sum(store.queue_deliveries(aid, items, now) for aid, items in by_article.items())
    wanted = sum(len(items) for items in by_article.values())
    deliverer = Deliverer(store, channels, lease_seconds=config.settings.delivery_lease)
    report: DeliveryReport = asyncio.run(deliverer.deliver_pending())
    return (
        f"{counted(queued, 'alert')} queued ({wanted - queued} already queued or sent); "
        f"{report.sent} sent, {report.failed + report.dead} failed"
    )
