"""The dashboard's pages: each gathers its data from the store in a worker thread,
then renders one template.

Gathering is plain synchronous code (`_overview`, `_source`, ...) taking the
`Dashboard` and the request's parameters, so it reads top to bottom; the
handlers only hop threads and render.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import HTMLResponse

from monitor.match.query import QuerySyntaxError, parse_query
from monitor.pipeline.archive import search as search_archive
from monitor.web import charts, views
from storage import StorageError, Store
from storage.types import ArticleRow, DayCount, SourceStatus

__all__ = ["alerts", "matches", "overview", "search", "source", "sources", "story_outlets"]

CHART_DAYS = 14
CHART_HOURS = 48
CHART_ROWS = 8  # sources or rules charted: the busiest ones
MAX_PAGE = 40  # search and lists page this deep at most (each page re-reads the ones before)
MAX_QUERY = 1000  # characters
STATUSES = ("pending", "sending", "sent", "failed", "dead")

Context = dict[str, Any]


def story_outlets(store: Store, articles: Sequence[ArticleRow]) -> dict[int, tuple[str, ...]]:
    """The outlets of each article's story, by article id: the one place that says it.

    A story is the article's cluster (syndicated copies join the first copy's
    cluster); its outlets are the sources of its copies and of their sightings,
    in the order they carried it.
    """
    outlets = store.story_outlets(sorted({a.cluster_id for a in articles}))
    return {a.id: outlets.get(a.cluster_id, ()) for a in articles}


# --- handlers -------------------------------------------------------------------------


async def overview(request: Request) -> HTMLResponse:
    return await _page(request, "overview.html", _overview)


async def sources(request: Request) -> HTMLResponse:
    return await _page(request, "sources.html", _sources)


async def source(request: Request) -> HTMLResponse:
    return await _page(request, "source.html", _source)


async def matches(request: Request) -> HTMLResponse:
    return await _page(request, "matches.html", _matches)


async def alerts(request: Request) -> HTMLResponse:
    return await _page(request, "alerts.html", _alerts)


async def search(request: Request) -> HTMLResponse:
    return await _page(request, "search.html", _search)


class _NotFound(Exception):
    pass


async def _page(
    request: Request, template: str, gather: Callable[[Any, Request, datetime], Context]
) -> HTMLResponse:
    dash = request.app.state.dashboard
    now = dash.clock()
    zone = ZoneInfo(dash.config().settings.timezone)
    status = 200
    try:
        # The dashboard's own threads: slow pages never take the daemon's to_thread workers.
        pool = request.app.state.readers
        context = await asyncio.get_running_loop().run_in_executor(pool, gather, dash, request, now)
    except _NotFound as exc:
        template, status, context = "error.html", 404, {"message": str(exc)}
    except StorageError as exc:
        message = f"the database did not answer: {dash.mask(str(exc))}"
        template, status, context = "error.html", 503, {"message": message}
    env = request.app.state.templates

    def local(moment: datetime | None) -> str:
        return views.local_time(moment, zone)

    def ago(moment: datetime | None) -> str:
        return views.relative_time(moment, now)

    html = env.get_template(template).render(
        path=request.url.path, now=now, local=local, ago=ago, mask=dash.mask, **context
    )
    return HTMLResponse(html, status_code=status)


def _int(request: Request, name: str, default: int, top: int) -> int:
    try:
        value = int(request.query_params.get(name, default))
    except ValueError:
        return default
    return min(max(value, 1), top)


def _failing_first(rows: list[SourceStatus]) -> list[SourceStatus]:
    return sorted(rows, key=lambda s: views.source_order(s.status, s.name))


def _day_rows(
    counts: list[DayCount], now: datetime, offset: int, keys: Sequence[str] | None = None
) -> list[tuple[str, int, Any]]:
    """(key, total, chart) for the busiest keys over the last `CHART_DAYS` days."""
    first = charts.epoch_day(now, offset) - CHART_DAYS + 1
    table = charts.day_series(counts, first, CHART_DAYS)
    labels = charts.day_labels(first, CHART_DAYS)
    chosen = keys if keys is not None else sorted(table, key=lambda k: -sum(table[k]))
    rows = []
    for key in list(chosen)[:CHART_ROWS]:
        values = table.get(key, [0] * CHART_DAYS)
        chart = charts.bar_chart([charts.Series("", values)], labels, title=f"{key} per day")
        rows.append((key, sum(values), chart))
    return rows


# --- gathering (worker thread) -----------------------------------------------------------


def _overview(dash: Any, request: Request, now: datetime) -> Context:
    store: Store = dash.store
    config = dash.config()
    zone = ZoneInfo(config.settings.timezone)
    statuses = _failing_first(store.source_statuses(now))
    articles_today, alerts_today = store.activity_since(views.today_start(now, zone))
    outbox = store.delivery_counts()
    offset = charts.day_offset(now, zone)
    since = now - timedelta(days=CHART_DAYS)
    first_hour = int(now.timestamp()) // 3600 - CHART_HOURS + 1
    polls, errors = charts.hour_series(
        store.poll_hours(datetime.fromtimestamp(first_hour * 3600, now.tzinfo)),
        first_hour,
        CHART_HOURS,
    )
    poll_chart = charts.bar_chart(
        [charts.Series("polls", polls), charts.Series("failed", errors, "bar err")],
        charts.hour_labels(first_hour, CHART_HOURS, zone),
        title=f"polls and errors per hour, last {CHART_HOURS} h",
    )
    channels = dash.channels()
    polled = [s.last_poll_at for s in statuses if s.last_poll_at is not None]
    return {
        "sources": statuses,
        "by_status": Counter(s.status for s in statuses),
        "articles_today": articles_today,
        "alerts_today": sum(alerts_today.values()),
        "alerts_today_by_status": alerts_today,
        "outbox": outbox,
        "backlog": outbox.get("pending", 0) + outbox.get("sending", 0),
        "scheduler_here": dash.last_tick is not None,
        "last_tick": dash.last_tick() if dash.last_tick is not None else None,
        "last_poll": max(polled) if polled else None,
        "replicas": [r for r in store.replicas(now) if r.alive],
        "poll_chart": poll_chart,
        "polls_total": sum(polls),
        "errors_total": sum(errors),
        "article_rows": _day_rows(store.article_days(since, offset=offset), now, offset),
        "match_rows": _day_rows(store.match_days(since, offset=offset), now, offset),
        "channels": [(name, channels.privacy_url(name)) for name in channels.names()],
        "chart_days": CHART_DAYS,
    }


def _sources(dash: Any, request: Request, now: datetime) -> Context:
    return {"sources": _failing_first(dash.store.source_statuses(now))}


def _source(dash: Any, request: Request, now: datetime) -> Context:
    store: Store = dash.store
    name = request.path_params["name"]
    found = [s for s in store.source_statuses(now) if s.name == name]
    if not found:
        raise _NotFound(f"no source named '{name[:100]}' (see /sources)")
    zone = ZoneInfo(dash.config().settings.timezone)
    offset = charts.day_offset(now, zone)
    counts = store.article_days(now - timedelta(days=CHART_DAYS), offset=offset, source=name)
    return {
        "source": found[0],
        "articles": store.recent_articles(name, limit=20),
        "errors": store.poll_events(name, errors_only=True, limit=20),
        "polls": store.poll_events(name, limit=10),
        "article_rows": _day_rows(counts, now, offset, keys=[name]),
        "chart_days": CHART_DAYS,
    }


def _matches(dash: Any, request: Request, now: datetime) -> Context:
    store: Store = dash.store
    rules = [rule.name for rule in dash.config().rules]
    rule = request.query_params.get("rule") or None
    if rule is not None:
        rule = rule[:200]
    page = _int(request, "page", 1, MAX_PAGE)
    offset, size = views.page_window(page)
    rows = store.recent_matches(rule, limit=size + 1, offset=offset)
    shown = rows[:size]
    return {
        "rules": rules,
        "rule": rule,
        "matches": shown,
        "outlets": story_outlets(store, [m.article for m in shown]),
        "page": page,
        "has_next": len(rows) > size and page < MAX_PAGE,
        "snippet": views.marked_snippet,
    }


def _alerts(dash: Any, request: Request, now: datetime) -> Context:
    store: Store = dash.store
    status = request.query_params.get("status")
    if status not in STATUSES:
        status = None
    page = _int(request, "page", 1, MAX_PAGE)
    offset, size = views.page_window(page)
    rows = store.list_deliveries(status, limit=offset + size + 1)
    return {
        "counts": store.delivery_counts(),
        "statuses": STATUSES,
        "status": status,
        "alerts": rows[offset : offset + size],
        "page": page,
        "has_next": len(rows) > offset + size and page < MAX_PAGE,
    }


def _search(dash: Any, request: Request, now: datetime) -> Context:
    query = request.query_params.get("q", "")[:MAX_QUERY]
    page = _int(request, "page", 1, MAX_PAGE)
    context: Context = {"q": query, "page": page, "results": [], "has_next": False}
    context["error"] = None
    if not query.strip():
        return context
    try:
        parse_query(query)
    except QuerySyntaxError as exc:
        context["error"] = exc
        return context
    offset, size = views.page_window(page)
    found = search_archive(dash.store, query, limit=offset + size + 1, index=False)
    context["results"] = [
        (row, views.marked_snippet(match.snippet, match.spans))
        for row, match in found[offset : offset + size]
    ]
    context["has_next"] = len(found) > offset + size and page < MAX_PAGE
    return context
