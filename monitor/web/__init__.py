"""The dashboard and the daemon's HTTP side: Starlette on uvicorn, on the caller's loop.

`create_app` builds the app over a `Dashboard`; `WebServer` serves any ASGI
app on the running event loop; `Ops` is what the daemon plugs in for
``/healthz`` and ``/metrics``. The only package that imports starlette,
uvicorn or jinja2. May import everything but the CLI and the daemon.
"""

from __future__ import annotations

from monitor.web.app import Dashboard, Ops, Reply, create_app
from monitor.web.server import WebServer, serve_until_signalled

__all__ = ["Dashboard", "Ops", "Reply", "WebServer", "create_app", "serve_until_signalled"]
