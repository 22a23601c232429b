"""Source names given on the command line, checked against the config."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.config.load import Config
from monitor.config.yaml import closest
from monitor.errors import UsageError

__all__ = ["pick_sources"]


def pick_sources(config: Config, names: Sequence[str], command: str) -> list[str]:
    """`names` in order, without repeats; UsageError (exit 2) with a "did you mean"
    for a name the config does not have."""
    known = [s.name for s in config.sources]
    for name in names:
        if name not in known:
            guess = closest(name, known)
            hint = f"did you mean '{guess}'? " if guess else ""
            listed = ", ".join(known) if known else "none"
            raise UsageError(f"{command}: unknown source '{name}' ({hint}known: {listed})")
    return list(dict.fromkeys(names))
