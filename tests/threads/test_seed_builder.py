"""fixtures/build_seed_threads.py: seed pages -> fixtures/seed_threads.json.

Plain pytest: no Django, no database.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from fixtures.build_seed_threads import (
    build_reply_tree,
    main,
    parse_date_line,
    parse_seed_file,
    split_comments,
)

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "fixtures" / "seeds"
FIXTURE = ROOT / "fixtures" / "seed_threads.json"
SEED_000 = SEEDS / "000_26700f1cb2da0fba.txt"

THREAD_KEYS = [
    "source",
    "external_id",
    "title",
    "url",
    "author",
    "published_at",
    "lead",
    "comments",
]
COMMENT_KEYS = ["external_id", "author", "body", "created_at", "replies"]


# -- helpers -----------------------------------------------------------------


def comment(number: int, body: str) -> dict[str, Any]:
    return {
        "external_id": f"c{number:04d}",
        "author": None,
        "body": body,
        "created_at": None,
        "replies": [],
    }


def walk(
    comments: list[dict[str, Any]], parent: dict[str, Any] | None = None
) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(comment, parent) for every comment of a tree, depth first."""
    for item in comments:
        yield item, parent
        yield from walk(item["replies"], item)


def shape(roots: list[dict[str, Any]]) -> dict[str, str | None]:
    """external_id -> parent external_id (None for top level)."""
    return {c["external_id"]: p["external_id"] if p else None for c, p in walk(roots)}


def find(tree: list[dict[str, Any]], opening: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    matches = [(c, p) for c, p in walk(tree) if c["body"].startswith(opening)]
    assert len(matches) == 1, f"{len(matches)} comments open with {opening!r}"
    return matches[0]


@pytest.fixture(scope="module")
def threads() -> dict[str, dict[str, Any]]:
    document = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return {thread["external_id"]: thread for thread in document["threads"]}


@pytest.fixture(scope="module")
def seed_000_comments() -> list[dict[str, Any]]:
    (thread,) = parse_seed_file(SEED_000)
    return thread["comments"]


# -- the committed fixture ---------------------------------------------------


def test_committed_fixture_is_what_the_script_builds_now(tmp_path: Path) -> None:
    out = tmp_path / "seed_threads.json"
    assert main(["--seeds", str(SEEDS), "--out", str(out)]) == 0
    assert out.read_bytes() == FIXTURE.read_bytes()


def test_build_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    main(["--seeds", str(SEEDS), "--out", str(first)])
    main(["--seeds", str(SEEDS), "--out", str(second)])
    data = first.read_bytes()
    assert data == second.read_bytes()
    assert data.endswith(b"}\n")


def test_seventeen_threads_split_per_file_as_on_the_pages(threads: dict) -> None:
    per_file = Counter(external_id.rsplit("-", 1)[0] for external_id in threads)
    assert per_file == {
        "000_26700f1cb2da0fba": 1,
        "001_e25bf040453d0c3e": 3,
        "002_b4798344eb6919b0": 1,
        "003_47286781f27b2724": 12,
    }
    assert len(threads) == 17
    assert "003_47286781f27b2724-12" in threads and "001_e25bf040453d0c3e-3" in threads


def test_threads_and_comments_have_the_native_shape(threads: dict) -> None:
    for thread in threads.values():
        assert list(thread) == THREAD_KEYS
        assert thread["source"] == "seed"
        assert thread["url"] is None
        assert thread["title"] and thread["lead"]
        assert isinstance(thread["comments"], list)
        for item, _ in walk(thread["comments"]):
            assert list(item) == COMMENT_KEYS
            assert item["author"] is None and item["created_at"] is None


@pytest.mark.parametrize(
    ("external_id", "title"),
    [
        ("000_26700f1cb2da0fba-1", "The Soft Totalitarianism of the Political Class"),
        (
            "001_e25bf040453d0c3e-1",
            "J'ai quitté Twitter à cause de Musk et des communautés tech",
        ),
        ("001_e25bf040453d0c3e-2", "A story of people, tech watch and koalas"),
        (
            "002_b4798344eb6919b0-1",
            '"Why Won\'t My Democrat Friends Talk to Me after I Voted for Trump?"'
            " An Explanation from a Liberal",
        ),
        (
            "003_47286781f27b2724-1",
            "Fury over Discord’s age checks explodes after shady Persona test in UK",
        ),
        (
            "003_47286781f27b2724-9",
            "Rocket Report: Say cheerio to Orbex; China is getting good at booster landings",
        ),
        (
            "003_47286781f27b2724-12",
            "Spider-Noir teaser comes in colorized “True Hue” and black and white",
        ),
    ],
)
def test_titles(threads: dict, external_id: str, title: str) -> None:
    assert threads[external_id]["title"] == title


def test_authors_only_where_the_page_states_them(threads: dict) -> None:
    assert threads["000_26700f1cb2da0fba-1"]["author"] == "J.D. Tuccille"
    # The blogs never sign their posts.
    assert threads["001_e25bf040453d0c3e-1"]["author"] is None
    assert threads["002_b4798344eb6919b0-1"]["author"] is None
    # An article's own author box beats the archive page's "Author name:".
    assert threads["003_47286781f27b2724-1"]["author"] == "Ashley Belanger"
    assert threads["003_47286781f27b2724-9"]["author"] == "Eric Berger"
    assert threads["003_47286781f27b2724-2"]["author"] == "Beth Washington"


def test_published_dates_only_where_the_page_states_them(threads: dict) -> None:
    published = {key: thread["published_at"] for key, thread in threads.items()}
    assert published["001_e25bf040453d0c3e-1"] == "2023-07-27T00:00:00+00:00"
    assert published["001_e25bf040453d0c3e-2"] == "2019-06-11T00:00:00+00:00"
    assert published["001_e25bf040453d0c3e-3"] == "2018-08-16T00:00:00+00:00"
    assert published["002_b4798344eb6919b0-1"] == "2024-12-07T00:00:00+00:00"
    assert published["000_26700f1cb2da0fba-1"] is None
    assert all(published[f"003_47286781f27b2724-{n}"] is None for n in range(1, 13))


def test_leads_skip_deks_captions_and_tag_lines(threads: dict) -> None:
    assert threads["000_26700f1cb2da0fba-1"]["lead"].startswith("It's no secret that governments")
    assert threads["001_e25bf040453d0c3e-1"]["lead"].startswith("Mardi 25 juillet 2023")
    assert threads["002_b4798344eb6919b0-1"]["lead"].startswith("So you voted for Trump")
    assert threads["003_47286781f27b2724-1"]["lead"].startswith("Shortly after Discord announced")
    assert threads["003_47286781f27b2724-2"]["lead"].startswith("I’ll say this for the 2026")
    assert threads["003_47286781f27b2724-9"]["lead"].startswith("Welcome to Edition 8.29")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("🇫🇷 – jeudi 27 juillet 2023", date(2023, 7, 27)),
        ("🇺🇸 – Tuesday June, 11th 2019", date(2019, 6, 11)),
        ("🇫🇷 – jeudi 16 août 2018", date(2018, 8, 16)),
        ("December 7, 2024", date(2024, 12, 7)),
        ("Dernière mise à jour : lundi 04 décembre 2023", None),
        ("February 12: Falcon 9 | Crew-12 | Cape Canaveral", None),
        ("Sleek", None),
    ],
)
def test_date_lines(line: str, expected: date | None) -> None:
    assert parse_date_line(line) == expected


# -- the seed-000 comment section --------------------------------------------


def test_only_seed_000_has_comments(threads: dict) -> None:
    with_comments = [key for key, thread in threads.items() if thread["comments"]]
    assert with_comments == ["000_26700f1cb2da0fba-1"]


def test_seed_000_comment_and_reply_counts(seed_000_comments: list) -> None:
    pairs = list(walk(seed_000_comments))
    assert len(pairs) == 81
    assert sum(parent is not None for _, parent in pairs) == 7
    assert len(seed_000_comments) == 74


def test_comment_ids_follow_page_order(seed_000_comments: list) -> None:
    ids = sorted(item["external_id"] for item, _ in walk(seed_000_comments))
    assert ids == [f"c{n:04d}" for n in range(1, 82)]
    (first, _) = find(seed_000_comments, "Over a decade ago, the Senate Democrats")
    assert first["external_id"] == "c0001"
    for item, parent in walk(seed_000_comments):
        if parent is not None:
            assert parent["external_id"] < item["external_id"]


def test_quote_in_quotes_with_other_quote_marks_replies_to_its_source(
    seed_000_comments: list,
) -> None:
    # Straight quotes around it, curly quotes around “right” inside: still a match.
    reply, parent = find(seed_000_comments, '" The primary pillars of Nazis were')
    assert parent is not None
    assert parent["body"].startswith("Disagree. The primary pillars of Nazis were militarism")
    # The answer under the quote belongs to the reply.
    assert reply["body"].split("\n\n")[1].startswith("This is only true if you ignore")


def test_double_angle_quotes_reply_and_take_the_answer_along(seed_000_comments: list) -> None:
    reply, parent = find(seed_000_comments, ">>whether the government could")
    assert parent is not None
    assert parent["body"].startswith("Citizens United was not specifically about money")
    assert reply["body"].split("\n\n") == [
        ">>whether the government could, under campaign finance law, censor press (a"
        " documentary) unfriendly to one candidate by treating it as the same as a cash"
        " donation to her opponents.",
        ">>much too stupid to contemplate.",
        "exactly.",
    ]


def test_unmarked_repeats_reply_to_the_comment_repeated(seed_000_comments: list) -> None:
    expected = {
        "The Democrats are simply wrong here. If misinformation": "The Democrats are simply",
        "That’s the correct ideal, but does it work": "The Democrats are simply",
        "Perhaps there’s a kind of central limit theorem here": "Perhaps there’s a kind",
        "You don’t have to be a citizen": "You don't have to be a citizen",
        "Judges more scalia than scalia himself.": "What this nation needs is SCOTUS",
    }
    parents = {}
    for item, parent in walk(seed_000_comments):
        for opening in expected:
            if item["body"].startswith(opening) and parent is not None:
                parents[opening] = parent["body"]
    assert set(parents) == set(expected)
    for opening, parent_opening in expected.items():
        assert parents[opening].startswith(parent_opening)


def test_quotes_of_the_article_are_top_level(seed_000_comments: list) -> None:
    for opening in (
        "He's also not the only prominent politician",
        '>>"Regulators around the world',
        '"Obrigado Brasil!" Keith Ellison',
        "“Readers will notice",
    ):
        item, parent = find(seed_000_comments, opening)
        assert parent is None, opening
        assert len(item["body"].split("\n\n")) >= 2  # the quote and its answer


def test_continuation_paragraphs_are_merged(seed_000_comments: list) -> None:
    item, _ = find(seed_000_comments, "Hey now, as long as they hide")
    assert item["body"].split("\n\n")[1].startswith("Also, MUH EEKWALITEE.")
    mill, _ = find(
        seed_000_comments,
        "The Democrats are simply wrong here. If misinformation is "
        "being promoted, counter it with information. Only where",
    )
    paragraphs = mill["body"].split("\n\n")
    assert paragraphs[1] == "Thus Mill:"  # "Thus" connects
    assert paragraphs[2].startswith("If all mankind minus one")  # after the colon
    assert paragraphs[3].startswith("the opinion which it is attempted")  # long lowercase
    breyer, _ = find(seed_000_comments, "Citizens United is a separate issue")
    assert [p[:12] for p in breyer["body"].split("\n\n")] == [
        "Citizens Uni",
        "But CU didn'",
        "And Breyer:",
        "In the conte",
        "i.e., they'r",
        "But remember",
    ]


def test_short_lowercase_lines_are_comments_of_their_own(seed_000_comments: list) -> None:
    for body in ("truth.", "if I had a vote ...", 'err... what do you think the term "right"'):
        item, parent = find(seed_000_comments, body)
        assert "\n\n" not in item["body"]
        assert parent is None


# -- build_reply_tree on hand-made input -------------------------------------


def test_quote_of_an_earlier_comment_makes_a_reply() -> None:
    comments = [
        comment(1, "Taxes are theft, plain and simple."),
        comment(2, "Something else entirely, about the weather."),
        comment(3, '"Taxes are theft, plain and simple."\n\nNo, they are the price of roads.'),
    ]
    assert shape(build_reply_tree(comments)) == {"c0001": None, "c0002": None, "c0003": "c0001"}


def test_curly_and_straight_quotes_and_double_angles_match() -> None:
    comments = [
        comment(1, 'The court didn\'t say "speech" was money at all.'),
        comment(2, ">>The court didn’t say “speech” was money at all.\n\nIt did."),
        comment(3, "The court didn’t say “speech” was money\n\nAn unmarked repeat."),
    ]
    assert shape(build_reply_tree(comments)) == {"c0001": None, "c0002": "c0001", "c0003": "c0001"}


def test_quote_marks_added_or_dropped_by_the_quoter_do_not_matter() -> None:
    comments = [
        comment(1, 'He called it "disinformation" and moved on.'),
        comment(2, ">>He called it disinformation and moved on.\n\nTypical."),
    ]
    assert shape(build_reply_tree(comments)) == {"c0001": None, "c0002": "c0001"}


def test_reply_goes_to_the_nearest_earlier_comment_that_said_it() -> None:
    comments = [
        comment(1, "Taxes are theft, plain and simple."),
        comment(2, "I agree. Taxes are theft, plain and simple."),
        comment(3, ">>Taxes are theft, plain and simple.\n\nSays who?"),
    ]
    assert shape(build_reply_tree(comments)) == {"c0001": None, "c0002": None, "c0003": "c0002"}


def test_quote_of_nothing_on_the_page_is_top_level() -> None:
    comments = [
        comment(1, "First comment about the article."),
        comment(2, "\"If you're so smart, why aren't you rich?\"\n\nMy grandmother said that."),
    ]
    assert shape(build_reply_tree(comments)) == {"c0001": None, "c0002": None}


def test_quote_of_the_article_is_top_level() -> None:
    article = "Officials pursue an anti-liberty agenda through foreign regulators."
    comments = [comment(1, f"{article}\n\nThey do, and it is shameful.")]
    assert shape(build_reply_tree(comments, article)) == {"c0001": None}


def test_never_replies_to_a_later_comment() -> None:
    comments = [
        comment(1, "Judges more scalia than scalia himself."),
        comment(2, "What we need is judges more scalia than scalia himself."),
    ]
    assert shape(build_reply_tree(comments)) == {"c0001": None, "c0002": None}


def test_reply_goes_to_the_nearest_comment_that_said_it_not_to_a_quoter() -> None:
    comments = [
        comment(1, "Nuance is dead on this website."),
        comment(2, '"Nuance is dead on this website."\n\nAgreed.'),
        comment(3, ">>Nuance is dead on this website.\n\nNo it is not."),
        comment(4, "Nuance is dead on this website. Long live nuance."),
    ]
    # c0003 quotes words c0002 only quoted: c0001 said them.
    tree = shape(build_reply_tree(comments))
    assert tree == {"c0001": None, "c0002": "c0001", "c0003": "c0001", "c0004": "c0001"}


def test_short_repeats_are_not_quotes() -> None:
    comments = [comment(1, "You choose."), comment(2, "You choose.\n\nI did.")]
    assert shape(build_reply_tree(comments)) == {"c0001": None, "c0002": None}


def test_build_reply_tree_leaves_its_input_alone() -> None:
    comments = [comment(1, "Taxes are theft, plain and simple."), comment(2, ">>Taxes are theft")]
    before = json.dumps(comments)
    build_reply_tree(comments)
    assert json.dumps(comments) == before


# -- split_comments on hand-made input ---------------------------------------


def bodies(lines: list[str], context: str = "") -> list[list[str]]:
    return [c["body"].split("\n\n") for c in split_comments(lines, context)]


def test_split_numbers_comments_in_page_order() -> None:
    found = split_comments(["One comment here.", "", "Another one there."])
    assert [c["external_id"] for c in found] == ["c0001", "c0002"]
    assert [list(c) for c in found] == [COMMENT_KEYS, COMMENT_KEYS]


def test_split_merges_connectors_colons_and_quote_answers() -> None:
    lines = [
        "I like it.",
        "But not that much.",
        "(Really.)",
        "And Breyer:",
        "Corporations are not members of society.",
        "A second commenter disagrees.",
        '"Quoted from somewhere else entirely."',
        "The answer to that quote.",
    ]
    assert bodies(lines) == [
        lines[0:5],
        [lines[5]],
        lines[6:8],
    ]


def test_split_keeps_stacked_quotes_together_and_a_new_quote_apart() -> None:
    lines = [
        "Citizens United was about a documentary, not donations.",
        ">>about a documentary",
        ">>not donations",
        "exactly.",
        "Citizens United was about a documentary, not donations.",
        "Said twice for emphasis.",
    ]
    assert bodies(lines) == [[lines[0]], lines[1:4], lines[4:6]]


def test_split_lowercase_only_continues_when_long() -> None:
    long_line = "the opinion which it is attempted to suppress by authority may possibly be " + (
        "true, and those who desire to suppress it of course deny its truth."
    )
    lines = ["Thus spoke Mill about it.", long_line, "truth.", "guessing he laughed at it."]
    assert bodies(lines) == [lines[0:2], [lines[2]], [lines[3]]]


def test_split_does_not_merge_ordinary_second_paragraphs() -> None:
    # Conservative: without a connector, a colon or a quote, a paragraph starts
    # a new comment even when a human would read it as the same argument.
    lines = ["Less illegal immigration", "No new wars in which the US was involved."]
    assert bodies(lines) == [[lines[0]], [lines[1]]]
