"""Story fingerprints: copies of one story match, different stories do not."""

from __future__ import annotations

import os
import struct
import subprocess
import sys

import pytest

from monitor.normalize.fingerprint import (
    FINGERPRINT_VERSION,
    band_keys,
    fingerprint,
    same_story,
    similarity,
)

ORIGINAL_TITLE = "Russia and ASEAN agree to deepen strategic partnership"
ORIGINAL = """\
PHNOM PENH, 12 March 2025 - Russia and the Association of Southeast Asian Nations
agreed on Wednesday to deepen their strategic partnership, with ministers pledging
closer cooperation on trade, energy security and counter-terrorism.

Speaking after the meeting, Russian Foreign Minister Sergey Lavrov said the two sides
had "a shared interest in a stable and prosperous region" and that Moscow was ready to
expand its investment in infrastructure projects across the bloc.

Cambodian officials said the talks covered a new roadmap for 2025 to 2030, which
includes joint training for disaster response, scholarships for students and a working
group on digital economy standards.

ASEAN Secretary-General Kao Kim Hourn welcomed the plan and said the association would
continue to engage with all its dialogue partners in an open and inclusive manner.

Trade between Russia and ASEAN member states reached about 18 billion dollars last year,
according to figures released by the ministry, and both sides hope to double it within
the decade.
"""

SYNDICATED_TITLE = "Moscow, ASEAN pledge closer ties in new roadmap"
SYNDICATED = """\
Russia and the Association of Southeast Asian Nations agreed on Wednesday, 12 March, to
deepen their strategic partnership, with ministers pledging closer cooperation on trade,
energy security and counter-terrorism.

Speaking after the meeting, Russian Foreign Minister Sergey Lavrov said both sides had
"a common interest in a stable and prosperous region" and that Moscow was ready to
expand its investment in infrastructure projects across the bloc.

Cambodian officials said the talks covered a new roadmap for 2025 to 2030, which
includes joint training for disaster response, scholarships for students and a working
group on digital economy standards.

ASEAN Secretary-General Kao Kim Hourn welcomed the plan and said the association would
continue to engage with all its dialogue partners in an open and inclusive manner.

This article was first published by Fresh News.
"""

SAME_TOPIC_TITLE = "Russia to host ASEAN defence officials for security dialogue"
SAME_TOPIC = """\
Russia will host senior defence officials from the Association of Southeast Asian
Nations in Moscow next month for a security dialogue focused on maritime safety and
military medicine, the Russian defence ministry said on Friday.

The meeting follows an informal consultation held in Vientiane last year, where
officers discussed joint exercises, mine clearance and the exchange of cadets between
military academies.

A ministry spokesman said Russia regarded ASEAN as a central pillar of the regional
security architecture and wanted to strengthen contacts between armed forces. Several
member states have bought Russian helicopters and patrol boats in the past decade,
although sanctions have complicated payments.

Analysts in Jakarta said the bloc was likely to keep its balanced approach to the great
powers and avoid any commitment that could be read as taking sides.
"""

UNRELATED_TITLE = "City council approves new cycling lanes along the river"
UNRELATED = """\
The city council voted on Tuesday to build eight kilometres of protected cycling lanes
along the river embankment, ending a two-year debate about parking spaces and delivery
access for the shops in the old town.

The project will cost about four million euros and should be finished before the summer
festival season. Construction will start in the north, near the railway bridge, and move
south in three phases so that at least one side of the street stays open to traffic.

Shop owners said they were worried about deliveries, but the mayor promised loading zones
at every corner and a review of the scheme after one year.
"""


def _fp(title: str, text: str) -> bytes:
    """The fingerprint of an article that has enough text to get one."""
    fp = fingerprint(title, text)
    assert fp is not None, f"no fingerprint for {title!r}"
    return fp


def test_identical_articles_are_the_same_story() -> None:
    original = _fp(ORIGINAL_TITLE, ORIGINAL)
    assert similarity(original, _fp(ORIGINAL_TITLE, ORIGINAL)) == 1.0
    assert same_story(original, original)


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        (SYNDICATED_TITLE, SYNDICATED, True),  # new headline, trailer, trimmed, reworded
        (ORIGINAL_TITLE.upper(), ORIGINAL.replace(",", " ;"), True),  # case and punctuation
        (ORIGINAL_TITLE, "First published by Fresh News.\n\n" + ORIGINAL, True),
        (SAME_TOPIC_TITLE, SAME_TOPIC, False),  # another Russia-ASEAN story
        (UNRELATED_TITLE, UNRELATED, False),
    ],
    ids=["syndicated-copy", "case-and-punctuation", "added-lead", "same-topic", "unrelated"],
)
def test_syndicated_copies_match_and_other_stories_do_not(
    title: str, text: str, expected: bool
) -> None:
    original, other = _fp(ORIGINAL_TITLE, ORIGINAL), _fp(title, text)
    assert same_story(original, other) is expected
    assert same_story(other, original) is expected  # symmetric


def test_similarity_orders_copy_above_same_topic_above_unrelated() -> None:
    original = _fp(ORIGINAL_TITLE, ORIGINAL)
    copy = _fp(SYNDICATED_TITLE, SYNDICATED)
    topic = _fp(SAME_TOPIC_TITLE, SAME_TOPIC)
    assert 0.0 <= similarity(original, topic) < similarity(original, copy) <= 1.0


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("", ""),
        ("Breaking", ""),
        ("Minister resigns", "The minister resigned on Monday."),
        ("", "…  —  !!! ??? ... ---"),
        ("Scores", " ".join(str(n) for n in range(10, 90))),
        ("Breaking news", "Tap here to read more. " * 20),
    ],
    ids=["empty", "title-only", "one-sentence", "punctuation-only", "numbers", "one-line-repeated"],
)
def test_too_little_text_gives_no_fingerprint(title: str, text: str) -> None:
    assert fingerprint(title, text) is None


def test_fingerprint_is_the_same_in_another_process_with_another_hash_seed() -> None:
    here = fingerprint(ORIGINAL_TITLE, ORIGINAL)
    assert here is not None
    code = (
        "import sys; from monitor.normalize.fingerprint import fingerprint; "
        "print(fingerprint(sys.argv[1], sys.argv[2]).hex())"
    )
    for seed in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-c", code, ORIGINAL_TITLE, ORIGINAL],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert done.stdout.strip() == here.hex()


def test_band_keys_fit_a_signed_bigint_and_differ_per_band() -> None:
    for title, text in [(ORIGINAL_TITLE, ORIGINAL), (UNRELATED_TITLE, UNRELATED)]:
        keys = band_keys(_fp(title, text))
        assert keys
        assert all(-(2**63) <= key < 2**63 for key in keys)
        assert len(set(keys)) == len(keys)  # the band index is mixed in


def test_a_syndicated_copy_shares_a_band_key_and_an_unrelated_story_does_not() -> None:
    original = _fp(ORIGINAL_TITLE, ORIGINAL)
    copy = _fp(SYNDICATED_TITLE, SYNDICATED)
    unrelated = _fp(UNRELATED_TITLE, UNRELATED)
    assert set(band_keys(original)) & set(band_keys(copy))
    assert not set(band_keys(original)) & set(band_keys(unrelated))


def test_very_long_text_is_read_only_up_to_its_word_cap() -> None:
    head = _fp(ORIGINAL_TITLE, ORIGINAL * 40)
    assert head == fingerprint(ORIGINAL_TITLE, ORIGINAL * 40 + UNRELATED * 5_000)


def test_scripts_without_spaces_still_get_fingerprints() -> None:
    chinese = "俄罗斯与东盟同意深化战略伙伴关系，部长们承诺在贸易、能源安全和反恐方面加强合作。"
    cycling = "市议会周二投票决定沿河修建八公里受保护的自行车道，结束了两年的争论。"
    fp = _fp("俄罗斯与东盟", chinese)
    other = _fp("城市自行车道", cycling)
    assert same_story(fp, _fp("新标题", chinese + "本文首发于新闻网。"))
    assert not same_story(fp, other)


@pytest.mark.parametrize(
    "damaged",
    [b"", b"\x00" * 10, bytes([FINGERPRINT_VERSION + 1]) + b"\x00" * 600],
    ids=["empty", "short", "other-version"],
)
def test_a_fingerprint_of_another_version_or_size_is_refused_with_a_reason(
    damaged: bytes,
) -> None:
    fp = _fp(ORIGINAL_TITLE, ORIGINAL)
    with pytest.raises(ValueError, match="fingerprint: not a version"):
        similarity(fp, damaged)


def test_pairs_of_short_words_do_not_make_two_stories_alike() -> None:
    # Two different texts whose only common ground is their function words
    # ("of the", "in a", ...): counted, those pairs would make them one story.
    short = [
        "of", "the", "in", "a", "to", "on", "at", "by", "for", "and",
        "it", "is", "was", "as", "be", "has", "not", "his", "her", "but",
    ]  # fmt: skip
    scaffold = [f"{a} {b}" for a in short for b in short[:3]]

    def story(names: list[str]) -> str:
        return " ".join(f"{name} {pair}" for name, pair in zip(names * 6, scaffold, strict=False))

    first = story(["minister", "parliament", "coalition", "budget", "election"])
    second = story(["football", "stadium", "goalkeeper", "league", "transfer"])
    assert similarity(_fp("", first), _fp("", second)) < 0.05


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, 1.0),
        ({0: 1}, 255 / 256),  # the lowest bit of the first value
        ({255: 0x80000000}, 255 / 256),  # the highest bit of the last value
        ({7: 0xFFFFFFFF, 8: 0x00010000}, 254 / 256),  # two neighbouring values
        ({i: 1 for i in range(256)}, 0.0),
    ],
    ids=["same", "lowest-bit", "highest-bit", "neighbours", "all"],
)
def test_similarity_is_the_share_of_equal_sketch_values(
    changes: dict[int, int], expected: float
) -> None:
    fp = _fp(ORIGINAL_TITLE, ORIGINAL)
    head, values = fp[:3], list(struct.unpack(f">{len(fp[3:]) // 4}I", fp[3:]))
    for index, flip in changes.items():
        values[index] ^= flip
    other = head + struct.pack(f">{len(values)}I", *values)
    assert len(values) == 256
    assert similarity(fp, other) == expected
    assert similarity(other, fp) == expected
