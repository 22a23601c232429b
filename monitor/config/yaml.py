"""The config file as YAML with positions: reading, ``${VAR}`` substitution, error lines.

The loader keeps a tree that remembers where each key and item sits
(`monitor.config.tree`, read by libyaml in linear time) and works on a plain
copy; a location such as ``("sources", 2, "interval")`` is looked up in the
tree to name the line in an error. Aliases that would expand beyond
`ALIAS_BUDGET` nodes are refused before anything is copied. A file libyaml
rejects is read again by ruamel.yaml, whose error messages say more. Pydantic
errors are translated here into ``file:line: key.path: message`` problems.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from monitor.config.tree import (
    TreeError,
    UnsupportedTag,
    YamlMap,
    YamlSeq,
    alias_overflow,
    build,
    compose,
)
from monitor.errors import ConfigError

__all__ = [
    "Loc",
    "Problem",
    "closest",
    "describe",
    "interpolate",
    "key_path",
    "line_of",
    "read_yaml",
    "render",
    "translate_validation_error",
]

Loc = tuple[str | int, ...]

_REFERENCE = re.compile(r"\$(\$?)\{([^{}]*)\}")
_VARIABLE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.DOTALL)
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the config: where it is and what to tell the user."""

    line: int
    loc: Loc
    message: str

    def render(self, file: str) -> str:
        where = f"{file}:{self.line}: "
        return where + (f"{key_path(self.loc)}: " if self.loc else "") + self.message


def render(problems: Sequence[Problem], file: str) -> str:
    """All problems, in file order, one per line (a deterministic ConfigError message)."""
    lines = dict.fromkeys(p.render(file) for p in sorted(problems, key=lambda p: p.line))
    return "\n".join(lines)


def key_path(loc: Loc) -> str:
    """``("sources", 2, "interval")`` -> ``sources[2].interval``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


def closest(word: str, choices: Sequence[str]) -> str | None:
    """The choice the user most likely meant, or None when nothing is close."""
    folded = {choice.casefold(): choice for choice in choices}
    found = difflib.get_close_matches(word.casefold(), folded, n=1, cutoff=0.6)
    return folded[found[0]] if found else None


def describe(value: object) -> str:
    """A value as a user would recognise it from the file."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return str(value)


def read_yaml(path: str | Path) -> Any:
    """The tree of `path`, with lines (None for an empty file)."""
    shown = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {shown}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{shown}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {shown}: {exc.strerror}") from None
    try:
        root = compose(text)
    except yaml.MarkedYAMLError as exc:
        _raise_yaml_error(shown, text)
        raise ConfigError(_syntax_message(shown, exc)) from None
    except yaml.YAMLError as exc:
        _raise_yaml_error(shown, text)
        raise ConfigError(f"{shown}: invalid YAML: {exc}") from None
    if root is None:
        return None
    overflow = alias_overflow(root)
    if overflow is not None:
        line, loc, limit = overflow
        problem = Problem(line, loc, f"YAML aliases expand to more than {limit} nodes")
        raise ConfigError(problem.render(shown))
    try:
        return build(root)
    except TreeError as exc:
        raise ConfigError(f"{shown}:{exc.line}: {exc.message}") from None


def _raise_yaml_error(shown: str, text: str) -> None:
    """ruamel.yaml's account of what is wrong with `text`, as a ConfigError."""
    try:
        YAML(typ="rt").load(text)
    except DuplicateKeyError as exc:
        key = re.search(r'duplicate key "(.*?)"', exc.problem or "")
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        name = key.group(1) if key else "?"
        raise ConfigError(f"{shown}:{line}: duplicate key '{name}'") from None
    except MarkedYAMLError as exc:
        raise ConfigError(_syntax_message(shown, exc)) from None
    except YAMLError as exc:
        raise ConfigError(f"{shown}: invalid YAML: {exc}") from None


def _syntax_message(shown: str, exc: MarkedYAMLError | yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 1
    message = f"{shown}:{line}: invalid YAML: {exc.problem or exc.context}"
    if exc.context and exc.problem and exc.context_mark:
        message += f" ({exc.context} on line {exc.context_mark.line + 1})"
    if "alias" in (exc.context or ""):
        message += "; quote values that start with '*', e.g. \"*/5 * * * *\""
    elif "'\\t'" in (exc.problem or ""):
        message += "; indent with spaces, not tabs"
    return message


def line_of(root: Any, loc: Loc) -> int:
    """The 1-based line of the deepest node on `loc` that exists in the file."""
    line: int = getattr(root, "line", 1)
    node = root
    for part in loc:
        try:
            if isinstance(node, YamlMap):
                line = node.key_lines[part]
            elif isinstance(node, YamlSeq) and isinstance(part, int):
                line = node.item_lines[part]
            else:
                break
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break  # a missing key: the parent's line is the best we have
    return line


def interpolate(
    root: Any, env: Mapping[str, str], substituted: set[str] | None = None
) -> tuple[Any, list[Problem]]:
    """A plain copy of the tree with ``${VAR}`` / ``${VAR:-default}`` replaced from `env`.

    Only string values are substituted, never keys. ``$${`` writes a literal ``${``.
    An unset variable with ``:-default`` (or set to the empty string) takes the default.
    Each value taken from `env` is added to `substituted` (they are the secrets).
    """
    problems: list[Problem] = []

    def walk(node: Any, loc: Loc) -> Any:
        if isinstance(node, Mapping):
            return {_plain_key(k): walk(v, (*loc, _plain_key(k))) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, (*loc, i)) for i, v in enumerate(node)]
        if isinstance(node, str):
            return _substitute(str(node), env, lambda msg: report(loc, msg), substituted)
        if isinstance(node, UnsupportedTag):
            report(loc, f"unsupported YAML tag '{node.tag}'")
            return None
        if isinstance(node, bool):
            return bool(node)
        if isinstance(node, int):
            return int(node)
        if isinstance(node, float):
            return float(node)
        return node

    def report(loc: Loc, message: str) -> None:
        problems.append(Problem(line_of(root, loc), loc, message))

    return walk(root, ()), problems


def _plain_key(key: Any) -> Any:
    return str(key) if isinstance(key, str) else key


def _substitute(
    text: str,
    env: Mapping[str, str],
    report: Callable[[str], None],
    substituted: set[str] | None = None,
) -> str:
    def replace(match: re.Match[str]) -> str:
        escaped, body = match.groups()
        if escaped:
            return "${" + body + "}"
        variable = _VARIABLE.fullmatch(body)
        if variable is None:
            report(f"invalid variable reference '${{{body}}}' (use ${{VAR}} or ${{VAR:-default}})")
            return ""
        name, default = variable.groups()
        value = env.get(name)
        if default is not None and not value:
            return default
        if value is None:
            report(
                f"environment variable {name} is not set "
                f"(set it, or give a default: ${{{name}:-default}})"
            )
            return ""
        if substituted is not None:
            substituted.add(value)
        return value

    return _REFERENCE.sub(replace, text)


def translate_validation_error(
    exc: ValidationError, root: Any, allowed_keys: Callable[[Loc], Sequence[str]]
) -> list[Problem]:
    """Pydantic's errors as problems placed on the file's lines, in the user's words.

    `allowed_keys` gives the valid keys of the mapping at a location, for the
    "did you mean" hint on an unknown key.
    """
    problems = []
    for error in exc.errors():
        loc: Loc = tuple(error["loc"])
        kind = error["type"]
        given = describe(error.get("input"))
        ctx = error.get("ctx") or {}
        line = line_of(root, loc)
        if kind == "missing":
            loc, message = loc[:-1], f"missing required key '{loc[-1]}'"
        elif kind == "extra_forbidden":
            key = str(loc[-1])
            loc, message = loc[:-1], f"unknown key '{key}'"
            guess = closest(key, allowed_keys(loc))
            if guess:
                message += f" (did you mean '{guess}'?)"
        elif kind in ("value_error", "assertion_error"):
            message = str(ctx.get("error", error["msg"]))
        else:
            message = _MESSAGES.get(kind, "{msg}, got {given}").format(
                msg=error["msg"][:1].lower() + error["msg"][1:], given=given, **ctx
            )
        if loc and loc[-1] == "[key]":
            loc = loc[:-2]
        problems.append(Problem(line, loc, message))
    return problems


_MESSAGES = {
    "string_type": "expected a string, got {given}",
    "int_type": "expected a whole number, got {given}",
    "int_parsing": "expected a whole number, got {given}",
    "int_from_float": "expected a whole number, got {given}",
    "bool_type": "expected true or false, got {given}",
    "bool_parsing": "expected true or false, got {given}",
    "list_type": "expected a list, got {given}",
    "dict_type": "expected a mapping, got {given}",
    "model_type": "expected a mapping, got {given}",
    "model_attributes_type": "expected a mapping, got {given}",
    "literal_error": "expected {expected}, got {given}",
    "greater_than": "must be greater than {gt}, got {given}",
    "greater_than_equal": "must be at least {ge}, got {given}",
    "less_than": "must be less than {lt}, got {given}",
    "less_than_equal": "must be at most {le}, got {given}",
    "string_too_short": "must not be empty",
    "too_short": "must not be empty",
}
