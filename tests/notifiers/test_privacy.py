"""Secrets stay out of messages and logs: privacy URLs, scrubbing, quiet loggers."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import apprise
import pytest

from notifiers.privacy import (
    maskable,
    plain_privacy_url,
    quiet_apprise_logging,
    redact_url,
    register_secrets,
    scrub,
    secrets_of,
)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("tgram://123456789:ABCdef/987654", "tgram://1...f/9...4"),
        (
            "mailtos://user:s3cret@smtp.example.org?to=desk@example.org",
            "mailtos://user:****@smtp.example.org?to=desk@example.org",
        ),
        ("json://127.0.0.1:8080/hook", "json://127.0.0.1:8080/h...k"),
        (
            "foo://host.example.org/path?token=abcdef&mode=ssl",
            "foo://host.example.org/p...h?token=a...f&mode=ssl",
        ),
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnl", "slack://T...2/A...D/T...l"),
        ("not a url", "****"),
    ],
)
def test_rejected_urls_are_shown_in_privacy_form(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    ("privacy", "original", "shown"),
    [
        (
            "tgram://1...o/987654/?image=False&detect=no&silent=no",
            "tgram://123456789:ABCdefGHIjkl_mno/987654",
            "tgram://1...o/987654/",
        ),
        (
            "mailtos://user:****@smtp.example.org/desk%40example.org?overflow=upstream&from=a%40b.org",
            "mailtos://user:pw@smtp.example.org?to=desk@example.org&from=a@b.org",
            "mailtos://user:****@smtp.example.org/desk%40example.org?from=a%40b.org",
        ),
    ],
)
def test_privacy_urls_keep_only_the_options_the_user_wrote(
    privacy: str, original: str, shown: str
) -> None:
    assert plain_privacy_url(privacy, original) == shown


def test_secrets_of_a_telegram_and_an_email_channel() -> None:
    tgram = apprise.Apprise.instantiate("tgram://123456789:ABCdefGHIjkl_mno/987654")
    assert "123456789:ABCdefGHIjkl_mno" in secrets_of(tgram, "")
    url = "mailtos://user:p%40ss-word@smtp.example.org?to=desk@example.org"
    mail = apprise.Apprise.instantiate(url)
    assert {"p@ss-word", "p%40ss-word"} <= set(secrets_of(mail, url))


def test_scrub_masks_every_occurrence() -> None:
    assert scrub("token abc123 and abc123!", ["abc123"]) == "token **** and ****!"


@pytest.mark.parametrize(
    ("values", "secrets"),
    [
        (["abcd", "abcdef", "xyz"], ("abcdef", "abcd")),  # longest first; under 4: no secret
        (["", "en", "443"], ()),
        (["same", "same"], ("same",)),
    ],
)
def test_only_values_of_four_characters_or_more_are_secrets(
    values: list[str], secrets: tuple[str, ...]
) -> None:
    assert maskable(values) == secrets


def test_scrub_leaves_values_too_short_to_be_secrets() -> None:
    assert scrub("id 12, key k3y-42", ["12", "k3y-42"]) == "id 12, key ****"


@pytest.fixture
def restore_log_levels() -> Iterator[None]:
    loggers = [logging.getLogger(n) for n in ("apprise", "urllib3")]
    levels = [lg.level for lg in loggers]
    yield
    for lg, level in zip(loggers, levels, strict=True):
        lg.setLevel(level)


@pytest.mark.usefixtures("restore_log_levels")
def test_apprise_and_urllib3_loggers_are_kept_at_info_or_above() -> None:
    logging.getLogger("apprise").setLevel(logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.NOTSET)
    quiet_apprise_logging()
    assert logging.getLogger("apprise").level == logging.INFO
    assert logging.getLogger("urllib3").level == logging.INFO  # not inheriting a DEBUG root
    logging.getLogger("apprise").setLevel(logging.ERROR)
    quiet_apprise_logging()
    assert logging.getLogger("apprise").level == logging.ERROR  # quieter is left alone


def test_a_registered_secret_never_reaches_a_log_handler(caplog: pytest.LogCaptureFixture) -> None:
    quiet_apprise_logging()
    register_secrets(["tok-SECRET-42"])
    logging.getLogger("apprise").warning(
        "Failed to post to %s/bot%s/x", "https://h", "tok-SECRET-42"
    )
    assert "tok-SECRET-42" not in caplog.text
    assert "https://h/bot****/x" in caplog.text
