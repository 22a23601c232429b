"""The configuration: sources.yaml read once, at the edge, into validated objects.

``load_config`` reads the file (``${VAR}`` substituted from the environment),
validates it against the models in `monitor.config.models`, cross-checks names,
and raises ``ConfigError`` listing every problem as ``file:line: key.path:
message``, in file order. Validation runs in stages (YAML, top level, variables,
fields, cross references); the first stage with problems reports all of its own.
Every value substituted from the environment is kept in ``Config.secrets`` (see
`monitor.logs`). ``resolve_config_path`` and ``resolve_database_url`` apply the order
command line > environment > file > default.
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from monitor.config.models import (
    CONSOLE_CHANNEL,
    CONSOLE_URL,
    SECTIONS,
    Config,
    HttpSettings,
    RuleConfig,
    Settings,
    SourceConfig,
)
from monitor.config.yaml import (
    Loc,
    Problem,
    closest,
    interpolate,
    line_of,
    read_yaml,
    render,
    translate_validation_error,
)
from monitor.errors import ConfigError
from monitor.logs import maskable
from monitor.match.query import keyword_problem, query_problem

__all__ = [
    "CONSOLE_CHANNEL",
    "CONSOLE_URL",
    "Config",
    "HttpSettings",
    "RuleConfig",
    "Settings",
    "SourceConfig",
    "apply_env_overrides",
    "load_config",
    "resolve_config_path",
    "resolve_database_url",
]

_KEYS: dict[Loc, tuple[str, ...]] = {
    (): SECTIONS,
    ("settings",): tuple(Settings.model_fields),
    ("settings", "http"): tuple(HttpSettings.model_fields),
    ("sources",): tuple(SourceConfig.model_fields),
    ("rules",): tuple(RuleConfig.model_fields),
}


def _allowed_keys(loc: Loc) -> tuple[str, ...]:
    return _KEYS.get(tuple(part for part in loc if isinstance(part, str)), ())


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate the config file; ConfigError lists every problem found."""
    env = os.environ if env is None else env
    shown = str(path)
    with _collector_paused():
        root = read_yaml(path)
        if root is None:
            raise ConfigError(
                f"{shown}: the config file is empty "
                "(expected a mapping with settings, channels, sources and rules)"
            )
        # Not resolve(): a symlinked config (a Kubernetes ConfigMap) must keep its folder.
        checked = _validate(root, env, Path(os.path.abspath(path)))
    if isinstance(checked, list):
        raise ConfigError(render(checked, shown))
    return checked


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while the config is built.

    Loading allocates millions of acyclic objects, and each batch of them sets
    off a collection that walks all the older ones: half the time of a 10 MB
    file went there.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _validate(root: Any, env: Mapping[str, str], path: Path) -> Config | list[Problem]:
    """The config, or the problems of the first stage that found any."""
    problems = _check_top_level(root)
    if problems:
        return problems
    substituted: set[str] = set()
    data, problems = interpolate(root, env, substituted)
    if problems:
        return problems
    sections = {key: value for key, value in data.items() if value is not None}
    try:
        config = Config.model_validate(
            {**sections, "path": path, "secrets": frozenset(maskable(substituted))}
        )
    except ValidationError as exc:
        return translate_validation_error(exc, root, _allowed_keys)
    return _cross_check(config, root) or config


def _check_top_level(root: Any) -> list[Problem]:
    if not isinstance(root, Mapping):
        kind = "a list" if isinstance(root, list) else f"'{root}'"
        return [
            Problem(
                1, (), f"the top level must be a mapping with {', '.join(SECTIONS)}, got {kind}"
            )
        ]
    problems = []
    for key in root:
        if key not in SECTIONS:
            guess = closest(str(key), SECTIONS)
            hint = f"did you mean '{guess}'?" if guess else f"use {', '.join(SECTIONS)}"
            problems.append(Problem(line_of(root, (key,)), (), f"unknown key '{key}' ({hint})"))
    return problems


def _cross_check(config: Config, root: Any) -> list[Problem]:
    """Names that must be unique and references that must resolve."""
    problems: list[Problem] = []

    def report(loc: Loc, message: str) -> None:
        problems.append(Problem(line_of(root, loc), loc, message))

    names = {"sources": [s.name for s in config.sources], "rules": [r.name for r in config.rules]}
    for section, section_names in names.items():
        first: dict[str, int] = {}
        for i, name in enumerate(section_names):
            loc = (section, i, "name")
            if name in first:
                what = section[:-1]
                report(
                    loc,
                    f"duplicate {what} name '{name}' (first defined on line {first[name]})",
                )
            else:
                first[name] = line_of(root, loc)

    # The implicit console channel is valid but not listed: the user did not write it.
    user_channels = [str(name) for name in root.get("channels") or {}]
    for name in user_channels:
        if problem := scheme_problem(config.channels.get(name, "")):
            report(("channels", name), problem)
    known_channels = set(config.channels)
    source_names = [s.name for s in config.sources]
    tags = sorted({tag for s in config.sources for tag in s.tags})
    for i, rule in enumerate(config.rules):
        if rule.query is not None:
            problem = query_problem(rule.query)
            if problem:
                report(("rules", i, "query"), problem)
        for j, keyword in enumerate(rule.keywords or ()):
            if problem := keyword_problem(keyword):
                report(("rules", i, "keywords", j), problem)
        for j, channel in enumerate(rule.channels):
            if channel not in known_channels:
                report(("rules", i, "channels", j), _unknown("channel", channel, user_channels))
        for j, ref in enumerate(rule.sources):
            if ref.startswith("tag:"):
                tag = ref.removeprefix("tag:")
                if tag not in tags:
                    guess = closest(tag, tags)
                    hint = f"did you mean 'tag:{guess}'?" if guess else "no source has this tag"
                    report(("rules", i, "sources", j), f"unknown tag '{tag}' ({hint})")
            elif ref not in source_names:
                guess = closest(ref, source_names)
                hint = f" (did you mean '{guess}'?)" if guess else ""
                report(("rules", i, "sources", j), f"unknown source '{ref}'{hint}")
    return problems


def scheme_problem(url: str) -> str | None:
    """Why a channel URL's scheme is unknown, with the scheme that was likely meant."""
    from notifiers.schemes import known_schemes, suggest_scheme  # loads Apprise: not at import

    scheme, sep, _ = url.strip().partition("://")
    if not sep or scheme.lower() in known_schemes():
        return None
    guess = suggest_scheme(scheme)
    hint = f"did you mean {guess}://?" if guess else "see the Apprise documentation for schemes"
    return f"unknown channel scheme '{scheme}://' ({hint})"


def _unknown(what: str, name: str, known: list[str]) -> str:
    listed = ", ".join(known) if known else f"none; define it under {what}s:"
    guess = closest(name, known)
    hint = f"did you mean '{guess}'? " if guess else ""
    return f"unknown {what} '{name}' ({hint}known: {listed})"


def resolve_config_path(cli_value: str | None, env: Mapping[str, str]) -> Path:
    """--config, else $NEWSMON_CONFIG, else ./sources.yaml (kept as given, for messages)."""
    return Path(cli_value or env.get("NEWSMON_CONFIG") or "sources.yaml")


def apply_env_overrides(config: Config, env: Mapping[str, str]) -> Config:
    """NEWSMON_HTTP_HOST and NEWSMON_HTTP_PORT win over settings.http (containers bind 0.0.0.0);
    NEWSMON_UI_TOKEN over settings.http.ui_token (and is masked like every secret)."""
    update: dict[str, object] = {}
    secrets = config.secrets
    token = env.get("NEWSMON_UI_TOKEN", "").strip()
    if token:
        update["ui_token"] = token
        secrets = secrets | {token}
    host = env.get("NEWSMON_HTTP_HOST", "").strip()
    if host:
        update["host"] = host
    port = env.get("NEWSMON_HTTP_PORT", "").strip()
    if port:
        if not port.isdigit() or int(port) > 65535:
            raise ConfigError(f"NEWSMON_HTTP_PORT: invalid port '{port}' (use 0-65535)")
        update["port"] = int(port)
    if not update:
        return config
    http = config.settings.http.model_copy(update=update)
    settings = config.settings.model_copy(update={"http": http})
    return config.model_copy(update={"settings": settings, "secrets": secrets})


def resolve_database_url(cli_value: str | None, env: Mapping[str, str], config: Config) -> str:
    """--database, else $NEWSMON_DATABASE_URL, else settings.database, else newsmon.db.

    A relative SQLite path in the config file (``sqlite:///rel.db``) is relative to the
    file's folder, like every path in it; on the command line or in the environment it
    is relative to the working directory, as a shell user expects.
    """
    if cli_value:
        return cli_value
    if env.get("NEWSMON_DATABASE_URL"):
        return env["NEWSMON_DATABASE_URL"]
    folder = config.path.parent
    if config.settings.database:
        return _anchor_sqlite(config.settings.database, folder)
    return f"sqlite:///{folder / 'newsmon.db'}"


def _anchor_sqlite(url: str, folder: Path) -> str:
    match = re.fullmatch(r"(sqlite(?:\+\w+)?:///)([^?]*)(\?.*)?", url, re.DOTALL)
    if match is None:
        return url
    prefix, file, query = match.groups()
    if not file or file == ":memory:" or file.startswith("file:"):
        return url
    location = Path(file).expanduser()
    if not location.is_absolute():
        location = folder / location
    return f"{prefix}{location}{query or ''}"
