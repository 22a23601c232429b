"""Counts in words: "1 rule", "2 rules", "1 match", "3 matches" (never "rule(s)")."""

from __future__ import annotations

__all__ = ["counted"]


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and the noun in the number it needs; `plural` when not noun + "s"."""
    if n == 1:
        return f"{n} {noun}"
    return f"{n} {plural or _plural(noun)}"


def _plural(noun: str) -> str:
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"
