"""The story-clustering evaluation (`bench/clusters.py`) runs and prints its table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

HEADER = "threshold  precision  recall  recall(index)  same-topic apart"


def test_cluster_evaluation_prints_its_held_out_table_and_ratio_line(corpus: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "clusters.py"), "--quick", "--corpus", str(corpus)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert any(line.startswith("held out: half B") for line in lines), done.stdout
    assert HEADER in lines, done.stdout
    assert "<- chosen" in done.stdout
    assert lines[-1].startswith("ratio: recall "), done.stdout


def test_cluster_evaluation_without_a_corpus_says_where_it_looked(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "clusters.py"), "--corpus", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert f"clusters: no corpus at {tmp_path}" in done.stdout
