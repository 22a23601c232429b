"""`newsmon ui`: the dashboard over the database alone, for a cron-driven setup."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer

from monitor.cli.app import Globals, app, globals_of
from monitor.config.load import Config, apply_env_overrides
from monitor.web import Dashboard, create_app, serve_until_signalled

__all__ = ["ui"]


@app.command()
def ui(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default settings.http.host).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Port (default settings.http.port; 0: any free)."),
    ] = None,
) -> None:
    """Serve the read-only dashboard over the database, without polling or sending."""
    g = globals_of(ctx)
    config = _config(g)
    store = g.reader(config)
    channels = g.channels(config)
    http = config.settings.http
    dashboard = Dashboard(
        store,
        config=lambda: config,
        channels=lambda: channels,
        mask=g.secrets.mask,
        token=lambda: http.ui_token,
    )
    try:
        asyncio.run(
            serve_until_signalled(
                create_app(dashboard),
                host=host or http.host,
                port=http.port if port is None else port,
            )
        )
    finally:
        store.close()


def _config(g: Globals) -> Config:
    """The config; with --database (or $NEWSMON_DATABASE_URL) and no config file, defaults."""
    given_database = g.database_arg or os.environ.get("NEWSMON_DATABASE_URL")
    if g.config_path().exists() or not given_database:
        return g.config()
    config = apply_env_overrides(Config(path=g.config_path()), os.environ)
    g.secrets.use(config.secrets)
    return config
