"""Counts in words: "1 rule", "2 rules", "1 match", "3 matches" (never "rule(s)")."""

from __future__ import annotations

__all__ = ["counted", "plural_of"]


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and the noun in the number it needs; `plural` when not noun + "s"."""
    if n == 1:
        return f"{n} {noun}"
    return f"{n} {plural or plural_of(noun)}"


def plural_of(noun: str) -> str:
    """The regular English plural of `noun` (rule -> rules, match -> matches, story -> stories)."""
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"
