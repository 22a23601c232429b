"""The configuration stage: sources.yaml read once, at the edge, into validated objects.

Owns the YAML reader with positions (`yaml`), the pydantic models (`models`),
loading and `${VAR}` substitution (`load`), durations and sizes (`units`),
crontab expressions (`cron`) and OPML in and out (`opml`). May import
`monitor.match` (queries are checked at load time), `monitor.normalize` and
`monitor.errors`; never fetching, storage or delivery.
"""

from monitor.config.load import Config, RuleConfig, Settings, SourceConfig, load_config

__all__ = ["Config", "RuleConfig", "Settings", "SourceConfig", "load_config"]
