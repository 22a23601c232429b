"""Story clustering: does the fingerprint find syndicated copies and keep other stories apart?

The labelled set (`bench/clusters_data.py`) is built from the shared corpus's
human-annotated article bodies, split in two halves by a fixed rule (the first
byte of SHA-256 of the article id, even = A, odd = B):

- positives: each article against its syndicated copies (seeded RNG): a new
  headline; a lead and/or trailer line ("This article was first published by
  …"); one or two paragraphs trimmed (the last one of a short article); dates,
  weekdays and small numbers reworded in half their places; ~30 % of the words
  of each quotation reworded; then 5-15 % of all words substituted, deleted or
  inserted in runs of 1-3 words;
- same-topic pairs (different stories sharing entities and vocabulary): the
  corpus articles with the most content words in common (the corpus holds
  independent reports of one event, e.g. two outlets on one court case), and
  each long article cut into its first and second half, both under its headline;
- negatives: every pair of documents from different corpus articles.

The fingerprint's parameters and threshold are chosen on half A only; every
figure printed after "held out" is measured on half B. The baseline, measured
in the same run: a 64-bit SimHash over word 3-shingles at Hamming distance <= 3
(the figure the issue quotes), with the usual 4 x 16-bit band index.

Lookup cost: a real SQLite file holding N stored fingerprints (100,000; 10,000
with --quick) in the shape storage keeps them — a table of fingerprints and a
table of (band key, article id) with an index on the key — then, per query:
one SELECT of the candidates sharing a band key, one SELECT of their
fingerprints, `same_story` on each. The stored articles are half B's originals
plus synthetic fingerprints whose shingle sets mimic the corpus: each takes the
size of a real article's set and the same share of shingles that also occur in
other corpus articles, drawn by their frequency; the rest are unique. All of
them count as inside the window (the worst case).

    .venv/bin/python bench/clusters.py [--quick] [--stored N] [--corpus DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clusters_data import Doc, LabelledSet, Story, labelled_set, load_stories, split_half

from monitor.normalize.fingerprint import (
    MAX_WORDS,
    SCHEME,
    Scheme,
    band_keys,
    fingerprint,
    normalise_words,
    same_story,
)

__all__ = ["main"]

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
CURVE = [round(0.05 * step, 2) for step in range(1, 20)]
GRID = [round(0.01 * step, 2) for step in range(1, 100)]
# (words per shingle, bins, short-word length) tried on half A, each with 2, 3 and 4 rows/band
GRID_SCHEMES = [(w, b, s) for w in (1, 2, 3) for b in (128, 256) for s in (0, 3)]
QUICK_GRID = [(2, 128, 3), (3, 128, 3)]
GOALS = "goals: precision >= 0.98, recall >= 0.95, same-topic apart >= 0.98, lookup < 2 ms"


@dataclass(frozen=True)
class Method:
    """A fingerprint as storage would use it: shingles -> sketch -> band keys -> decision."""

    name: str
    fingerprint: Callable[[str, str], bytes | None]
    shingles: Callable[[str, str], set[int] | None]
    sketch: Callable[[set[int]], bytes]
    keys: Callable[[bytes], list[int]]
    score: Callable[[bytes, bytes], float]  # the higher, the more alike
    match: Callable[[bytes, bytes], bool]


@dataclass(frozen=True)
class Scores:
    """Scores of the labelled pairs of one half, and whether each pair shares a band key."""

    positives: list[tuple[float, bool]]
    same_topic: list[float]
    negatives: list[tuple[float, bool]]


@dataclass(frozen=True)
class Point:
    threshold: float
    precision: float
    recall: float
    recall_index: float
    apart: float


def scheme_method(scheme: Scheme) -> Method:
    return Method(
        name=(
            f"MinHash {scheme.shingle}-shingles, {scheme.bins} bins, {scheme.rows} rows/band, "
            f"short<={scheme.short}"
        ),
        fingerprint=scheme.fingerprint,
        shingles=scheme.shingles,
        sketch=scheme.sketch,
        keys=scheme.band_keys,
        score=scheme.similarity,
        match=lambda a, b: scheme.similarity(a, b) >= scheme.threshold,
    )


def shipped_method() -> Method:
    """The public functions newsmon itself calls."""
    return Method(
        name=scheme_method(SCHEME).name,
        fingerprint=fingerprint,
        shingles=SCHEME.shingles,
        sketch=SCHEME.sketch,
        keys=band_keys,
        score=SCHEME.similarity,
        match=same_story,
    )


# -- the baseline: 64-bit SimHash over word 3-shingles, Hamming <= 3 ---------------------


def simhash_shingles(title: str, text: str) -> set[int] | None:
    words = normalise_words(title + " " + text)[:MAX_WORDS]
    if len(words) < 3:
        return None
    return {
        int.from_bytes(hashlib.blake2b(" ".join(words[i : i + 3]).encode(), digest_size=8).digest())
        for i in range(len(words) - 2)
    }


def simhash_sketch(hashes: set[int]) -> bytes:
    bits = [format(value, "064b") for value in hashes]
    half = len(bits) / 2
    value = 0
    for column in zip(*bits, strict=True):
        value = (value << 1) | (column.count("1") > half)
    return value.to_bytes(8, "big")


def simhash_distance(a: bytes, b: bytes) -> int:
    return (int.from_bytes(a) ^ int.from_bytes(b)).bit_count()


def simhash_method() -> Method:
    def fp(title: str, text: str) -> bytes | None:
        hashes = simhash_shingles(title, text)
        return None if hashes is None else simhash_sketch(hashes)

    return Method(
        name="SimHash 64-bit, 3-shingles, Hamming <= 3 (baseline)",
        fingerprint=fp,
        shingles=simhash_shingles,
        sketch=simhash_sketch,
        # 4 bands of 16 bits: two hashes within 3 bits agree on at least one band
        keys=lambda fp: [
            (band << 16) | int.from_bytes(fp[2 * band : 2 * band + 2]) for band in range(4)
        ],
        score=lambda a, b: 1 - simhash_distance(a, b) / 64,
        match=lambda a, b: simhash_distance(a, b) <= 3,
    )


# -- scoring and choosing -------------------------------------------------------------------


def score(method: Method, labelled: LabelledSet, fps: list[bytes | None] | None = None) -> Scores:
    """Every labelled pair's score and whether it shares a band key (`fps` when known)."""
    if fps is None:
        fps = [method.fingerprint(doc.title, doc.body) for doc in labelled.docs]
    keys = [set(method.keys(fp)) if fp is not None else set() for fp in fps]

    def pair(i: int, j: int) -> tuple[float, bool]:
        a, b = fps[i], fps[j]
        if a is None or b is None:
            return 0.0, False
        return method.score(a, b), not keys[i].isdisjoint(keys[j])

    return Scores(
        positives=[pair(i, j) for i, j in labelled.positives],
        same_topic=[pair(i, j)[0] for i, j in labelled.same_topic],
        negatives=[pair(i, j) for i, j in labelled.negatives],
    )


def rescore(
    scores: Scores, method: Method, labelled: LabelledSet, fps: list[bytes | None]
) -> Scores:
    """`scores` with the band-key sharing of another banding of the same sketches."""
    keys = [set(method.keys(fp)) if fp is not None else set() for fp in fps]

    def shared(
        pairs: list[tuple[int, int]], old: list[tuple[float, bool]]
    ) -> list[tuple[float, bool]]:
        return [
            (s, not keys[i].isdisjoint(keys[j])) for (i, j), (s, _) in zip(pairs, old, strict=True)
        ]

    return Scores(
        positives=shared(labelled.positives, scores.positives),
        same_topic=scores.same_topic,
        negatives=shared(labelled.negatives, scores.negatives),
    )


def point(scores: Scores, threshold: float) -> Point:
    hits = sum(1 for s, _ in scores.positives if s >= threshold)
    found = sum(1 for s, shared in scores.positives if s >= threshold and shared)
    false = sum(1 for s, _ in scores.negatives if s >= threshold)
    false += sum(1 for s in scores.same_topic if s >= threshold)
    apart = sum(1 for s in scores.same_topic if s < threshold)
    return Point(
        threshold,
        precision=hits / (hits + false) if hits + false else 1.0,
        recall=hits / len(scores.positives),
        recall_index=found / len(scores.positives),
        apart=apart / len(scores.same_topic),
    )


def choose_threshold(scores: Scores) -> float:
    """Midway between the lowest threshold that keeps precision and separation >= 0.99
    and the highest that keeps recall >= 0.97 (the lowest safe one if they cross)."""
    points = [point(scores, t) for t in GRID]
    safe = [p.threshold for p in points if p.precision >= 0.99 and p.apart >= 0.99]
    low = safe[0] if safe else GRID[-1]
    recalled = [p.threshold for p in points if p.recall >= 0.97]
    high = recalled[-1] if recalled else low
    return round((low + high) / 2, 2) if high > low else low


@dataclass(frozen=True)
class Candidate:
    """One scheme's figures on half A at the threshold chosen for it there."""

    scheme: Scheme
    at: Point
    expected: float  # recall through the index expected from the copies' similarities
    candidates: float  # share of other-story pairs sharing a band key

    def rank(self) -> tuple[float, float, int]:
        # Expected recall through the index first (to the hundredth: whether a
        # given copy shares a band depends on the luck of the hash function,
        # its probability does not), then the fewest candidates to check (to
        # 10 per 100k: the noise of ~100k pairs), then the fewest band keys.
        return (-round(self.expected, 2), round(self.candidates, 4), self.scheme.bands)

    def line(self) -> str:
        s, at = self.scheme, self.at
        return (
            f"  {s.shingle}-shingles {s.bins:4} bins {s.rows} rows/band short<={s.short}  "
            f"threshold {s.threshold:.2f}  P {at.precision:.3f}  R {self.expected:.3f} "
            f"(measured {at.recall_index:.3f})  apart {at.apart:.3f}  "
            f"candidates {self.candidates * 1e5:6.1f}/100k"
        )


def choose(labelled: LabelledSet, grid: Sequence[tuple[int, int, int]]) -> list[Candidate]:
    """Every (shingle, bins, short) x rows scheme's figures on half A, the best first.

    Only schemes keeping precision and same-topic separation >= 0.99 on A qualify.
    """
    out = []
    for shingle, size, short in grid:
        base = scheme_method(Scheme(shingle=shingle, bins=size, rows=1, short=short))
        fps = [base.fingerprint(doc.title, doc.body) for doc in labelled.docs]
        scores = score(base, labelled, fps)
        threshold = choose_threshold(scores)
        for rows in (2, 3, 4):
            scheme = Scheme(shingle, size, rows, threshold, short)
            banded = rescore(scores, scheme_method(scheme), labelled, fps)
            at = point(banded, threshold)
            if at.precision < 0.99 or at.apart < 0.99:
                continue
            # a copy of similarity s shares one of b bands of r values with
            # probability 1 - (1 - s^r)^b
            expected = sum(
                1 - (1 - s**rows) ** scheme.bands for s, _ in scores.positives if s >= threshold
            ) / len(scores.positives)
            shared = sum(1 for _, hit in banded.negatives if hit) / len(banded.negatives)
            out.append(Candidate(scheme, at, expected, shared))
    return sorted(out, key=Candidate.rank)


# -- lookup cost --------------------------------------------------------------------------


def background(method: Method, stories: list[Story], count: int, seed: int) -> list[bytes]:
    """`count` synthetic fingerprints with the corpus's shingle-set sizes and shared share."""
    sets = [s for s in (method.shingles(st.title, st.body) for st in stories) if s]
    frequency = Counter(value for shingles in sets for value in shingles)
    shared = [v for v, n in frequency.items() if n > 1]
    weights = [frequency[v] for v in shared]
    profile = [(len(s), sum(1 for v in s if frequency[v] > 1)) for s in sets]
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        size, common = rng.choice(profile)
        values = set(rng.choices(shared, weights, k=common))
        values.update(rng.getrandbits(64) for _ in range(size - common))
        out.append(method.sketch(values))
    return out


def lookup_cost(
    method: Method, stored: list[bytes], originals: list[bytes], queries: list[tuple[bytes, int]]
) -> tuple[float, float, float, float]:
    """Median and p95 ms per lookup, mean candidates, share of queries finding their original."""
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "index.db")
        db.executescript(
            "CREATE TABLE article_fp (id INTEGER PRIMARY KEY, fp BLOB NOT NULL);"
            "CREATE TABLE band (key INTEGER NOT NULL, article_id INTEGER NOT NULL);"
        )
        everything = originals + stored
        db.executemany("INSERT INTO article_fp VALUES (?, ?)", enumerate(everything))
        db.executemany(
            "INSERT INTO band VALUES (?, ?)",
            ((key, i) for i, fp in enumerate(everything) for key in method.keys(fp)),
        )
        db.execute("CREATE INDEX band_key ON band (key)")
        db.commit()
        db.execute("ANALYZE")
        times, candidates, found = [], [], 0
        for fp, original in queries:
            start = time.perf_counter()
            keys = method.keys(fp)
            marks = ",".join("?" * len(keys))
            ids = [
                row[0]
                for row in db.execute(
                    f"SELECT DISTINCT article_id FROM band WHERE key IN ({marks})", keys
                )
            ]
            matches = [
                row[0]
                for row in db.execute(
                    f"SELECT id, fp FROM article_fp WHERE id IN ({','.join('?' * len(ids))})", ids
                )
                if method.match(fp, row[1])
            ]
            times.append(time.perf_counter() - start)
            candidates.append(len(ids))
            found += original in matches
        db.close()
    times.sort()
    return (
        statistics.median(times) * 1e3,
        times[int(len(times) * 0.95)] * 1e3,
        statistics.fmean(candidates),
        found / len(queries),
    )


def cost_per_article(method: Method, docs: list[Doc]) -> float:
    """CPU µs per fingerprint (CPU time: the machine may be shared)."""
    start = time.process_time()
    for doc in docs:
        method.fingerprint(doc.title, doc.body)
    return (time.process_time() - start) / len(docs) * 1e6


# -- the run ------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer copies, schemes, stored")
    parser.add_argument("--stored", type=int, help="fingerprints in the lookup index")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args(argv)
    if not (args.corpus / "articles").is_dir():
        print(f"clusters: no corpus at {args.corpus} (see tests/conftest.py: corpus)")
        return 2
    stored = args.stored or (10_000 if args.quick else 100_000)
    copies = 2 if args.quick else 5
    stories = load_stories(args.corpus)
    vocabulary = sorted({w for st in stories for w in st.body.split() if w.isalpha()})
    half = {name: [st for st in stories if split_half(st.id) == name] for name in "AB"}
    set_a = labelled_set(half["A"], copies, seed=1101, vocabulary=vocabulary)
    set_b = labelled_set(half["B"], copies, seed=1102, vocabulary=vocabulary)
    for name, labelled in (("A", set_a), ("B", set_b)):
        print(
            f"half {name}: {len(half[name])} articles, {len(labelled.positives)} syndicated "
            f"copies, {len(labelled.same_topic)} same-topic pairs, "
            f"{len(labelled.negatives)} other pairs"
        )

    print("\nchosen on half A (parameters and threshold; the shipped scheme must be the first):")
    grid = QUICK_GRID if args.quick else GRID_SCHEMES
    ranked = choose(set_a, grid)
    print("\n".join(candidate.line() for candidate in ranked[:8]))
    print(f"  ({len(ranked)} qualified of {3 * len(grid)}; best 8 shown)")
    verdict = "the best on A" if ranked and ranked[0].scheme == SCHEME else "NOT the best on A"
    if args.quick:
        verdict += " (--quick: fewer copies and schemes; the full run is the one that decides)"
    print(f"  shipped: {scheme_method(SCHEME).name}, threshold {SCHEME.threshold:.2f}: {verdict}")

    ours, baseline = shipped_method(), simhash_method()
    scores_b, base_b = score(ours, set_b), score(baseline, set_b)
    print(f"\nheld out: half B, {ours.name}")
    print("threshold  precision  recall  recall(index)  same-topic apart")
    for t in sorted({*CURVE, SCHEME.threshold}):
        p = point(scores_b, t)
        mark = "  <- chosen" if t == SCHEME.threshold else ""
        print(
            f"     {t:.2f}      {p.precision:.3f}   {p.recall:.3f}          "
            f"{p.recall_index:.3f}             {p.apart:.3f}{mark}"
        )
    mine = point(scores_b, SCHEME.threshold)
    base = point(base_b, 1 - 3 / 64)

    originals = [i for i, doc in enumerate(set_b.docs) if doc.kind == "original"]
    position = {doc_index: n for n, doc_index in enumerate(originals)}
    results = {}
    for method in (ours, baseline):
        fps = [method.fingerprint(set_b.docs[i].title, set_b.docs[i].body) for i in originals]
        queries = []
        for i, j in set_b.positives:
            fp = method.fingerprint(set_b.docs[j].title, set_b.docs[j].body)
            if fp is not None:
                queries.append((fp, position[i]))
        background_fps = background(method, stories, stored - len(fps), seed=1103)
        results[method.name] = (
            cost_per_article(method, set_b.docs),
            lookup_cost(method, background_fps, [f or b"" for f in fps], queries),
        )

    print(f"\nsame half B, at the chosen threshold; lookup with {stored:,} stored fingerprints")
    print(
        "method                                               precision  recall  apart  "
        "fingerprint  lookup median/p95  candidates  found"
    )
    for method, at in ((ours, mine), (baseline, base)):
        micro, (mean, p95, cands, found) = results[method.name]
        print(
            f"{method.name:52} {at.precision:9.3f}  {at.recall_index:6.3f}  {at.apart:5.3f}  "
            f"{micro:6.0f} µs  {mean:8.2f}/{p95:5.2f} ms  {cands:10.1f}  {found:5.3f}"
        )
    real = sum(1 for _, hit in scores_b.negatives if hit) / len(scores_b.negatives)
    print(
        f"(fingerprint: CPU time per article; lookup: wall time of the two SELECTs and the "
        f"checks; candidates: on the synthetic store; half B's real other-story pairs share a "
        f"band key at {real * 1e5:.1f} per 100k)"
    )
    print(GOALS)
    micro, (mean, _, _, _) = results[ours.name]
    base_micro, (base_mean, _, _, _) = results[baseline.name]
    if base.recall_index:
        gain = f" ({mine.recall_index / base.recall_index:.1f}x)"
    else:
        gain = " (the baseline found none)"
    print(
        f"ratio: recall {mine.recall_index:.3f} vs the baseline's {base.recall_index:.3f}{gain}; "
        f"precision {mine.precision:.3f} vs {base.precision:.3f}; same-topic apart "
        f"{mine.apart:.3f} vs {base.apart:.3f}; fingerprint {micro / base_micro:.2f}x and "
        f"lookup {mean / base_mean:.1f}x the baseline's (median) time"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
