"""Config loading time against the size of the file. Not a test.

Writes configs of 1,000, 10,000 and 66,000 sources (the largest is ~10 MB:
each source has a URL, tags, headers and a selector, and rules refer to sources
and tags), then times `monitor.config.load.load_config` on each, beside PyYAML's plain
libyaml load of the same file in the same run (no lines, no validation): the
least any loader pays. The ratio should stay flat as the file grows. With
``--ruamel`` also ruamel.yaml's round-trip load, the reader used before (about
20 s per MB; minutes for the largest file).

    .venv/bin/python bench/config.py [--ruamel] [SOURCE_COUNTS...]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from ruamel.yaml import YAML

from monitor.config.load import load_config

__all__ = ["main", "write_config"]

_COUNTS = (1_000, 10_000, 66_000)


def write_config(path: Path, count: int) -> None:
    """A valid config with `count` sources and a few rules that name some of them."""
    lines = [
        "settings:",
        "  interval: 15m",
        "channels:",
        '  desk: "console://"',
        "sources:",
    ]
    for i in range(count):
        lines += [
            f"  - name: outlet-{i:06d}-news",
            f"    url: https://news{i}.example.org/national/feed.xml",
            "    kind: html",
            "    interval: 30m",
            f"    tags: [region-{i % 50}, lang-en, wire-{i % 7}]",
            '    link_selector: "h2.title a"',
        ]
    lines.append("rules:")
    for r in range(20):
        named = ", ".join(f"outlet-{(r * 97 + k) % count:06d}-news" for k in range(20))
        lines += [
            f"  - name: rule-{r}",
            "    keywords: [ASEAN, Russia, Phnom Penh]",
            f"    sources: [{named}, tag:region-{r}]",
            "    channels: [desk]",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _timed(action: Callable[..., object], *args: object) -> float:
    start = time.perf_counter()
    action(*args)
    return time.perf_counter() - start


def _libyaml(text: str) -> object:
    return yaml.load(text, Loader=yaml.CSafeLoader)


def _ruamel(text: str) -> object:
    return YAML(typ="rt").load(text)


def main(counts: tuple[int, ...] = _COUNTS, *, ruamel: bool = False) -> None:
    with tempfile.TemporaryDirectory() as folder:
        print(f"{'sources':>8} {'MB':>6} {'libyaml s':>10} {'load s':>8} {'ratio':>6} ruamel s")
        for count in counts:
            path = Path(folder) / f"sources-{count}.yaml"
            write_config(path, count)
            size = path.stat().st_size / 1e6
            text = path.read_text(encoding="utf-8")
            baseline = _timed(_libyaml, text)
            loaded = _timed(load_config, path, {})
            old = f"{_timed(_ruamel, text):.2f}" if ruamel else "-"
            ratio = loaded / baseline
            print(f"{count:>8} {size:>6.1f} {baseline:>10.2f} {loaded:>8.2f} {ratio:>6.2f} {old}")


if __name__ == "__main__":
    args = sys.argv[1:]
    counts = tuple(int(arg) for arg in args if arg != "--ruamel") or _COUNTS
    main(counts, ruamel="--ruamel" in args)
