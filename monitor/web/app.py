"""The dashboard's Starlette app: routes, templates, static files, the guard.

`create_app` serves the pages over a `Dashboard` (a store and how to read
the config); the daemon adds its `/healthz` and `/metrics` through `Ops`,
so `newsmon ui` and `newsmon run` serve the same pages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from monitor.config.load import Config
from monitor.web import charts, pages, views
from monitor.web.security import Guard
from monitor.wording import counted
from notifiers import Channels
from storage import Store

__all__ = ["Dashboard", "Ops", "Reply", "create_app"]

HERE = Path(__file__).resolve().parent
# Pages read the database in these threads, apart from the daemon's own worker threads.
READER_THREADS = 2


@dataclass(frozen=True, slots=True)
class Reply:
    """A framework-free HTTP answer, for endpoints that live outside this package."""

    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


class Ops(Protocol):
    """The daemon's operational endpoints (`monitor.daemon.ops_http` implements them)."""

    async def healthz(self) -> Reply: ...

    async def metrics(self, authorization: str | None) -> Reply: ...


@dataclass(slots=True)
class Dashboard:
    """What the pages read: the store, and the config as it is now (reloads included)."""

    store: Store
    config: Callable[[], Config]
    channels: Callable[[], Channels]
    mask: Callable[[str], str] = str  # the config's secrets masked out of any text shown
    token: Callable[[], str | None] = lambda: None  # NEWSMON_UI_TOKEN
    # The dispatcher's last tick; None when no scheduler runs in this process (`newsmon ui`).
    last_tick: Callable[[], datetime | None] | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


def templates() -> Environment:
    """The Jinja2 environment: autoescape on for every template, our filters."""
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["href"] = views.href
    env.filters["stage"] = views.error_stage
    env.filters["counted"] = counted  # "1 result", "25 results": never "result(s)"
    env.globals["bar_chart"] = charts.bar_chart
    env.globals["Series"] = charts.Series
    return env


def create_app(dashboard: Dashboard, ops: Ops | None = None) -> Starlette:
    """The dashboard app; with `ops`, also `/healthz` and `/metrics` (open to the token)."""
    routes: list[Route | Mount] = [
        Route("/", pages.overview),
        Route("/sources", pages.sources),
        Route("/sources/{name}", pages.source),
        Route("/matches", pages.matches),
        Route("/alerts", pages.alerts),
        Route("/search", pages.search),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    if ops is not None:
        routes += [
            Route("/healthz", _ops_route(lambda request: ops.healthz())),
            Route(
                "/metrics",
                _ops_route(lambda request: ops.metrics(request.headers.get("authorization"))),
            ),
        ]
    app = Starlette(routes=routes)
    app.state.dashboard = dashboard
    app.state.templates = templates()
    app.state.readers = ThreadPoolExecutor(READER_THREADS, thread_name_prefix="dashboard")
    app.add_middleware(Guard, token=dashboard.token)
    return app


def _ops_route(
    answer: Callable[[Request], Awaitable[Reply]],
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        reply = await answer(request)
        return Response(
            reply.body,
            status_code=reply.status,
            headers=dict(reply.headers),
            media_type=reply.content_type,
        )

    return endpoint
