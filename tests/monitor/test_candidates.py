"""The match stage of a poll: articles -> candidates with the delivery rows they cause."""

from __future__ import annotations

import pytest

from monitor.match.rules import Match, RuleSpec, compile_rules
from monitor.pipeline.articles import RuleRoute, candidates, delivery_rows
from storage import ArticleIn, DeliveryIn

ROUTES = {
    "asean": RuleRoute(["mail", "chat"], "instant"),
    "russia": RuleRoute(["mail"], "digest"),
}
MATCHER = compile_rules([RuleSpec("asean", ("asean",)), RuleSpec("russia", ("russia",))])


def story(key: str, title: str) -> ArticleIn:
    url = f"https://e.org/{key}"
    return ArticleIn(key, url, url, title, "", "", None, None, f"hash-{key}")


@pytest.mark.parametrize(
    ("match", "route", "rows"),
    [
        (
            Match("asean", ("ASEAN",), "ASEAN summit", ((0, 5),)),
            ROUTES["asean"],
            [
                DeliveryIn("asean", "mail", "instant", ("ASEAN",), "ASEAN summit", ((0, 5),)),
                DeliveryIn("asean", "chat", "instant", ("ASEAN",), "ASEAN summit", ((0, 5),)),
            ],
        ),
        (
            Match("russia", ("Russia",), "Russia joins"),
            ROUTES["russia"],
            [DeliveryIn("russia", "mail", "digest", ("Russia",), "Russia joins")],
        ),
        (Match("quiet", (), ""), RuleRoute([], "instant"), []),
    ],
)
def test_a_match_becomes_one_delivery_row_per_channel_of_its_rule(
    match: Match, route: RuleRoute, rows: list[DeliveryIn]
) -> None:
    assert delivery_rows(match, route) == rows


@pytest.mark.parametrize(
    ("title", "unchanged", "rules"),
    [
        ("ASEAN summit", set(), [("asean", "mail"), ("asean", "chat")]),
        (
            "Russia joins ASEAN summit",
            set(),
            [("asean", "mail"), ("asean", "chat"), ("russia", "mail")],
        ),
        ("Rice harvest", set(), []),
        ("ASEAN summit", {"a"}, []),  # stored already with this content: not matched
    ],
)
def test_candidates_carry_the_deliveries_of_what_is_not_stored_unchanged(
    title: str, unchanged: set[str], rules: list[tuple[str, str]]
) -> None:
    article = story("a", title)
    [candidate] = candidates(
        [article],
        unchanged=unchanged,
        matcher=MATCHER,
        routes=ROUTES,
        source="wire",
        tags=frozenset(),
    )
    assert candidate.article == article  # too few words for a fingerprint: nothing added
    assert [(d.rule, d.channel) for d in candidate.deliveries] == rules
