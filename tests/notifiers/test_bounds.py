"""Every rendered message is bounded per channel, whatever size the articles are."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from notifiers.bounds import EMAIL_MAX_BYTES, TEXT_MAX_BYTES, fit_count, more_line
from notifiers.render import (
    TELEGRAM_MAX_CHARS,
    render_console,
    render_console_json,
    render_email,
    render_text,
    telegram_length,
)
from notifiers.types import Alert
from tests.notifiers.conftest import make_alert, make_item, telegram_texts

NOW = datetime(2023, 9, 13, 7, 0, tzinfo=UTC)
LONG_TITLE = "ASEAN and Russia " * 30_000  # ~500 KB, as a hostile feed stored it before limits


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def combined(count: int = 37) -> Alert:
    items = [
        make_item(title=f"{n} {LONG_TITLE}", url=f"https://news.example.org/{n}")
        for n in range(count)
    ]
    return make_alert(*items, kind="combined")


def test_combined_message_of_37_long_titles_is_bounded_for_every_channel() -> None:
    alert = combined()
    email_parts = render_email(alert)
    text = render_text(alert)
    console = render_console(alert)
    line = render_console_json(alert, NOW)
    assert size(email_parts.html) <= EMAIL_MAX_BYTES
    assert size(email_parts.text) <= EMAIL_MAX_BYTES
    assert size(text.title) + size(text.body) <= TEXT_MAX_BYTES
    assert size(console) <= TEXT_MAX_BYTES
    assert size(line) <= TEXT_MAX_BYTES
    parts = telegram_texts(alert)
    assert all(telegram_length(part) <= TELEGRAM_MAX_CHARS for part in parts)


def test_a_cut_list_says_how_many_items_it_left_out() -> None:
    alert = combined()
    text = render_text(alert).body
    shown = sum(1 for n in range(1, 38) if f"\n{n}. " in text)
    assert 0 < shown < 37
    assert text.startswith("37 new matches for asean-russia")
    assert text.endswith(f"\n\n… and {37 - shown} more")
    assert "more" not in render_email(alert).html  # 37 bounded items fit in 100 KB
    email_parts = render_email(combined(150))
    assert size(email_parts.html) <= EMAIL_MAX_BYTES
    shown = email_parts.html.count("<h3")
    assert 37 < shown < 150
    assert f"… and {150 - shown} more</p>" in email_parts.html
    doc = json.loads(render_console_json(alert, NOW))
    assert doc["omitted"] == 37 - len(doc["items"]) > 0


def test_a_short_combined_message_is_whole() -> None:
    alert = make_alert(make_item(), make_item(title="Second story"), kind="combined")
    text = render_text(alert).body
    assert "more" not in text
    assert "2. Second story" in text
    assert "omitted" not in json.loads(render_console_json(alert, NOW))


@pytest.mark.parametrize("channel", ["text", "console", "json", "email"])
def test_an_instant_alert_with_a_5_mb_title_is_small(channel: str) -> None:
    alert = make_alert(make_item(title="ASEAN " * 900_000, url="https://x.org/" + "a" * 10_000))
    rendered = {
        "text": lambda: render_text(alert).body,
        "console": lambda: render_console(alert),
        "json": lambda: render_console_json(alert, NOW),
        "email": lambda: render_email(alert).html,
    }[channel]()
    assert size(rendered) < 16 * 1024
    assert "ASEAN ASEAN" in rendered
    assert "…" in rendered


FITS = [
    # block sizes, fixed, budget, separator, kept
    ([10, 10, 10], 0, 100, 1, 3),
    ([10, 10, 10], 0, 22, 1, 1),  # two blocks fit, but not with "… and 1 more" (14 B)
    ([10, 10, 30], 0, 40, 1, 2),
    ([10, 10, 10], 0, 33, 1, 3),  # 1+10 three times: no more line needed
    ([500], 0, 100, 1, 1),  # one block always stays
    ([], 0, 100, 1, 0),
]


@pytest.mark.parametrize(("sizes", "fixed", "budget", "separator", "kept"), FITS)
def test_fit_count(sizes: list[int], fixed: int, budget: int, separator: int, kept: int) -> None:
    assert fit_count(sizes, fixed, budget, separator) == kept


def test_more_line() -> None:
    assert more_line(12) == "… and 12 more"
