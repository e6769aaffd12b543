"""kn facts, and the body structure it shares with kn show."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from conftest import GOLDEN, SEED_ID, article
from korea_news import structure

SANCTIONS = [
    "Importing coal, seafood, iron and iron ore, lead and lead ore from North Korea is banned",
    "Countries cannot receive new North Korean workers",
    "No new joint ventures with North Korean entities or individuals",
    "No new investment in existing joint ventures",
    "More individuals targeted with travel bans and assets freezes",
    "Member states to report to Security Council within 90 days on how they have implemented resolution",
]


def test_seed_facts_are_exactly_the_six_sanctions_golden(kn, seed_archive):
    result = kn("facts")
    assert result.exit_code == 0
    assert result.stdout == (GOLDEN / "facts.txt").read_text(encoding="utf-8")
    assert result.stdout == "".join(
        f"{SEED_ID}\tWhat are the new sanctions?\t{fact}\n" for fact in SANCTIONS
    )


def test_seed_facts_json_golden_with_file_lines(kn, seed_archive):
    result = kn("facts", "--format", "json")
    assert result.stdout == (GOLDEN / "facts.json").read_text(encoding="utf-8")
    records = json.loads(result.stdout)
    assert [r["line"] for r in records] == list(range(38, 44))
    assert {r["heading"] for r in records} == {"What are the new sanctions?"}


def test_heading_filter_and_jsonl_give_the_six_items(kn, seed_archive):
    result = kn("facts", "--heading", "SANCTIONS", "--format", "jsonl")
    assert [json.loads(line)["text"] for line in result.stdout.splitlines()] == SANCTIONS


def test_heading_that_matches_nothing_exits_1(kn, seed_archive):
    result = kn("facts", "--heading", "weather")
    assert (result.exit_code, result.stdout) == (1, "")


def test_bad_heading_pattern_exits_2(kn, seed_archive):
    result = kn("facts", "--heading", "(")
    assert result.exit_code == 2 and result.stderr.startswith("kn: bad pattern '(': ")


def facts_of(body: str, title: str = "The title") -> list[tuple[str, str]]:
    return [(heading, text) for _, heading, text in structure.facts_of(title, body, 1)]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # each bullet character, and numbered items
        (
            "Measures:\n• a\n- b\n* c\n– d\n· e\n▪ f\n",
            [("Measures:", x) for x in "abcdef"],
        ),
        (
            "Steps:\n1. one\n2) two\n10. ten\n",
            [("Steps:", "one"), ("Steps:", "two"), ("Steps:", "ten")],
        ),
        # leading spaces that differ from item to item, trailing spaces dropped
        (
            "Key points\n\n- a  \n - b\n   - c\t\n",
            [("Key points", "a"), ("Key points", "b"), ("Key points", "c")],
        ),
        # items separated by blank lines are one list
        ("Key points\n\n- a\n\n- b\n\n\n- c\n", [("Key points", x) for x in "abc"]),
        # an indented line continues the item above, joined with one space
        (
            "Key points\n\n- a first item\n    that wraps\n  twice\n- b\n",
            [("Key points", "a first item that wraps twice"), ("Key points", "b")],
        ),
        # an unindented line ends the list and is never glued onto the last item
        (
            "Key points\n\n- a\n- b\nline break\n\nMore prose.\n",
            [("Key points", "a"), ("Key points", "b")],
        ),
        # the nearest heading above, even with prose between
        (
            "What happened?\n\nA paragraph.\n\n- a\n\nWho said what\n\n- b\n",
            [("What happened?", "a"), ("Who said what", "b")],
        ),
        # a lead-in line ending with ':' wins over a heading further up
        (
            "What happened?\n\nThe council agreed to:\n- a\n- b\n",
            [("The council agreed to:", "a"), ("The council agreed to:", "b")],
        ),
        # a list with neither takes the article's title
        ("Some prose here.\n\n- a\n", [("The title", "a")]),
        # a heading directly above a list
        ("Intro text.\n\nKey points\n- a\n", [("Key points", "a")]),
        # ... and directly below another list, as text copied from a page may come
        ("Banned\n- a\n- b\nAllowed\n- c\n", [("Banned", "a"), ("Banned", "b"), ("Allowed", "c")]),
        # CRLF line endings
        ("Key points\r\n\r\n- a \r\n- b\r\n", [("Key points", "a"), ("Key points", "b")]),
        # a heading marked as Markdown marks it, in any case, its closing #s after a space
        ("Text.\n\n## where to buy ##\n\n- a\n", [("where to buy", "a")]),
        ("Text.\n\n## Jobs in C#\n\n- a\n", [("Jobs in C#", "a")]),
        ("Text.\n\n#metoo was trending\n\n- a\n", [("The title", "a")]),
        # a first word with a capital after its first letter
        ("Text.\n\niPhone 15 deals\n\n- a\n", [("iPhone 15 deals", "a")]),
    ],
)
def test_layouts(body, expected):
    assert facts_of(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        "The vote - unanimous - came late.\nIt was - as expected - close.\n",
        "Temperatures fell to\n-5 degrees overnight.\n",
        "A -- double dash and a *starred* word.\n",
        "In 2017. That year.\n",
        "",
    ],
)
def test_prose_yields_no_facts(body):
    assert facts_of(body) == []


def test_show_and_facts_agree_on_headings_and_lists():
    body = "Intro.\n\nWhat next?\n\n- a\n  more\n- b\nprose after\n"
    blocks = structure.parse(body, first_line=6)
    assert blocks == [
        structure.Paragraph(6, ("Intro.",)),
        structure.Heading(8, "What next?"),
        structure.BulletList(
            10, "What next?", (structure.Item(10, "-", "a more"), structure.Item(12, "-", "b"))
        ),
        structure.Paragraph(13, ("prose after",)),
    ]


def test_headings_read_as_titles_not_sentences():
    assert structure.is_heading("What are the new sanctions?")
    assert structure.is_heading("‘Put politics aside’")
    assert not structure.is_heading(
        "It also rejected fresh sanctions imposed by the UN on Saturday."
    )
    assert not structure.is_heading("line break")
    assert not structure.is_heading("Said:")
    assert structure.is_heading("■ 새 제재 내용") and structure.is_heading("▶ Key facts")
    assert not structure.is_heading("— Jane Doe") and not structure.is_heading("© 2024 Reuters")
    assert not structure.is_heading(
        "A very long line that goes on and on with many words in it here"
    )


def test_facts_of_named_articles_and_filters(kn, make_archive):
    make_archive(
        {
            "a.txt": article("Alpha", "2017-01-01", body="\n- one\n", tags="[x]"),
            "b.txt": article("Beta", "2018-01-01", body="\nList:\n- two\n"),
            "c.txt": article("Gamma", "2019-01-01", body="No list.\n"),
        }
    )
    assert kn("facts").stdout == "b\tList:\ttwo\na\tAlpha\tone\n"
    assert kn("facts", "a").stdout == "a\tAlpha\tone\n"
    assert kn("facts", "--tag", "x").stdout == "a\tAlpha\tone\n"
    assert kn("facts", "--since", "2018").stdout == "b\tList:\ttwo\n"
    assert kn("facts", "c").exit_code == 1
    assert kn("facts", "nope").exit_code == 2
    # -: names from stdin, as show and path take them (kn find coal | cut -f1 | kn facts -)
    assert kn("facts", "-", input="b\n\na\n").stdout == "b\tList:\ttwo\na\tAlpha\tone\n"
    assert (kn("facts", "-", input="").exit_code, kn("facts", "-", input="").stdout) == (1, "")


def test_numbered_section_titles_take_time_linear_in_the_body(kn, make_archive):
    """Each `1. Title` copied the rest of the body to see what follows it: 100,000 took minutes."""
    body = "".join(f"{i % 999 + 1}. Section title\n\nIts paragraph.\n\n" for i in range(100_000))
    make_archive({"a.txt": article("T", body=body)})
    started = time.monotonic()
    assert kn("facts").exit_code == 1
    assert time.monotonic() - started < 20


def test_an_item_of_many_indented_lines_takes_time_linear_in_them(kn, make_archive):
    """Each line that continues an item copied the item's text so far: 300,000 took minutes."""
    more = "  and a line that goes on, as an indented block does"
    make_archive({"a.txt": article("T", body="Intro.\n\n- item\n" + f"{more}\n" * 300_000)})
    started = time.monotonic()
    result = kn("facts")
    assert result.stdout == "a\tT\titem" + f" {more.strip()}" * 300_000 + "\n"
    assert time.monotonic() - started < 20


def test_facts_across_folders_come_in_date_order_once_each(kn, make_archive, tmp_path, monkeypatch):
    # Folders by source, dates across them: the order jumps from folder to folder.
    sources = ["bbc", "yonhap", "kcna"]
    files = {}
    for i in range(400):
        day = f"20{10 + i % 9}-{1 + i * 7 % 12:02d}-{1 + i * 5 % 28:02d}"
        body = f"\nWhat next:\n- first {i}\n- second {i}\n"
        files[f"{sources[i * 7 % 3]}/a{i:03d}.txt"] = article(f"Story {i}", day, body=body)
    make_archive(files)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    listed = [line.split("\t")[0] for line in kn("list").stdout.splitlines()]
    expected = [
        f"{id_}\tWhat next:\t{which} {id_[1:].lstrip('0') or '0'}"
        for id_ in listed
        for which in ("first", "second")
    ]
    for env in ({"KN_NO_CACHE": "1"}, {"KN_NO_CACHE": ""}, {"KN_NO_CACHE": ""}):
        assert kn("facts", env=env).stdout.splitlines() == expected
        newest = kn("facts", "-n", "70", env=env).stdout.splitlines()
        assert newest == expected[:140]
        oldest = kn("facts", "--reverse", "-n", "3", env=env).stdout.splitlines()
        assert oldest == [
            fact for id_ in listed[::-1][:3] for fact in expected if fact.startswith(id_ + "\t")
        ]


def test_an_article_named_twice_is_listed_once_per_name(kn, seed_archive):
    once, twice = kn("facts", SEED_ID), kn("facts", SEED_ID, SEED_ID)
    assert (twice.exit_code, twice.stdout) == (0, once.stdout * 2)


# --- a labelled set of real web layouts (tests/facts/NAME.txt and NAME.facts.json) --------

CASES = Path(__file__).parent / "facts"
LABELLED = sorted(path.stem for path in CASES.glob("*.txt"))


def labelled(name: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """A case's facts as kn finds them, and as a reader would name them."""
    found = facts_of((CASES / f"{name}.txt").read_text(encoding="utf-8"), title="TITLE")
    expected = json.loads((CASES / f"{name}.facts.json").read_text(encoding="utf-8"))
    return found, [tuple(pair) for pair in expected]


def test_the_labelled_set_scores_precision_097_and_recall_095():
    assert len(LABELLED) >= 40
    right = found_count = expected_count = 0
    for name in LABELLED:
        found, expected = labelled(name)
        right += sum((Counter(found) & Counter(expected)).values())
        found_count, expected_count = found_count + len(found), expected_count + len(expected)
    precision, recall = right / found_count, right / expected_count
    print(f"labelled set: {len(LABELLED)} layouts, precision {precision:.3f}, recall {recall:.3f}")
    assert precision >= 0.97 and recall >= 0.95, (precision, recall)


@pytest.mark.parametrize(
    "name",
    [
        "glyph-no-space-poll",
        "glyph-no-space-nicknames",
        "horizontal-bar-paragraphs",
        "em-dash-paragraphs",
        "attribution-dash",
        "attribution-before-a-list",
        "scene-break-stars",
        "scene-break-en-dashes",
        "photo-credit-caps",
        "photo-credit-agency",
        "long-lead-in",
        "bullet-without-text",
        "korean-heading",
        "korean-symbol-heading",
        "japanese-lead-in",
        "seed",
        "money-items-and-a-table",
    ],
)
def test_each_case_the_web_layouts_issue_names(name):
    found, expected = labelled(name)
    assert found == expected
