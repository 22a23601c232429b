"""Email through a real SMTP server on 127.0.0.1: subject, both parts, failures without secrets."""

from __future__ import annotations

import asyncio

import pytest

from notifiers import Channels, email_subject
from tests.notifiers.conftest import (
    SMTP_PASSWORD,
    SMTP_USER,
    Inbox,
    free_port,
    make_alert,
    make_item,
)

# The login tests use plain SMTP on 127.0.0.1; aiosmtpd warns about exactly that.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

ADDRS = "from=newsmon@example.org&to=desk@example.org"


def mail_url(port: int, *, login: str = "", query: str = ADDRS) -> str:
    return f"mailto://{login}127.0.0.1:{port}?{query}"


def test_alert_email_has_subject_html_and_text_parts(smtp_server: Inbox) -> None:
    channels = Channels({"desk": mail_url(smtp_server.port)})
    assert asyncio.run(channels.send("desk", make_alert())).ok
    (msg,) = smtp_server.messages
    assert msg["Subject"] == "[newsmon] asean-russia: ASEAN and Russia sign trade pact"
    assert msg["From"] == "newsmon@example.org"
    assert msg["To"] == "desk@example.org"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",))
    page = msg.get_body(("html",))
    assert text is not None
    assert page is not None
    text_body, html_body = text.get_content(), page.get_content()
    assert "Leaders of «ASEAN» met «Russia» in Phnom Penh on Tuesday." in text_body
    assert "https://news.example.org/2023/09/asean-russia?id=7&lang=en" in text_body
    assert "Leaders of <mark>ASEAN</mark> met <mark>Russia</mark>" in html_body
    assert 'href="https://news.example.org/2023/09/asean-russia?id=7&amp;lang=en"' in html_body


@pytest.mark.parametrize(
    "title",
    [
        "Short",
        "Russia-ASEAN partnership deepens, minister says",  # subject line just over 78
        "Cambodia " * 20,
        "ព័ត៌មាន ASEAN និង រុស្ស៊ី — Phnom Pénh « trade » " * 3,
    ],
)
def test_the_subject_arrives_exactly_as_rendered(smtp_server: Inbox, title: str) -> None:
    alert = make_alert(make_item(title=title))
    assert asyncio.run(Channels({"desk": mail_url(smtp_server.port)}).send("desk", alert)).ok
    (msg,) = smtp_server.messages
    assert msg["Subject"] == email_subject(alert)


def test_a_combined_email_counts_its_matches(smtp_server: Inbox) -> None:
    channels = Channels({"desk": mail_url(smtp_server.port)})
    items = [make_item(title=f"Story {n}") for n in range(12)]
    assert asyncio.run(channels.send("desk", make_alert(*items, kind="combined"))).ok
    (msg,) = smtp_server.messages
    assert msg["Subject"] == "[newsmon] asean-russia: 12 new matches"
    page = msg.get_body(("html",))
    assert page is not None
    assert page.get_content().count("<h3") == 12


def test_each_recipient_gets_its_own_message_and_cc_is_kept(smtp_server: Inbox) -> None:
    query = "from=newsmon@example.org&to=a@example.org,b@example.org&cc=c@example.org"
    channels = Channels({"desk": mail_url(smtp_server.port, query=query)})
    assert asyncio.run(channels.send("desk", make_alert())).ok
    assert [m["To"] for m in smtp_server.messages] == ["a@example.org", "b@example.org"]
    assert [m["Cc"] for m in smtp_server.messages] == ["c@example.org"] * 2
    assert smtp_server.recipients == [
        ["a@example.org", "c@example.org"],
        ["b@example.org", "c@example.org"],
    ]


def test_a_hostile_title_stays_one_subject_line(smtp_server: Inbox) -> None:
    channels = Channels({"desk": mail_url(smtp_server.port)})
    alert = make_alert(make_item(title="Hi\r\nBcc: victim@example.org\r\n\r\n<script>x</script>"))
    assert asyncio.run(channels.send("desk", alert)).ok
    (msg,) = smtp_server.messages
    assert msg["Bcc"] is None
    assert msg["Subject"] == (
        "[newsmon] asean-russia: Hi Bcc: victim@example.org <script>x</script>"
    )
    assert smtp_server.recipients == [["desk@example.org"]]


def test_login_with_the_right_password_delivers(smtp_login_server: Inbox) -> None:
    url = mail_url(smtp_login_server.port, login=f"{SMTP_USER}:{SMTP_PASSWORD}@")
    assert asyncio.run(Channels({"desk": url}).send("desk", make_alert())).ok
    assert len(smtp_login_server.messages) == 1


def test_a_wrong_password_is_a_readable_failure_without_the_password(
    smtp_login_server: Inbox,
) -> None:
    url = mail_url(smtp_login_server.port, login=f"{SMTP_USER}:wrong-Secret-77@")
    result = asyncio.run(Channels({"desk": url}).send("desk", make_alert()))
    assert not result.ok
    assert result.error == (
        f"email: login to 127.0.0.1:{smtp_login_server.port} failed: "
        "535 5.7.8 Authentication credentials invalid"
    )
    assert smtp_login_server.messages == []


def test_smtp_server_down_is_a_readable_failure_without_the_password() -> None:
    port = free_port()
    url = mail_url(port, login=f"{SMTP_USER}:{SMTP_PASSWORD}@")
    channels = Channels({"desk": url})
    result = asyncio.run(channels.send("desk", make_alert()))
    assert not result.ok
    assert result.error == f"email: cannot send via 127.0.0.1:{port}: Connection refused"
    assert SMTP_PASSWORD not in channels.privacy_url("desk")


def test_a_refused_recipient_is_the_reason(smtp_server: Inbox) -> None:
    query = "from=newsmon@example.org&to=nobody@example.org"
    result = asyncio.run(
        Channels({"desk": mail_url(smtp_server.port, query=query)}).send("desk", make_alert())
    )
    assert not result.ok
    assert result.error == (
        f"email: 127.0.0.1:{smtp_server.port}: nobody@example.org refused: 550 5.1.1 No such user"
    )


def test_a_message_some_recipients_got_is_sent_with_a_note_on_the_others(
    smtp_server: Inbox,
) -> None:
    # A retry would mail everyone again, so partial delivery counts as sent.
    query = "from=newsmon@example.org&to=desk@example.org&cc=nobody@example.org"
    result = asyncio.run(
        Channels({"desk": mail_url(smtp_server.port, query=query)}).send("desk", make_alert())
    )
    assert result.ok
    assert result.error == (
        f"email: 127.0.0.1:{smtp_server.port}: nobody@example.org refused: 550 5.1.1 No such user"
    )
    assert smtp_server.recipients == [["desk@example.org"]]


def test_test_message_by_email(smtp_server: Inbox) -> None:
    channels = Channels({"desk": mail_url(smtp_server.port)})
    assert asyncio.run(channels.send_test("desk")).ok
    (msg,) = smtp_server.messages
    assert msg["Subject"] == "[newsmon] notify-test: newsmon test message"
    text = msg.get_body(("plain",))
    assert text is not None
    assert "Channel 'desk' works" in text.get_content()
