"""OPML: import feeds from another reader into sources.yaml, export them back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config.load import load_config
from monitor.config.opml import (
    ExportSource,
    NewSource,
    OpmlFeed,
    parse_opml,
    plan_import,
    render_opml,
    slug,
)
from monitor.errors import ParseError
from tests.helpers import newsmon

READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>My feeds</title></head>
  <body>
    <outline text="Cambodia" title="Cambodia">
      <outline type="rss" text="Khmer Times" xmlUrl="https://www.khmertimeskh.com/feed/"/>
      <outline text="Business">
        <outline type="rss" title="Phnom Penh Post &#8212; Business" text="PPP"
                 xmlUrl="https://ppp.example/business.xml"/>
      </outline>
    </outline>
    <outline type="rss" text="Khmer Times" xmlUrl="https://kt-english.example/rss"/>
    <outline type="rss" text="The Wire (again)" xmlUrl="https://WIRE.example/feed.xml?utm_source=opml"/>
    <outline type="rss" text="Podcast" xmlUrl="ftp://files.example/podcast.xml"/>
    <outline text="An empty folder"/>
  </body>
</opml>
"""

CONFIG = """\
# newsmon config: comments must survive an import
settings:
  interval: 15m  # poll every quarter hour

channels:
  ops: "tgram://${TELEGRAM_BOT_TOKEN}/${TELEGRAM_CHAT_ID}"

sources:
  # the wire service
  - name: wire
    url: https://wire.example/feed.xml
    tags: [wire]

rules:
  - name: asean
    keywords: [ASEAN]
    channels: [ops]
"""
ENV = {"TELEGRAM_BOT_TOKEN": "123456:abcdef", "TELEGRAM_CHAT_ID": "42"}


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Khmer Times", "khmer-times"),
        ("Phnom Penh Post — Business", "phnom-penh-post-business"),
        ("  Le Monde (à la une) ", "le-monde-a-la-une"),
        ("ខ្មែរ", "khmaer"),  # other scripts are transliterated, not dropped
        ("Новости Москвы", "novosti-moskvy"),
        ("新华网", "xinhuawang"),
        ("★★★", ""),  # nothing readable: the caller falls back to the host name
        ("BBC News - World", "bbc-news-world"),
        ("x" * 60, "x" * 40),
    ],
)
def test_source_names_are_derived_from_titles(title: str, expected: str) -> None:
    assert slug(title) == expected


def test_nested_outlines_are_read_with_their_folders() -> None:
    feeds = parse_opml(READER_EXPORT)
    assert feeds[:2] == [
        OpmlFeed("https://www.khmertimeskh.com/feed/", "Khmer Times", ("Cambodia",)),
        OpmlFeed(
            "https://ppp.example/business.xml",
            "Phnom Penh Post — Business",
            ("Cambodia", "Business"),
        ),
    ]
    assert len(feeds) == 5


def test_import_plan_names_uniquely_and_skips_known_and_non_http_urls() -> None:
    plan = plan_import(
        parse_opml(READER_EXPORT),
        existing_names=["wire"],
        existing_urls=[("wire", "https://wire.example/feed.xml")],
    )
    assert plan.added == [
        NewSource("khmer-times", "https://www.khmertimeskh.com/feed/", ("cambodia",)),
        NewSource(
            "phnom-penh-post-business",
            "https://ppp.example/business.xml",
            ("cambodia", "business"),
        ),
        NewSource("khmer-times-2", "https://kt-english.example/rss"),
    ]
    assert plan.skipped == [
        ("https://WIRE.example/feed.xml?utm_source=opml", "already configured as wire"),
        ("ftp://files.example/podcast.xml", "not an http(s) URL"),
    ]


def test_a_feed_listed_twice_in_the_file_is_added_once() -> None:
    feeds = [OpmlFeed("https://a.example/rss", "A"), OpmlFeed("https://a.example/rss#x", "A2")]
    plan = plan_import(feeds, existing_names=[], existing_urls=[])
    assert [s.name for s in plan.added] == ["a"]
    assert plan.skipped == [("https://a.example/rss#x", "already configured as a")]


def test_a_feed_without_a_title_is_named_after_its_host() -> None:
    plan = plan_import(
        [OpmlFeed("https://www.example.org/rss", "")], existing_names=[], existing_urls=[]
    )
    assert plan.added[0].name == "example-org"


def test_a_feed_with_a_non_latin_title_gets_a_readable_name_not_its_host() -> None:
    feeds = [
        OpmlFeed("https://www.rfa.example/khmer/rss", "ព័ត៌មានខ្មែរ"),
        OpmlFeed("https://ria.example/export/rss2/index.xml", "РИА Новости"),
    ]
    plan = plan_import(feeds, existing_names=[], existing_urls=[])
    assert [s.name for s in plan.added] == ["patrmankhmaer", "ria-novosti"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html><body>hi</body></html>", "not an OPML file: the document's root is not <opml>"),
        (b"<opml version='2.0'><head/></opml>", "not an OPML file: no <body>"),
        (b"", "not an OPML file"),
        (
            b"<opml><body><outline",
            "not an OPML file: invalid XML: Couldn't find end of Start Tag outline",
        ),
    ],
)
def test_a_file_that_is_not_opml_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match="^" + message):
        parse_opml(data)


def test_export_is_opml_2_with_escaped_attributes_and_tags_as_categories() -> None:
    text = render_opml(
        [ExportSource("q", "https://q.example/rss?a=1&b=<2>", ("cambodia", "trade"))],
        title="newsmon & co",
        now=datetime(2025, 3, 1, 8, 0, tzinfo=UTC),
    )
    assert '<opml version="2.0">' in text
    assert "<title>newsmon &amp; co</title>" in text
    assert "<dateCreated>Sat, 01 Mar 2025 08:00:00 +0000</dateCreated>" in text
    assert 'xmlUrl="https://q.example/rss?a=1&amp;b=&lt;2&gt;"' in text
    feeds = parse_opml(text.encode())
    assert feeds == [OpmlFeed("https://q.example/rss?a=1&b=<2>", "q", (), ("cambodia", "trade"))]


def test_import_appends_to_the_config_keeping_comments_and_variables(tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text(CONFIG)
    opml = tmp_path / "reader.opml"
    opml.write_bytes(READER_EXPORT)

    result = newsmon("sources", "import", str(opml), config=config, env=ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"added 3 sources to {config} (5 in {opml})",
        "  + khmer-times  https://www.khmertimeskh.com/feed/  [cambodia]",
        "  + phnom-penh-post-business  https://ppp.example/business.xml  [cambodia, business]",
        "  + khmer-times-2  https://kt-english.example/rss",
        "  skipped https://WIRE.example/feed.xml?utm_source=opml: already configured as wire",
        "  skipped ftp://files.example/podcast.xml: not an http(s) URL",
        "a running daemon polls them after a reload: kill -HUP PID "
        "(docker: docker kill --signal=HUP CONTAINER)",
    ]
    text = config.read_text()
    assert text.startswith(CONFIG.split("\nrules:")[0])  # everything before is untouched
    added = "  - name: khmer-times-2\n    url: https://kt-english.example/rss\n    kind: feed\n"
    assert added in text
    assert "# poll every quarter hour" in text
    assert "# the wire service" in text
    assert '"tgram://${TELEGRAM_BOT_TOKEN}/${TELEGRAM_CHAT_ID}"' in text
    loaded = load_config(config, ENV)
    assert [s.name for s in loaded.sources] == [
        "wire",
        "khmer-times",
        "phnom-penh-post-business",
        "khmer-times-2",
    ]

    again = newsmon("sources", "import", str(opml), config=config, env=ENV)
    assert again.stdout.startswith(f"added 0 sources to {config}")
    assert config.read_text() == text


def test_export_then_import_into_an_empty_config_round_trips(tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text(
        CONFIG.replace(
            "\nrules:",
            "  - name: khmer-times\n    url: https://www.khmertimeskh.com/feed/?a=1&b=2\n"
            "    tags: [cambodia, business]\n"
            "  - name: listing\n    url: https://listing.example/news/\n    kind: html\n"
            "    link_selector: h2 a\n"
            "\nrules:",
        )
    )

    exported = newsmon("sources", "export", config=config, env=ENV)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml')
    round_trip = tmp_path / "export.opml"
    round_trip.write_text(exported.stdout)

    fresh = tmp_path / "fresh" / "sources.yaml"
    fresh.parent.mkdir()
    result = newsmon("sources", "import", str(round_trip), config=fresh)
    assert result.returncode == 0, result.stderr
    copied = load_config(fresh, {}).sources
    assert [(s.name, s.url, s.tags) for s in copied] == [
        ("wire", "https://wire.example/feed.xml", ["wire"]),
        ("khmer-times", "https://www.khmertimeskh.com/feed/?a=1&b=2", ["cambodia", "business"]),
    ]  # an HTML listing is no feed for another reader: not exported


def test_importing_a_file_that_is_not_opml_says_so(tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text(CONFIG)
    bad = tmp_path / "bad.opml"
    bad.write_text("<html><body>not a feed list</body></html>")
    result = newsmon("sources", "import", str(bad), config=config, env=ENV)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"newsmon: sources import: {bad}: not an OPML file: the document's root is not <opml>"
    )
    assert config.read_text() == CONFIG


def test_importing_a_truncated_file_fails_naming_the_file_and_the_xml_problem(
    tmp_path: Path,
) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text(CONFIG)
    cut = tmp_path / "cut.opml"
    cut.write_text(
        '<opml version="2.0"><body><outline text="A" xmlUrl="https://a.example/rss"/><outline'
    )
    result = newsmon("sources", "import", str(cut), config=config, env=ENV)
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"newsmon: sources import: {cut}: not an OPML file: invalid XML: "
    ), result.stderr
    assert "line 1, column" in result.stderr
    assert "added" not in result.stdout
    assert config.read_text() == CONFIG
