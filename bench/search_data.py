"""The generated archive of `bench/search.py`: deterministic news-like articles.

Titles and bodies are drawn from a Zipf-ish vocabulary: common English words at
the top, then news words and names (ASEAN, Russia, Cambodia, election, Phnom
Penh, Hun Sen...) and a long tail of invented words, so a search for a news word
finds thousands of articles and a tail word a handful. Bodies (1–3 kB) are built
from a pool of generated sentences plus a few words of their own; 5 % are
backfilled (published long before they were stored), 10 % have no publication
date, 5 % were also seen on a second source. Everything comes from seeded
`random.Random` objects: the same size and seed give the same archive.

Rows go in with SQLAlchemy Core bulk inserts into the schema the migrations
built (`Store.open`), with `body_indexed` set, so the full-text index (FTS5
triggers, the generated tsvector column) is the real one. On PostgreSQL the
generated column costs ~10 ms per 2 kB article on this machine: 200,000 take
~40 minutes to load.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate

from storage.models import ARTICLE, SIGHTING, SOURCE
from storage.store import Store

__all__ = ["BIG_SOURCE", "NEWS_WORDS", "SOURCES", "Archive", "fill"]

_COMMON_TEXT = (
    "the of and to in a is that for on was with he it as at by from his be an has are "
    "have but not they this had which were said their been its who will would after "
    "more also new one two year years people first last over about than into some "
    "other could when up out most only before there can while under during against "
    "three between since where many because state told week month day officials "
    "country local public report police court city group national according those"
)
COMMON = _COMMON_TEXT.split()
# News words and names, ranked by how often they appear (a phrase counts as one word).
_NEWS_TEXT = (
    "government minister election Cambodia police economy China trade Russia ASEAN "
    "president parliament security Thailand Vietnam prime_minister vote market "
    "investment Phnom_Penh Hun_Sen flood border protest opposition Russian Russians "
    "military health budget farmers rice garment factory workers tourism energy "
    "Bangkok Hanoi Jakarta Manila Indonesia Philippines Malaysia Singapore Laos Myanmar "
    "Japan Korea India Europe Ukraine sanctions summit treaty ceasefire typhoon drought "
    "inflation currency exports imports court_ruling corruption journalist democracy"
)
NEWS_WORDS = _NEWS_TEXT.split()
SOURCES = (
    "Khmer Times",
    "Phnom Penh Post",
    "VOD",
    "Reuters Asia",
    "AP World",
    "Bangkok Post",
    "VnExpress",
    "Jakarta Globe",
    "Kyodo",
    "Bernama",
    *(f"Regional Wire {n}" for n in range(1, 41)),
)
BIG_SOURCE = SOURCES[0]
_TAIL_WORDS = 20_000
_SENTENCES = 60_000
_START = datetime(2024, 1, 1, tzinfo=UTC)
_SPAN = timedelta(days=730)


def _invented(rng: random.Random) -> str:
    syllables = ("ka", "ro", "mi", "ten", "sa", "lu", "vor", "ni", "pha", "del", "quo", "zu")
    return "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))


@dataclass
class Archive:
    """The generator for `size` articles from `seed`."""

    size: int
    seed: int

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        tail = list(dict.fromkeys(_invented(rng) for _ in range(_TAIL_WORDS * 2)))[:_TAIL_WORDS]
        news = [w.replace("_", " ") for w in NEWS_WORDS]
        # Common words first, the invented tail last: weight ~1/rank. News words are
        # drawn apart, about one sentence in sixteen, so "election" is in a few percent of
        # the articles and the rarest news words in a fraction of one percent.
        vocabulary = COMMON + tail
        self._words = vocabulary
        self._cum = list(accumulate(1 / (rank + 1) ** 1.05 for rank in range(len(vocabulary))))
        self._news = news
        self._news_cum = list(accumulate(1 / (rank + 2) for rank in range(len(news))))
        self._tail = tail
        self._sentences = [self._sentence(rng) for _ in range(_SENTENCES)]

    def _sentence(self, rng: random.Random) -> str:
        words = rng.choices(self._words, cum_weights=self._cum, k=rng.randint(8, 22))
        if rng.random() < 0.06:
            news = rng.choices(self._news, cum_weights=self._news_cum)[0]
            words.insert(rng.randrange(len(words)), news)
        return words[0][:1].upper() + " ".join(words)[1:] + "."

    def title(self, rng: random.Random) -> str:
        """A headline: news words among common and tail words."""
        news = rng.choices(self._news, cum_weights=self._news_cum, k=rng.randint(1, 2))
        other = rng.choices(self._words, cum_weights=self._cum, k=rng.randint(3, 7))
        words = news + other
        rng.shuffle(words)
        return words[0][:1].upper() + " ".join(words)[1:]

    def body(self, rng: random.Random) -> str:
        """1–3 kB of sentences, a paragraph break every few."""
        target = rng.randint(1000, 3000)
        parts: list[str] = []
        size = 0
        while size < target:
            sentence = rng.choice(self._sentences)
            if rng.random() < 0.2:
                sentence += " " + " ".join(rng.choices(self._tail, k=3)).capitalize() + "."
            parts.append(sentence)
            size += len(sentence) + 1
            if len(parts) % 5 == 0:
                parts.append("\n\n")
        return " ".join(parts).replace(" \n\n ", "\n\n")

    def rows(self, start: int, stop: int) -> Iterator[tuple[dict[str, object], int | None]]:
        """Article rows with ids start+1..stop, each with a second source that saw it (or None)."""
        for article_id in range(start + 1, stop + 1):
            rng = random.Random(self.seed * 1_000_003 + article_id)
            fetched = _START + _SPAN * (article_id / self.size)
            roll = rng.random()
            if roll < 0.05:
                published: datetime | None = fetched - timedelta(days=rng.uniform(30, 700))
            elif roll < 0.15:
                published = None
            else:
                published = fetched - timedelta(minutes=rng.uniform(1, 600))
            source = min(int(rng.paretovariate(0.8)) - 1, len(SOURCES) - 1)
            title = self.title(rng)
            body = self.body(rng)
            url = f"https://news{source}.example/{article_id}"
            row = {
                "id": article_id,
                "source_id": source + 1,
                "guid": url,
                "url": url,
                "canonical_url": url,
                "url_key": url,
                "title": title,
                "summary": body[: rng.randint(120, 300)].rsplit(" ", 1)[0],
                "body": body,
                "author": None,
                "lang": "en",
                "published_at": published,
                "fetched_at": fetched,
                "updated_at": None,
                "content_hash": hashlib.sha1(body.encode()).hexdigest(),
                "cluster_id": article_id,
                "pruned": False,
                "body_indexed": True,
            }
            seen_by = rng.randrange(len(SOURCES)) + 1 if rng.random() < 0.05 else None
            yield row, None if seen_by == source + 1 else seen_by


def fill(store: Store, archive: Archive, *, batch: int = 5000, progress: bool = True) -> None:
    """Insert the sources and `archive.size` articles (and their sightings) into `store`."""
    with store.engine.begin() as conn:
        conn.execute(
            SOURCE.insert(),
            [
                {
                    "id": n + 1,
                    "name": name,
                    "url": f"https://news{n}.example/feed",
                    "interval_seconds": 900,
                    "created_at": _START,
                    "active": True,
                    "paused": False,
                }
                for n, name in enumerate(SOURCES)
            ],
        )
    for start in range(0, archive.size, batch):
        rows, sightings = [], []
        for row, seen_by in archive.rows(start, min(start + batch, archive.size)):
            rows.append(row)
            if seen_by is not None:
                sightings.append(
                    {
                        "article_id": row["id"],
                        "source_id": seen_by,
                        "guid": f"{row['guid']}#copy",
                        "url": f"{row['url']}?copy",
                        "seen_at": row["fetched_at"],
                    }
                )
        with store.engine.begin() as conn:
            conn.execute(ARTICLE.insert(), rows)
            if sightings:
                conn.execute(SIGHTING.insert(), sightings)
        if progress and (start // batch) % 20 == 19:
            print(f"  {start + len(rows):,} / {archive.size:,} articles", flush=True)
