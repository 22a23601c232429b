"""Memory and message size stay bounded when feeds carry 10 MB titles (end to end)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from tests.helpers import ROOT


def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_hostile", ROOT / "bench" / "hostile.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_run_once_on_four_feeds_with_10_mb_titles_stays_under_400_mb(tmp_path: Path) -> None:
    peak = bench().measure(tmp_path, feeds=4, title_chars=10_000_000)
    assert peak.returncode == 0, (tmp_path / "stderr").read_text()[-2000:]
    assert peak.rss_mb < 400
    assert 0 < peak.largest_post < 32 * 1024  # the webhook got the alert, bounded
    assert peak.console_bytes < 4 * 32 * 1024
