"""The daemon: the run loop, the one APScheduler module, and its HTTP endpoints.

`service.Daemon` does the work (poll due sources, deliver, prune) whatever
schedules it; `scheduler` runs it under APScheduler with a graceful stop;
`tasks` holds what runs beside the jobs (delivery loop, stop drain, retention,
heartbeat); `replica` is this process's identity among the replicas of one
database; `ops_http` answers /healthz and /metrics, which `monitor.web` serves with the
dashboard. May import everything but the CLI.
"""

from monitor.daemon.service import Daemon, fetch_limits, source_specs

__all__ = ["Daemon", "fetch_limits", "source_specs"]
