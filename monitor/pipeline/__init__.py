"""The pipeline: one poll of one source, top to bottom, and the archive services.

`poll.poll_source` runs fetch -> collect (per source kind) -> normalise ->
match -> store for one source; `kinds` holds one object per source kind
(the registry `collect`, `backfill` and `survey` dispatch through), `collect`
turns a fetched document into articles, `backfill` reads history, `survey`
is `check --fetch`, `archive` searches and rematches the store, `timing` is
the next-poll arithmetic. May
import config, sources, normalize, match, `monitor.fetch` and `storage`;
never delivery, daemon or cli.
"""

from monitor.pipeline.poll import PollContext, PollReport, Rules, compile_config_rules, poll_source

__all__ = ["PollContext", "PollReport", "Rules", "compile_config_rules", "poll_source"]
