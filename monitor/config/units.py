"""Durations and sizes as people write them in config files: ``1h30m``, ``10MB``.

Durations are whole seconds; the units are ``d``, ``h``, ``m`` and ``s``, largest
first, each at most once (``1d12h``, ``1h30m``, ``90s``); a bare number is seconds.
Sizes are bytes; the units are binary: ``KB`` = 1024, ``MB`` = 1024 * 1024,
``GB`` = 1024 ** 3 (``KiB``/``MiB``/``GiB`` and ``K``/``M``/``G`` mean the same);
a bare number is bytes. Both are case-insensitive and ignore surrounding blanks.
"""

from __future__ import annotations

import re

__all__ = ["format_duration", "parse_duration", "parse_size"]

_DURATION_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_DURATION_RE = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_DURATION_HINT = "use 30s, 5m, 2h, 1d, 1h30m"

_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?")
_SIZE_FACTORS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_SIZE_HINT = "use 512KB, 10MB, 1GB or a number of bytes"


def parse_duration(text: str) -> int:
    """Seconds in a duration such as ``30s``, ``5m``, ``2h``, ``1d``, ``1h30m`` or ``90``."""
    cleaned = text.strip().lower()
    if cleaned.isdigit():
        return int(cleaned)
    match = _DURATION_RE.fullmatch(cleaned)
    if not cleaned or match is None:
        raise ValueError(f"invalid duration '{text}' ({_DURATION_HINT})")
    return sum(
        int(amount) * factor
        for amount, (_, factor) in zip(match.groups(), _DURATION_UNITS, strict=True)
        if amount is not None
    )


def parse_size(text: str | int) -> int:
    """Bytes in a size such as ``512KB``, ``10MB``, ``1.5GB`` or ``1048576`` (binary units)."""
    if isinstance(text, bool):
        raise ValueError(f"invalid size '{text}' ({_SIZE_HINT})")
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"invalid size '{text}' ({_SIZE_HINT})")
        return text
    match = _SIZE_RE.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(f"invalid size '{text}' ({_SIZE_HINT})")
    number, unit = match.groups()
    return int(float(number) * _SIZE_FACTORS[unit])


def format_duration(seconds: int) -> str:
    """The shortest duration string for `seconds`: 5400 -> ``1h30m``, 0 -> ``0s``."""
    if seconds < 0:
        raise ValueError(f"negative duration: {seconds}")
    parts = []
    for unit, factor in _DURATION_UNITS:
        amount, seconds = divmod(seconds, factor)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0s"
