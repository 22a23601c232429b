"""Rule matching throughput: the engine against a regex per term and the raw scanner.

20,000 generated articles (~3 kB each: title, summary, body; 15% with curly
quotes, dashes and accented names, so the Unicode path is measured too) are
matched against rule sets of 10, 1,000 and 10,000 terms. Terms are entity
names (one and two words) and prefixes; rules mix keyword lists, AND/OR/NOT,
phrases, ``title:`` fields and NEAR. Three methods, same run:

- engine: `Matcher.names(doc)` — one Aho-Corasick pass, then the trees of the rules hit;
- (a) a loop of one compiled regex per term (Unicode word boundaries) over the
  folded fields, then the same boolean trees evaluated by a separate, naive
  reference evaluator (run on as many articles as fit in a time budget);
- (b) the raw scanner alone: fold the text, one pyahocorasick pass over it with
  every term, no boundaries, no rules.

It prints MB/s of each, the ratios, and whether the engine's match set equals
(a)'s on the articles (a) covered. Not a test.

Measured on a 2-core box with other test suites running (61.5 MB; engine and
(b) alternate in chunks of 250 articles; six runs, the spread of vs (b) shown):

    terms   engine     (b) raw    vs (b)        vs (a)   identical
       10   47 MB/s    53 MB/s    0.87-0.93x    ~10x     yes
    1,000   43 MB/s    45 MB/s    0.92-0.96x    ~600x    yes
   10,000   34 MB/s    40 MB/s    0.82-0.87x    ~4,400x  yes

Before the engine skipped texts that hold no term's first word, kept runs of
spaces instead of collapsing them, and left alone the rules a hit settles
(``a OR b``), it ran at 0.68-0.73x, 0.76-0.78x and 0.60-0.66x of (b).

    .venv/bin/python bench/match.py [--quick] [--articles N]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import ahocorasick

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from monitor.match.query import And, Near, Node, Not, Or, Term
from monitor.match.rules import Document, RuleSpec, compile_rules
from monitor.match.text import fold_text

__all__ = ["main"]

FILLER_SYLLABLES = ["ka", "to", "ri", "mo", "sa", "ne", "lu", "pa", "di", "te", "ma", "no"]
ENTITY_SYLLABLES = ["gor", "vel", "bra", "xan", "qui", "zor", "dré", "kul", "yth", "wen", "jov"]


def _word(rng: random.Random, syllables: Sequence[str], low: int, high: int) -> str:
    return "".join(rng.choice(syllables) for _ in range(rng.randint(low, high)))


def vocabulary(rng: random.Random) -> tuple[list[str], list[str]]:
    filler = list({_word(rng, FILLER_SYLLABLES, 1, 4) for _ in range(4000)})
    entities: set[str] = set()
    while len(entities) < 40_000:
        # A final syllable no other starts with: no name is the prefix of another.
        name = (_word(rng, ENTITY_SYLLABLES, 1, 3) + rng.choice(["ia", "ar", "um"])).capitalize()
        if rng.random() < 0.25:
            name += " " + _word(rng, ENTITY_SYLLABLES, 2, 3).capitalize()
        entities.add(name)
    return sorted(filler), sorted(entities)


def articles(
    rng: random.Random, count: int, filler: list[str], entities: list[str]
) -> list[Document]:
    docs = []
    clusters = [entities[i : i + 30] for i in range(0, len(entities), 30)]
    for _ in range(count):
        cluster = rng.choice(clusters)
        fancy = rng.random() < 0.15

        def text(words: int, cluster: list[str] = cluster, fancy: bool = fancy) -> str:
            out = []
            for _ in range(words):
                roll = rng.random()
                if roll < 0.02:
                    out.append(rng.choice(cluster) + ("n" if rng.random() < 0.1 else ""))
                elif roll < 0.03:
                    out.append(rng.choice(entities))
                else:
                    out.append(rng.choice(filler))
                if rng.random() < 0.08:
                    out[-1] += rng.choice(
                        [",", ".", ";"] + (["\u2019s", " \u2014", "\u201d"] if fancy else [])
                    )
            return " ".join(out)

        docs.append(Document(title=text(9), summary=text(35), body=text(330)))
    return docs


def rules(rng: random.Random, terms: int, entities: list[str]) -> list[RuleSpec]:
    out: list[RuleSpec] = []
    clusters = [entities[i : i + 30] for i in range(0, len(entities), 30)]
    total = 0
    while total < terms:
        t = rng.sample(rng.choice(clusters), 5)
        prefix = t[4].split()[0] + "*"  # like Russia*: the name and its derived forms
        shape = len(out) % 4
        if shape == 0:
            spec = RuleSpec(f"r{len(out)}", (*t[:4], prefix))
        elif shape == 1:
            spec = RuleSpec(
                f"r{len(out)}", query=f'"{t[0]}" OR {prefix} OR "{t[1]}" OR "{t[2]}" OR "{t[3]}"'
            )
        elif shape == 2:
            spec = RuleSpec(
                f"r{len(out)}", query=f'("{t[0]}" OR "{t[1]}") AND ("{t[2]}" OR "{t[3]}") -"{t[4]}"'
            )
        else:
            spec = RuleSpec(
                f"r{len(out)}",
                query=f'"{t[0]}" NEAR/40 ("{t[1]}" OR "{t[2]}") OR title:"{t[3]}" OR {prefix}',
            )
        out.append(spec)
        total += _term_count(spec)
    return out


def _term_count(rule: RuleSpec) -> int:
    return len(_terms(rule.tree()))


def _terms(node: Node) -> list[Term]:
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return _terms(node.child)
    if isinstance(node, Near):
        return [*node.left, *node.right]
    return [t for child in node.children for t in _terms(child)]


# --- (a): one regex per term, naive reference evaluation --------------------------

_TOKEN = re.compile(r"\w+")
_FIELDS: dict[str | None, tuple[int, ...]] = {None: (0, 1, 2), "title": (0,), "body": (1, 2)}


def term_regex(term: Term) -> re.Pattern[str]:
    words = _TOKEN.findall(fold_text(term.text))
    body = r"\W+".join(re.escape(w) for w in words)
    return re.compile(r"(?<!\w)" + body + ("" if term.prefix else r"(?!\w)"))


class RegexLoop:
    def __init__(self, specs: Sequence[RuleSpec]) -> None:
        self.trees = [(spec.name, spec.tree()) for spec in specs]
        self.regexes = {t: term_regex(t) for _, tree in self.trees for t in _terms(tree)}

    def names(self, doc: Document) -> list[str]:
        fields = [fold_text(p) for p in doc.parts()]
        starts = [[m.start() for m in _TOKEN.finditer(f)] for f in fields]
        hits: dict[Term, list[tuple[int, int, int]]] = {}
        for term, regex in self.regexes.items():
            found = []
            for f in _FIELDS[term.field]:
                for m in regex.finditer(fields[f]):
                    first = _index(starts[f], m.start())
                    last = _index(starts[f], m.end() - 1)
                    found.append((f, first, last))
            hits[term] = found
        return [name for name, tree in self.trees if _holds(tree, hits)]


def _index(starts: list[int], offset: int) -> int:
    from bisect import bisect_right

    return bisect_right(starts, offset) - 1


def _holds(node: Node, hits: dict[Term, list[tuple[int, int, int]]]) -> bool:
    if isinstance(node, Term):
        return bool(hits[node])
    if isinstance(node, Not):
        return not _holds(node.child, hits)
    if isinstance(node, And):
        return all(_holds(c, hits) for c in node.children)
    if isinstance(node, Or):
        return any(_holds(c, hits) for c in node.children)
    lefts = [h for t in node.left for h in hits[t]]
    rights = [h for t in node.right for h in hits[t]]
    for a in lefts:
        for b in rights:
            if a[0] == b[0] and a != b:
                gap = b[1] - a[2] - 1 if a[2] < b[1] else a[1] - b[2] - 1 if b[2] < a[1] else 0
                if gap <= node.distance:
                    return True
    return False


# --- (b): the raw scanner ------------------------------------------------------------


def raw_scanner(specs: Sequence[RuleSpec]) -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for spec in specs:
        for term in _terms(spec.tree()):
            key = fold_text(term.text)
            automaton.add_word(key, key)
    automaton.make_automaton()
    return automaton


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 articles, short budgets")
    parser.add_argument("--articles", type=int, default=None)
    args = parser.parse_args()
    count = args.articles or (2_000 if args.quick else 20_000)
    budget = 2.0 if args.quick else 8.0
    rng = random.Random(7)
    filler, entities = vocabulary(rng)
    docs = articles(rng, count, filler, entities)
    size = sum(len(p) for d in docs for p in d.parts()) / 1e6
    print(f"{count} articles, {size:.1f} MB (title + summary + body)")
    print(
        f"{'terms':>6} {'rules':>6} {'compile':>8} {'engine':>9} {'(a) regex':>10} "
        f"{'(b) raw':>9} {'vs (a)':>8} {'vs (b)':>7} {'matches':>8}  identical"
    )
    for terms in (10, 1_000, 10_000):
        specs = rules(rng, terms, entities)
        start = time.perf_counter()
        matcher = compile_rules(specs)
        compile_s = time.perf_counter() - start

        # Interleaved in chunks, so a busy machine slows both methods alike.
        automaton = raw_scanner(specs)
        engine: list[list[str]] = []
        engine_s = raw_s = 0.0
        for chunk in range(0, len(docs), 250):
            part = docs[chunk : chunk + 250]
            start = time.perf_counter()
            engine.extend(matcher.names(doc) for doc in part)
            engine_s += time.perf_counter() - start
            start = time.perf_counter()
            for doc in part:
                list(automaton.iter(fold_text(doc.text())))
            raw_s += time.perf_counter() - start
        engine_rate, raw_rate = size / engine_s, size / raw_s

        loop = RegexLoop(specs)
        start, done, covered = time.perf_counter(), 0, 0.0
        identical = True
        while done < len(docs) and (done < 3 or time.perf_counter() - start < budget):
            identical &= loop.names(docs[done]) == engine[done]
            covered += sum(len(p) for p in docs[done].parts()) / 1e6
            done += 1
        regex_rate = covered / (time.perf_counter() - start)

        print(
            f"{_term_total(specs):>6} {len(specs):>6} {compile_s:>7.2f}s {engine_rate:>6.1f} MB/s "
            f"{regex_rate:>6.3f} MB/s {raw_rate:>5.1f} MB/s {engine_rate / regex_rate:>7.0f}x "
            f"{engine_rate / raw_rate:>6.2f}x {sum(map(len, engine)):>8}  "
            f"{'yes' if identical else 'NO'} ({done} articles)"
        )


def _term_total(specs: Sequence[RuleSpec]) -> int:
    return sum(_term_count(s) for s in specs)


if __name__ == "__main__":
    main()
