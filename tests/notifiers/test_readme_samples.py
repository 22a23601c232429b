"""README's sample alerts are what the renderers produce (README "What an alert looks like")."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from notifiers import Alert, AlertItem, render_email
from notifiers.render import render_telegram_parts
from tests.helpers import ROOT

SNIPPET = (
    "Foreign ministers of ASEAN met in Phnom Penh on Monday to discuss trade with Russia"
    " and the region's energy links."
)


def sample_alert() -> Alert:
    spans = tuple(
        (SNIPPET.index(word), SNIPPET.index(word) + len(word)) for word in ("ASEAN", "Russia")
    )
    item = AlertItem(
        title="ASEAN ministers meet Russian envoy in Phnom Penh",
        url="https://www.khmertimeskh.com/501234567/asean-ministers-meet-russian-envoy/",
        snippet=SNIPPET,
        spans=spans,
        terms=("ASEAN", "Russia"),
        outlets=("khmer-times", "phnom-penh-post"),
        published_at=datetime(2024, 5, 6, 2, 30, tzinfo=UTC),
    )
    # As delivery hands it over: times in settings.timezone.
    return Alert(rule="asean-russia", items=(item,)).in_zone(ZoneInfo("Asia/Phnom_Penh"))


def readme_sample(name: str) -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    marker = f"<!-- rendered by tests/notifiers/test_readme_samples.py: {name} -->"
    found = re.search(re.escape(marker) + r"\n```[a-z]*\n(.*?)\n```", readme, re.S)
    assert found, f"README has no sample marked {marker!r}"
    return found.group(1)


def rendered_samples() -> dict[str, str]:
    alert = sample_alert()
    (telegram,) = [text for text, _ in render_telegram_parts(alert)]
    email = render_email(alert)
    return {"telegram": telegram, "email": f"Subject: {email.subject}\n\n{email.text.strip()}"}


@pytest.mark.parametrize("channel", ["telegram", "email"])
def test_readme_sample_alert_is_what_the_renderer_sends(channel: str) -> None:
    assert readme_sample(channel) == rendered_samples()[channel]
