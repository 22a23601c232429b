"""The channel URL schemes newsmon knows: Apprise's services and ``console://``.

The config loader asks here whether a channel's scheme exists and, when it
does not, which one was meant (`telegarm://` -> `tgram://`): a typo is a
config error with the file's line, not a failed send at the first alert.
"""

from __future__ import annotations

import difflib
from functools import cache
from typing import Any

__all__ = ["known_schemes", "suggest_scheme"]


@cache
def _catalogue() -> tuple[frozenset[str], dict[str, str]]:
    """Every scheme, and what a user may type for one (its scheme or its service's name)."""
    import apprise  # only when a config is checked: ~0.4 s to load the plugins

    factory: Any = apprise.NotificationManager  # untyped: a singleton of Apprise's plugins
    manager = factory()
    schemes = {str(s).lower() for s in manager.schemas()} | {"console"}
    aliases: dict[str, str] = {scheme: scheme for scheme in schemes}
    for plugin in manager.plugins():
        protocols = [
            p
            for attr in ("secure_protocol", "protocol")
            for p in _as_list(getattr(plugin, attr, None))
        ]
        if not protocols:
            continue
        name = str(getattr(plugin, "service_name", "") or "").casefold().replace(" ", "")
        if name and name not in aliases:
            aliases[name] = protocols[0].lower()  # "telegram" -> tgram
    return frozenset(schemes), aliases


def _as_list(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return []


def known_schemes() -> frozenset[str]:
    """The schemes a channel URL may start with (lower case, without ``://``)."""
    return _catalogue()[0]


def suggest_scheme(scheme: str) -> str | None:
    """The known scheme `scheme` most likely stands for (by scheme or service name), or None."""
    _, aliases = _catalogue()
    typed = scheme.casefold()
    found = difflib.get_close_matches(typed, aliases, n=1, cutoff=0.7)
    return aliases[found[0]] if found else None
