"""Channels: loading URLs, the console channel, plain-text services through a webhook sink."""

from __future__ import annotations

import asyncio
import io
import logging

import pytest

from notifiers import Channels, NotifyError, UnknownChannelError, render_console
from tests.notifiers.conftest import WebhookSink, free_port, make_alert, make_item


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "tgram://not-a-token/12345",
            "channel 'ops': not a valid Apprise URL: tgram://n...n/1...5",
        ),
        (
            "nosuchservice://host.example.org/path",
            "channel 'ops': not a valid Apprise URL: nosuchservice://host.example.org/p...h"
            " (unknown scheme 'nosuchservice')",
        ),
        ("console://stderr", "channel 'ops': console:// takes no host or options"),
        ("just text", "channel 'ops': not a valid Apprise URL: **** (expected scheme://...)"),
    ],
)
def test_an_invalid_channel_url_is_a_config_error_naming_the_channel(
    url: str, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(NotifyError) as err:
        Channels({"stdout": "console://", "ops": url})
    assert str(err.value) == message
    assert "not-a-token" not in caplog.text  # Apprise's own warning quotes the bad token


def test_names_in_config_order_and_urls_in_privacy_form() -> None:
    channels = Channels(
        {
            "team-email": "mailtos://user:s3cret-pw@smtp.example.org?to=desk@example.org",
            "stdout": "console://",
            "ops-telegram": "tgram://123456789:ABCdefGHIjkl_mno/987654",
        }
    )
    assert channels.names() == ["team-email", "stdout", "ops-telegram"]
    assert channels.privacy_url("ops-telegram") == "tgram://1...o/987654/"
    assert channels.privacy_url("stdout") == "console://"
    assert channels.privacy_url("team-email") == (
        "mailtos://user:****@smtp.example.org/desk%40example.org"
    )


def test_an_unknown_channel_is_named_with_the_known_ones() -> None:
    channels = Channels({"stdout": "console://", "desk": "console://"})
    with pytest.raises(
        UnknownChannelError, match=r"^unknown channel 'nope' \(known: stdout, desk\)$"
    ):
        asyncio.run(channels.send("nope", make_alert()))
    with pytest.raises(UnknownChannelError):
        channels.privacy_url("nope")


def test_the_console_channel_prints_the_alert() -> None:
    out = io.StringIO()
    channels = Channels({"stdout": "console://"}, console=out)
    alert = make_alert()
    assert asyncio.run(channels.send("stdout", alert)).ok
    assert out.getvalue() == render_console(alert) + "\n\n"
    assert out.getvalue().startswith(
        "[newsmon] asean-russia: ASEAN and Russia sign trade pact\n"
        "  Leaders of «ASEAN» met «Russia» in Phnom Penh on Tuesday.\n"
    )


def test_the_console_defaults_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    result = asyncio.run(Channels({"stdout": "console://"}).send_test("stdout"))
    assert result.ok
    assert capsys.readouterr().out.startswith("[newsmon] notify-test: newsmon test message\n")


def test_a_closed_console_is_a_failed_send_not_a_crash() -> None:
    out = io.StringIO()
    out.close()
    result = asyncio.run(
        Channels({"stdout": "console://"}, console=out).send("stdout", make_alert())
    )
    assert not result.ok
    assert result.error == "console: cannot print: I/O operation on closed file"


def test_other_services_get_plain_text(webhook: WebhookSink) -> None:
    channels = Channels({"hook": webhook.url("json", "/hook")})
    alert = make_alert(make_item(title="<b>Not bold</b> & co"))
    assert asyncio.run(channels.send("hook", alert)) == (
        asyncio.run(channels.send("hook", alert))  # and it is repeatable
    )
    body = webhook.bodies[0]
    assert body["title"] == "[newsmon] asean-russia: <b>Not bold</b> & co"
    assert body["message"].startswith(
        "<b>Not bold</b> & co\nLeaders of «ASEAN» met «Russia» in Phnom Penh on Tuesday.\n"
        "https://news.example.org/2023/09/asean-russia?id=7&lang=en\n"
    )
    assert body["type"] == "info"


def test_a_test_message_goes_through_the_channel(webhook: WebhookSink) -> None:
    channels = Channels({"hook": webhook.url("json", "/hook")})
    assert asyncio.run(channels.send_test("hook")).ok
    assert webhook.bodies[0]["title"] == "[newsmon] notify-test: newsmon test message"
    assert "Channel 'hook' works" in webhook.bodies[0]["message"]


def test_a_webhook_that_is_down_gives_a_readable_reason() -> None:
    channels = Channels({"hook": f"json://127.0.0.1:{free_port()}/hook"})
    result = asyncio.run(channels.send("hook", make_alert()))
    assert not result.ok
    assert result.error is not None
    assert result.error.startswith("JSON: ")
    assert "connection error" in result.error.lower()


def test_a_webhook_error_status_is_the_reason(webhook: WebhookSink) -> None:
    channels = Channels({"hook": webhook.url("json", "/missing")})
    result = asyncio.run(channels.send("hook", make_alert()))
    assert not result.ok
    assert result.error is not None
    assert "500" in result.error
