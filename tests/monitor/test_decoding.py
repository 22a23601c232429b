"""UTF-8 with a few stray bytes stays UTF-8; only mostly-invalid bytes go to detection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.sources.encoding import decode_html, html_charset
from monitor.sources.feed import parse_feed
from monitor.sources.feedbytes import mostly_utf8, repair_utf8
from tests.helpers import FeedServer, newsmon

PENH = "Phnom Pénh".encode()
# 400 accented words in windows-1252: invalid as UTF-8 at nearly every high byte.
LEGACY = ("Le ministre a déclaré à Phnom Pénh que l'été serait chaud. " * 40).encode("cp1252")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"plain ASCII", True),
        (PENH, True),
        (PENH + b" \xff", True),  # one stray beside one good character
        (PENH * 200 + b"\xff\xfe\x80", True),  # three strays among 200 good ones
        (PENH * 1000 + b"\xff" * 10, True),  # 1% of the good ones
        (PENH + b"\xff\xff", False),  # more strays than good characters
        (b"only ASCII and \xff", False),  # no evidence for UTF-8 at all
        (LEGACY, False),
        ("Café".encode("cp1252"), False),
        ("Привет, мир".encode("koi8-r"), False),
        ("\ufffd\ufffd written".encode() + b"\xff\xff", True),  # written U+FFFDs are no strays
    ],
)
def test_mostly_utf8(body: bytes, expected: bool) -> None:
    assert mostly_utf8(body) is expected


XML = b'<?xml version="1.0" encoding="%s"?><rss version="2.0"><channel><title>'


@pytest.mark.parametrize(
    ("body", "content_type", "expected_body", "expected_charset"),
    [
        # declared UTF-8 in HTTP, in the XML declaration, by a BOM, or not at all
        (PENH + b"\xff", "application/rss+xml; charset=utf-8", PENH + "\ufffd".encode(), "utf-8"),
        (XML % b"UTF-8" + PENH + b"\xff", None, XML % b"UTF-8" + PENH + b"\xef\xbf\xbd", "utf-8"),
        (b"\xef\xbb\xbf" + PENH + b"\xff", None, b"\xef\xbb\xbf" + PENH + b"\xef\xbf\xbd", "utf-8"),
        (b"<rss>" + PENH + b"\xff", None, b"<rss>" + PENH + b"\xef\xbf\xbd", "utf-8"),
        # valid UTF-8: untouched, the document is followed
        (XML % b"utf-8" + PENH, None, XML % b"utf-8" + PENH, None),
        # declared UTF-8 but mostly legacy: detected
        (LEGACY, "text/xml; charset=utf-8", LEGACY, "cp1252"),
        # another declared charset is left to the parser
        (XML % b"windows-1252" + b"\xe9\xff", None, XML % b"windows-1252" + b"\xe9\xff", None),
        (b"\xe9\xff", "text/xml; charset=iso-8859-1", b"\xe9\xff", None),
    ],
)
def test_repair_utf8(
    body: bytes, content_type: str | None, expected_body: bytes, expected_charset: str | None
) -> None:
    assert repair_utf8(body, content_type) == (expected_body, expected_charset)


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"<p>" + PENH + b"\xff", "text/html; charset=utf-8", "utf-8"),
        (b'<meta charset="utf-8"><p>' + PENH + b"\xff", None, "utf-8"),
        (b"<p>" + PENH + b"\xff", None, "utf-8"),
        (b"\xef\xbb\xbf<p>" + PENH + b"\xff", None, "utf-8-sig"),
        (b"<p>" + LEGACY, "text/html; charset=utf-8", "cp1252"),
        (b'<meta charset="utf-8"><p>' + LEGACY, None, "cp1252"),
    ],
)
def test_html_charset_keeps_utf8_with_a_few_stray_bytes(
    body: bytes, content_type: str | None, expected: str
) -> None:
    assert html_charset(body, content_type) == expected


def test_html_page_with_one_bad_byte_reads_as_utf8() -> None:
    page = b"<html><body><h1>" + PENH + b" \xff news</h1></body></html>"

    assert "<h1>Phnom Pénh \ufffd news</h1>" in decode_html(page, "text/html; charset=UTF-8")


def one_bad_byte_feed() -> bytes:
    head = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Wire</title>'
        "<item><title>Floods reach Phnom Pénh as Mekong rises</title>"
        "<link>https://news.example.org/floods</link><guid>floods</guid>"
        "<description>ភ្នំពេញ: water levels "  # its U+17C1 holds 0x81, undefined in windows-1252
    )
    return head.encode() + b"\xff" + b" near record.</description></item></channel></rss>"


def test_feed_declaring_utf8_with_one_bad_byte_is_read_as_utf8() -> None:
    parsed = parse_feed(
        one_bad_byte_feed(),
        url="https://news.example.org/feed.xml",
        headers={"Content-Type": "application/rss+xml; charset=utf-8"},
    )

    assert [e.title for e in parsed.entries] == ["Floods reach Phnom Pénh as Mekong rises"]
    assert parsed.entries[0].summary == "ភ្នំពេញ: water levels \ufffd near record."
    assert parsed.warnings == ()


def test_run_once_alerts_on_a_utf8_feed_with_one_bad_byte(
    tmp_path: Path, feeds: FeedServer
) -> None:
    url = feeds.set("/feed.xml", one_bad_byte_feed(), "application/rss+xml; charset=utf-8")
    config = tmp_path / "sources.yaml"
    config.write_text(
        f"sources:\n  - name: wire\n    url: {url}\n    kind: feed\n"
        "rules:\n  - name: penh\n    keywords: [Phnom Penh]\n"
    )
    env = {"NEWSMON_DATABASE_URL": f"sqlite:///{tmp_path / 'news.db'}"}

    result = newsmon("run", "--once", config=config, env=env)

    assert result.returncode == 0, result.stderr
    assert "Floods reach Phnom Pénh as Mekong rises" in result.stdout
    exported = newsmon("export", "--format", "json", config=config, env=env)
    assert [a["title"] for a in json.loads(exported.stdout)] == [
        "Floods reach Phnom Pénh as Mekong rises"
    ]
