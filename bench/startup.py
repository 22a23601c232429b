"""Start-up time of the CLI: `newsmon --version` and `--help` against `python -c pass`. Not a test.

Each command runs as a fresh process, alternating with the baseline (the same
interpreter doing nothing) in the same run, so a busy machine slows both alike;
the table shows the median wall time and its ratio to the baseline's median.
The last column counts the heavy modules (SQLAlchemy, Alembic, httpx,
feedparser, trafilatura, Apprise) the command imported: none is the goal, as
neither command touches a config, a database or the network.

    .venv/bin/python bench/startup.py [--quick] [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["HEAVY", "main", "newsmon_command"]

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("sqlalchemy", "alembic", "httpx", "feedparser", "trafilatura", "apprise")


def newsmon_command() -> list[str]:
    """The installed `newsmon` entry point beside this interpreter, else `python -m monitor`."""
    script = Path(sys.executable).with_name("newsmon")
    return [str(script)] if script.exists() else [sys.executable, "-m", "monitor"]


def wall_time(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


def heavy_imports(args: list[str]) -> list[str]:
    """The heavy top-level packages `python -X importtime -m monitor ARGS` imported."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "monitor", *args],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    names = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in run.stderr.splitlines()}
    return [name for name in HEAVY if name in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 runs of each instead of 15")
    parser.add_argument("--runs", type=int, help="runs of each command")
    args = parser.parse_args()
    runs = args.runs or (5 if args.quick else 15)

    baseline = [sys.executable, "-c", "pass"]
    cases = {
        "--version": [*newsmon_command(), "--version"],
        "--help": [*newsmon_command(), "--help"],
    }
    times: dict[str, list[float]] = {"python -c pass": [], **{name: [] for name in cases}}
    wall_time(cases["--version"])  # warm the page cache and the bytecode once
    for _ in range(runs):
        times["python -c pass"].append(wall_time(baseline))
        for name, argv in cases.items():
            times[name].append(wall_time(argv))

    base = statistics.median(times["python -c pass"])
    print(f"CLI start-up, median of {runs} runs ({' '.join(newsmon_command())})")
    print(f"{'command':<16} {'median ms':>10} {'x baseline':>11}  heavy modules imported")
    for name, samples in times.items():
        median = statistics.median(samples)
        heavy = "-" if name not in cases else ", ".join(heavy_imports([name])) or "none"
        print(f"{name:<16} {median * 1000:>10.0f} {median / base:>11.1f}  {heavy}")


if __name__ == "__main__":
    main()
