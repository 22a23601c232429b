"""The labelled set of `bench/clusters.py`: corpus stories, syndicated copies, hard pairs.

Read in place from the shared corpus (`articles/*.json`, the human-annotated
bodies); nothing is copied. Everything random comes from seeded
`random.Random` objects, so a run is reproducible.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

__all__ = [
    "Doc",
    "LabelledSet",
    "Story",
    "labelled_set",
    "load_stories",
    "split_half",
]

MIN_BODY_WORDS = 100
OUTLETS = (
    "Fresh News",
    "Khmer Times",
    "VOD",
    "the Associated Press",
    "Reuters",
    "The Conversation",
    "Kyodo",
    "Bernama",
)
LEADS = (
    "This article was first published by {outlet}.",
    "({outlet}) —",
    "Editor's note: this story was originally published by {outlet} and is republished here.",
    "By {outlet} staff",
)
TRAILERS = (
    "This article was first published by {outlet}.",
    "This story was originally published by {outlet} and is republished with permission.",
    "Read the original article on {outlet}.",
    "Copyright {outlet}. All rights reserved. Follow us for more news.",
    "Additional reporting by {outlet}; editing by the news desk.",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December",
)  # fmt: skip
_DATE = re.compile(
    r"\b(?:" + "|".join(WEEKDAYS + MONTHS) + r"|yesterday|today|last week|\d{1,2}|(?:19|20)\d\d)\b",
    re.IGNORECASE,
)
_QUOTE = re.compile(r"[\"“]([^\"”]{20,400})[\"”]")
_CONTENT_WORD = re.compile(r"[^\W\d_]{4,}")
_STOP = frozenset(
    [
        "that",
        "this",
        "with",
        "from",
        "have",
        "they",
        "their",
        "there",
        "were",
        "which",
        "would",
        "about",
        "been",
        "said",
        "will",
        "also",
        "more",
        "into",
        "than",
        "when",
        "what",
        "them",
        "some",
        "could",
        "other",
        "after",
        "over",
        "most",
        "only",
        "then",
        "such",
        "these",
        "those",
        "just",
        "like",
        "because",
        "where",
        "while",
        "being",
        "before",
        "many",
        "very",
        "your",
    ]
)


@dataclass(frozen=True)
class Story:
    """One corpus article: its id, headline and body text."""

    id: str
    title: str
    body: str


@dataclass(frozen=True)
class Doc:
    """An article as the fingerprint sees it; `story` names the story it is a copy of."""

    story: str
    title: str
    body: str
    kind: str  # "original", "copy", or "same-topic"


@dataclass(frozen=True)
class LabelledSet:
    """Documents and labelled pairs (indexes into `docs`) of one half of the corpus."""

    docs: list[Doc]
    positives: list[tuple[int, int]]  # original, syndicated copy
    same_topic: list[tuple[int, int]]  # different stories sharing entities and vocabulary
    # every pair of documents from different corpus articles (a split half is
    # never paired with its own article, which contains it)
    negatives: list[tuple[int, int]]


def load_stories(corpus: Path) -> list[Story]:
    """Corpus articles with a human-annotated body of at least `MIN_BODY_WORDS` words."""
    stories = []
    for path in sorted((corpus / "articles").glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        body = record.get("body_text") or ""
        if len(body.split()) < MIN_BODY_WORDS:
            continue
        hints = record.get("hints") or {}
        title = record.get("title") or hints.get("og_title") or hints.get("jsonld_headline") or ""
        stories.append(Story(record["id"], title, body))
    return stories


def split_half(story_id: str) -> str:
    """The fixed split: "A" or "B" by the first byte of the id's SHA-256."""
    return "A" if hashlib.sha256(story_id.encode()).digest()[0] % 2 == 0 else "B"


def labelled_set(
    stories: list[Story], copies: int, seed: int, vocabulary: list[str]
) -> LabelledSet:
    """Originals, `copies` syndicated copies of each, and the hard same-topic pairs."""
    rng = random.Random(seed)
    docs: list[Doc] = []
    positives: list[tuple[int, int]] = []
    for story in stories:
        original = len(docs)
        docs.append(Doc(story.id, story.title, story.body, "original"))
        for _ in range(copies):
            title, body = syndicated_copy(rng, story, vocabulary)
            positives.append((original, len(docs)))
            docs.append(Doc(story.id, title, body, "copy"))
    same_topic = _overlapping_pairs(docs, stories, top=max(10, len(stories) // 3))
    for story in stories:
        halves = _split_story(story)
        if halves is not None:
            same_topic.append((len(docs), len(docs) + 1))
            docs.extend(halves)
    negatives = [
        (i, j) for i, j in combinations(range(len(docs)), 2) if _family(docs[i]) != _family(docs[j])
    ]
    return LabelledSet(docs, positives, same_topic, negatives)


def _family(doc: Doc) -> str:
    """The corpus article a document comes from (a split half's too)."""
    return doc.story.partition("#")[0]


def syndicated_copy(rng: random.Random, story: Story, vocabulary: list[str]) -> tuple[str, str]:
    """A republished copy: new headline, lead/trailer, trimmed, dates, quotes and words reworded."""
    paragraphs = [p for p in re.split(r"\n\s*\n|\n", story.body) if p.strip()]
    if len(paragraphs) >= 4:  # one or two paragraphs trimmed, never the first
        for _ in range(rng.choice((1, 1, 2))):
            del paragraphs[rng.randrange(1, len(paragraphs))]
    elif len(paragraphs) > 1:
        del paragraphs[-1]
    text = "\n\n".join(paragraphs)
    text = _DATE.sub(
        lambda m: _reword_date(rng, m.group()) if rng.random() < 0.5 else m.group(), text
    )
    text = _QUOTE.sub(lambda m: "“" + _change_words(rng, m.group(1), 0.3, vocabulary) + "”", text)
    text = _change_words(rng, text, rng.uniform(0.05, 0.15), vocabulary)
    outlet = rng.choice(OUTLETS)
    roll = rng.random()
    if roll < 0.4:
        text = rng.choice(LEADS).format(outlet=outlet) + "\n\n" + text
    if roll > 0.25:
        text = text + "\n\n" + rng.choice(TRAILERS).format(outlet=outlet)
    return _new_headline(rng, story, vocabulary), text


def _new_headline(rng: random.Random, story: Story, vocabulary: list[str]) -> str:
    if rng.random() < 0.5 or not story.title:  # the lead sentence, cut short
        words = story.body.split(".")[0].split()
        start = rng.randrange(0, max(1, len(words) - 8))
        return " ".join(words[start : start + rng.randint(6, 11)]).capitalize()
    return _change_words(rng, story.title, 0.4, vocabulary) + rng.choice(
        ("", "", " – report", ": what we know", ", officials say")
    )


def _reword_date(rng: random.Random, date: str) -> str:
    if date.isdigit():
        return str(int(date) + rng.choice((-1, 1)))
    return rng.choice(
        (
            f"on {rng.choice(WEEKDAYS)}",
            f"{rng.randint(1, 28)} {rng.choice(MONTHS)}",
            f"{rng.choice(MONTHS)} {rng.randint(1, 28)}",
            "earlier this week",
        )
    )


def _change_words(rng: random.Random, text: str, rate: float, vocabulary: list[str]) -> str:
    """About `rate` of the words substituted, deleted or inserted, in runs of 1-3 words."""
    words = text.split(" ")
    out: list[str] = []
    index = 0
    while index < len(words):
        if rng.random() < rate / 2:  # a run of 2 on average
            run = rng.randint(1, 3)
            action = rng.random()
            if action < 0.6:
                out.extend(rng.choice(vocabulary) for _ in range(run))
            elif action < 0.8:
                pass  # deleted
            else:
                out.extend(rng.choice(vocabulary) for _ in range(run))
                out.extend(words[index : index + run])
            index += run
        else:
            out.append(words[index])
            index += 1
    return " ".join(out)


def _content_words(text: str) -> set[str]:
    return {w for w in _CONTENT_WORD.findall(text.casefold()) if w not in _STOP}


def _overlapping_pairs(docs: list[Doc], stories: list[Story], top: int) -> list[tuple[int, int]]:
    """The `top` pairs of different corpus articles with the most content words in common."""
    original = {doc.story: i for i, doc in enumerate(docs) if doc.kind == "original"}
    words = {story.id: _content_words(story.title + " " + story.body) for story in stories}
    scored = sorted(
        (
            (len(words[a.id] & words[b.id]) / len(words[a.id] | words[b.id]), a.id, b.id)
            for a, b in combinations(stories, 2)
        ),
        reverse=True,
    )
    return [(original[a], original[b]) for _, a, b in scored[:top]]


def _eight_grams(text: str) -> set[tuple[str, ...]]:
    words = text.casefold().split()
    return {tuple(words[i : i + 8]) for i in range(len(words) - 7)}


def _split_story(story: Story) -> tuple[Doc, Doc] | None:
    """Two same-topic stories from one long article: its first and second half, same headline."""
    paragraphs = [p for p in story.body.split("\n") if p.strip()]
    if len(paragraphs) < 4 or len(story.body.split()) < 300:
        return None
    middle = len(paragraphs) // 2
    first = "\n".join(paragraphs[:middle])
    second = "\n".join(paragraphs[middle:])
    # A page that repeats itself (a list printed twice) has no two stories in it.
    grams = [_eight_grams(first), _eight_grams(second)]
    if len(grams[0] & grams[1]) >= 0.05 * min(len(grams[0]), len(grams[1])):
        return None
    return (
        Doc(story.id + "#1", story.title, first, "same-topic"),
        Doc(story.id + "#2", story.title, second, "same-topic"),
    )
