"""Article extraction quality and speed on the shared corpus. Not a test.

Body text: the 120 ``human_full_body`` pages (Zyte article-extraction-benchmark)
scored with the Zyte metric: ``\\w+`` tokens, 4-token shingles, per-document
TP/FP/FN over shingle multisets normalised to sum to 1, precision and recall
macro-averaged, F1 from the two averages; accuracy is the share of exact token
matches. Printed beside trafilatura's published 0.958 (all 181 pages) and a
run of plain ``trafilatura.extract`` on the same pages in the same run.

Speed: pages/s of `monitor.sources.extract.extract_page` (decoding, canonical URL,
metadata, body) against plain ``trafilatura.extract`` on the same bytes, best
of N rounds, one thread each.

Metadata: date accuracy (same day) on the pages with a human ``published``
date, title accuracy (exact after whitespace/case folding) on the titled ones.

    .venv/bin/python bench/extract.py [ROUNDS]
"""

from __future__ import annotations

import json
import re
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trafilatura

from monitor.sources.extract import extract_page

__all__ = ["main", "score"]

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "articles"
PUBLISHED_F1 = 0.958  # trafilatura 2.0.0 in the Zyte benchmark's README (181 pages)
_WORD = re.compile(r"\w+")


def _shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _WORD.findall(text)
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)))


def score(pairs: list[tuple[str, str]]) -> dict[str, float]:
    """Zyte metric over (expected, predicted) bodies: precision, recall, F1, accuracy."""
    precisions: list[float] = []
    recalls: list[float] = []
    exact = 0
    for expected, predicted in pairs:
        exact += _WORD.findall(expected) == _WORD.findall(predicted)
        true, pred = _shingles(expected), _shingles(predicted)
        tp = sum((true & pred).values())
        fp = sum((pred - true).values())
        fn = sum((true - pred).values())
        total = tp + fp + fn
        if total == 0:  # both empty: a perfect answer
            precisions.append(1.0)
            recalls.append(1.0)
            continue
        tp_, fp_, fn_ = tp / total, fp / total, fn / total
        precisions.append(tp_ / (tp_ + fp_) if tp_ + fp_ else 0.0)
        recalls.append(tp_ / (tp_ + fn_) if tp_ + fn_ else 0.0)
    p = sum(precisions) / len(precisions)
    r = sum(recalls) / len(recalls)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r), "accuracy": exact / len(pairs)}


def _records(kind: str | None = None) -> list[tuple[dict[str, Any], bytes]]:
    out = []
    for path in sorted(CORPUS.glob("*.json")):
        record = json.loads(path.read_text())
        if kind is None or record["annotation_kind"] == kind:
            out.append((record, path.with_suffix(".html").read_bytes()))
    return out


def _url(record: dict[str, Any]) -> str:
    return str(record.get("url") or f"https://example.org/{record['id']}")


def _ours(record: dict[str, Any], body: bytes) -> str:
    return extract_page(body, url=_url(record)).text


def _plain(record: dict[str, Any], body: bytes) -> str:
    return trafilatura.extract(body, url=_url(record)) or ""


def _rate(fn: Callable[[dict[str, Any], bytes], str], pages: list[Any], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for record, body in pages:
            fn(record, body)
        best = min(best, time.perf_counter() - start)
    return len(pages) / best


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    pages = _records("human_full_body")
    if not pages:
        sys.exit(f"corpus not found at {CORPUS} (expected the Zyte benchmark's *.json/*.html)")
    ours = score([(r["body_text"], _ours(r, b)) for r, b in pages])
    plain = score([(r["body_text"], _plain(r, b)) for r, b in pages])
    ours_rate = _rate(_ours, pages, rounds)
    plain_rate = _rate(_plain, pages, rounds)

    everything = _records()
    dated = [(r, b) for r, b in everything if r["published"]]
    titled = [(r, b) for r, b in everything if r["title"]]
    date_hits = 0
    for record, body in dated:
        found = extract_page(body, url=_url(record)).published
        date_hits += found is not None and found.date().isoformat() == record["published"][:10]
    title_hits = sum(
        _fold(extract_page(b, url=_url(r)).title) == _fold(r["title"]) for r, b in titled
    )

    print(f"Body text, {len(pages)} human_full_body pages (Zyte metric)")
    print("| extractor | F1 | precision | recall | accuracy |")
    print("| --- | --- | --- | --- | --- |")
    for name, s in (("newsmon extract_page", ours), ("trafilatura.extract (same run)", plain)):
        print(
            f"| {name} | {s['f1']:.3f} | {s['precision']:.3f} | {s['recall']:.3f} "
            f"| {s['accuracy']:.3f} |"
        )
    print(
        f"| trafilatura 2.0.0 (published, 181 pages) | {PUBLISHED_F1:.3f} | 0.938 | 0.978 | 0.293 |"
    )
    print()
    print(f"Speed (best of {rounds}, one thread)")
    print(f"  newsmon extract_page   {ours_rate:7.1f} pages/s")
    print(f"  trafilatura.extract    {plain_rate:7.1f} pages/s")
    print(f"  ratio                  {ours_rate / plain_rate:7.2f}x")
    print()
    print(f"Date accuracy (same day): {date_hits}/{len(dated)} = {date_hits / len(dated):.3f}")
    print(
        f"Title accuracy (exact, case/space-folded): {title_hits}/{len(titled)} "
        f"= {title_hits / len(titled):.3f}"
    )


if __name__ == "__main__":
    main()
