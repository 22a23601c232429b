"""Channel URL schemes: which exist, and which one a typo meant."""

from __future__ import annotations

import pytest

from notifiers.schemes import known_schemes, suggest_scheme


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("telegarm", "tgram"),
        ("telegram", "tgram"),  # the service's name, not its scheme
        ("tgarm", "tgram"),
        ("mailot", "mailto"),
        ("slak", "slack"),
        ("discrod", "discord"),
        ("consol", "console"),
        ("xyzzy", None),
    ],
)
def test_a_mistyped_scheme_gets_the_one_it_most_likely_meant(typed: str, meant: str | None) -> None:
    assert suggest_scheme(typed) == meant


def test_the_schemes_newsmon_uses_are_known() -> None:
    assert {"tgram", "mailto", "mailtos", "json", "console"} <= known_schemes()
    assert "telegarm" not in known_schemes()
