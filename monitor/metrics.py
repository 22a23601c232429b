"""Prometheus metrics: one registry, every metric prefixed ``newsmon_``.

Counters and histograms are updated where the work happens (the daemon after
each poll, the delivery loop after each send); gauges that mirror database
state (pending alerts, sources by status) are refreshed by `/metrics` at
scrape time, so they are right even when another replica did the work.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = [
    "ALERTS_DEAD",
    "ALERTS_FAILED",
    "ALERTS_PENDING",
    "ALERTS_SENT",
    "ALERT_LATENCY",
    "ARTICLES",
    "DISPATCHER_LAST_TICK",
    "POLLS",
    "POLL_SECONDS",
    "REGISTRY",
    "RETENTION_PRUNED",
    "SOURCES",
    "WINDOW_OVERFLOWS",
]

REGISTRY = CollectorRegistry(auto_describe=True)

# --- polling -------------------------------------------

POLLS = Counter(
    "newsmon_polls",
    "Polls of sources by outcome (ok, not_modified, error).",
    ["outcome"],
    registry=REGISTRY,
)
POLL_SECONDS = Histogram(
    "newsmon_poll_duration_seconds",
    "Time to poll one source: fetch, parse and store.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
    registry=REGISTRY,
)
ARTICLES = Counter(
    "newsmon_articles",
    "Feed items by what the store made of them (new, updated, duplicate).",
    ["result"],
    registry=REGISTRY,
)
WINDOW_OVERFLOWS = Counter(
    "newsmon_window_overflows",
    "Polls in which every item was new, so items may have been missed.",
    registry=REGISTRY,
)
SOURCES = Gauge(
    "newsmon_sources",
    "Active sources by status (ok, backoff, error, paused), read at scrape time.",
    ["status"],
    registry=REGISTRY,
)
ALERTS_PENDING = Gauge(
    "newsmon_alerts_pending",
    "Alerts waiting in the outbox (pending or being sent), read at scrape time.",
    registry=REGISTRY,
)
DISPATCHER_LAST_TICK = Gauge(
    "newsmon_dispatcher_last_tick_timestamp_seconds",
    "Unix time of the dispatcher's last tick.",
    registry=REGISTRY,
)
RETENTION_PRUNED = Counter(
    "newsmon_retention_pruned_articles",
    "Article bodies emptied by retention.",
    registry=REGISTRY,
)

# --- delivery ----------------------------------------------------------

ALERTS_SENT = Counter(
    "newsmon_alerts_sent",
    "Alerts (outbox rows) a channel accepted.",
    ["channel"],
    registry=REGISTRY,
)
ALERTS_FAILED = Counter(
    "newsmon_alerts_failed",
    "Alert send attempts that failed and will be retried.",
    ["channel"],
    registry=REGISTRY,
)
ALERTS_DEAD = Counter(
    "newsmon_alerts_dead",
    "Alerts given up after 24 hours of failed attempts.",
    ["channel"],
    registry=REGISTRY,
)
ALERT_LATENCY = Histogram(
    "newsmon_alert_latency_seconds",
    "Seconds from an article's publication time to its alert being accepted by a channel.",
    buckets=(30, 60, 120, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400),
    registry=REGISTRY,
)

# Labels known up front are exported as 0 before the first event, so rate()
# and alerting rules see the series from the start.
for _outcome in ("ok", "not_modified", "error"):
    POLLS.labels(_outcome)
for _result in ("new", "updated", "duplicate"):
    ARTICLES.labels(_result)
for _status in ("ok", "backoff", "error"):
    SOURCES.labels(_status)
