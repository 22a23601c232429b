"""The config's YAML reader: YAML 1.2 scalars, lines, merges, and a budget for aliases."""

from __future__ import annotations

import datetime
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from monitor.config.load import load_config
from monitor.config.tree import UnsupportedTag, alias_overflow, build, compose
from monitor.errors import ConfigError
from tests.helpers import newsmon


def read(text: str) -> Any:
    node = compose(textwrap.dedent(text))
    assert node is not None
    return build(node)


@pytest.mark.parametrize(
    ("scalar", "value"),
    [
        ("yes", "yes"),  # YAML 1.1 booleans are words in 1.2: a keyword NO stays NO
        ("NO", "NO"),
        ("on", "on"),
        ("true", True),
        ("False", False),
        ("010", 10),
        ("0o10", 8),
        ("0x1f", 31),
        ("1_000", 1000),
        ("1:30", "1:30"),  # no sexagesimal
        ("1e3", 1000.0),
        ("2.5", 2.5),
        (".inf", float("inf")),
        ("~", None),
        ("", None),
        ("'5'", "5"),
        ('"true"', "true"),
        ("2024-01-01", datetime.date(2024, 1, 1)),
        ("2024-13-45", "2024-13-45"),
        ("5m", "5m"),
        ("!env X", UnsupportedTag("!env")),
    ],
)
def test_scalars_are_read_as_yaml_1_2(scalar: str, value: object) -> None:
    assert read(f"v: {scalar}\n")["v"] == value


def test_lines_of_keys_and_items_are_kept() -> None:
    tree = read(
        """\
        sources:
          - name: a
            tags: [x,
                   y]
          - name: b
        """
    )

    assert tree.key_lines == {"sources": 1}
    assert tree["sources"].item_lines == [2, 5]
    assert tree["sources"][0].key_lines == {"name": 2, "tags": 3}
    assert tree["sources"][0]["tags"].item_lines == [3, 4]


def test_merge_keys_fill_in_what_is_not_written() -> None:
    tree = read(
        """\
        base: &base {kind: feed, interval: 5m}
        more: &more {interval: 1h, full_text: true}
        source: {<<: [*base, *more], interval: 10m, name: a}
        """
    )

    assert tree["source"] == {"interval": "10m", "name": "a", "kind": "feed", "full_text": True}
    assert tree["source"].key_lines["kind"] == 3


def bomb(levels: int, width: int) -> str:
    lines = ["      - &a0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [
        f"      - &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)
    ]
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: &x [1, 2]\nb: *x\nc: *x\n", None),
        ("a: &x [1, *x]\n", (1, ("a", 1), 10_000)),  # an alias inside itself is endless
        (
            f"k:\n  - [x]\n  - z\nrules:\n  - keywords:\n{bomb(9, 9)}\n",
            (5, ("rules", 0, "keywords"), 10_000),
        ),
        (f"rules:\n  - keywords:\n{bomb(4, 9)}\n", None),  # 9 ** 3 nodes: within the budget
    ],
)
def test_alias_overflow_names_the_field_where_aliases_pass_the_budget(
    text: str, expected: tuple[int, tuple[str | int, ...], int] | None
) -> None:
    node = compose(text)
    assert node is not None
    assert alias_overflow(node) == expected


def test_a_large_file_may_share_anchors_as_often_as_it_is_long() -> None:
    sources = "".join(f"  - {{name: s{i}, tags: *asia}}\n" for i in range(6000))
    node = compose(f"shared: &asia [cambodia, asean]\nsources:\n{sources}")

    assert node is not None
    assert alias_overflow(node) is None  # 12,000 added nodes, fewer than the 30,000 written


def test_ordinary_aliases_still_configure_sources(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            sources:
              - &wire {name: wire, url: "https://example.org/feed.xml", kind: feed,
                       tags: &asia [cambodia, asean]}
              - {<<: *wire, name: wire-two, url: "https://example.org/two.xml"}
              - {name: page, url: "https://example.org/news/", tags: *asia}
            rules:
              - name: asia
                keywords: [ASEAN]
                sources: [tag:asean]
            """
        )
    )

    config = load_config(path, env={})

    assert [(s.name, s.kind, s.tags) for s in config.sources] == [
        ("wire", "feed", ["cambodia", "asean"]),
        ("wire-two", "feed", ["cambodia", "asean"]),
        ("page", None, ["cambodia", "asean"]),
    ]


def test_duplicate_key_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - name: a\n    url: https://e.org/\n    name: b\n")

    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})

    assert str(caught.value) == f"{path}:4: duplicate key 'name'"


def test_check_refuses_an_alias_bomb_quickly(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n  - name: wire\n    url: https://example.org/feed.xml\n"
        f"rules:\n  - name: bomb\n    keywords:\n{bomb(9, 9)}\n"
    )
    plain = tmp_path / "plain.yaml"
    plain.write_text("sources:\n  - name: wire\n    url: https://example.org/feed.xml\n")
    start = time.perf_counter()
    assert newsmon("check", config=plain).returncode == 0
    baseline = time.perf_counter() - start

    start = time.perf_counter()
    result = newsmon("check", config=path, timeout=60)
    elapsed = time.perf_counter() - start

    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"newsmon: {path}:6: rules[0].keywords: YAML aliases expand to more than 10000 nodes"
    )
    assert elapsed < 10 * baseline + 5  # the 9 ** 9 expansion alone takes minutes
