"""The front-matter reader: what it accepts, what it refuses, and where it says the problem is."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from korea_news import frontmatter
from korea_news.model import InvalidArticle

PATH = Path("articles/x.txt")


def parse(text: str | bytes):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return frontmatter.parse(data, PATH, "x")


def assert_article_or_problem(text: str | bytes) -> None:
    """The reader's only outcomes: an article with a title and a date, or its own error."""
    try:
        article, _ = parse(text)
    except InvalidArticle as error:
        assert error.line >= 1 and error.message
    else:
        assert article.title.strip() and article.date


def problem(text: str | bytes) -> tuple[int, str]:
    with pytest.raises(InvalidArticle) as caught:
        parse(text)
    return caught.value.line, caught.value.message


def test_reads_fields_and_keeps_other_keys_in_extra():
    article, body = parse(
        "---\ntitle: T\ndate: 2017-08-07\nsource: S\nurl: https://u.test\n"
        "authors: Kim\ntags: [a, b c]\nregion: asia\nscore: 3\nwhen: 2017-01-01\n---\nBody\n"
    )
    assert (article.title, article.date, article.source, article.url) == (
        "T",
        dt.date(2017, 8, 7),
        "S",
        "https://u.test",
    )
    assert (article.authors, article.tags) == (("Kim",), ("a", "b c"))
    assert article.extra == {"region": "asia", "score": 3, "when": "2017-01-01"}
    assert (body, article.body_line, article.title_line) == ("Body\n", 12, 2)


def test_accepts_a_bom_crlf_and_a_dots_end_line():
    article, body = parse(b"\xef\xbb\xbf---\r\ntitle: T\r\ndate: 2017-08-07\r\n...\r\nBody\r\n")
    assert article.title == "T"
    assert body == "Body\r\n"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2017-08-07", dt.date(2017, 8, 7)),
        ("'2017-08-07'", dt.date(2017, 8, 7)),
        ("'20170807'", dt.date(2017, 8, 7)),  # ISO 8601's basic form: a date, no midnight
        ("2017-08-07T10:30:00", dt.datetime(2017, 8, 7, 10, 30)),
        (
            "2017-08-07T10:30:00+09:00",
            dt.datetime(2017, 8, 7, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=9))),
        ),
        ('"2017-08-07T01:30:00Z"', dt.datetime(2017, 8, 7, 1, 30, tzinfo=dt.UTC)),
    ],
)
def test_dates_and_date_times(value, expected):
    assert parse(f"---\ntitle: T\ndate: {value}\n---\n")[0].date == expected


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "empty file, not an article"),
        ("Just a title\n\nBody\n", 1, "no front matter: the first line must be ---"),
        (
            "---\ntitle: T\ndate: 2017-01-01\n",
            1,
            "front matter is not closed: no --- line after the first",
        ),
        ("---\n---\nBody\n", 1, "front matter is empty"),
        ("---\n- a\n- b\n---\n", 2, "front matter is not a mapping of key: value lines"),
        ("---\ntitle: T\ndate: [2017\n---\n", 4, "YAML: "),
        ("---\ndate: 2017-01-01\n---\n", 1, "title is missing or empty"),
        ("---\ntitle: ''\ndate: 2017-01-01\n---\n", 2, "title is missing or empty"),
        ("---\ntitle: T\n---\n", 1, "date is missing"),
        (
            "---\ntitle: T\ndate: yesterday\n---\n",
            3,
            "date 'yesterday' is not YYYY-MM-DD or an ISO 8601 date-time",
        ),
        (
            "---\ntitle: yes\ndate: 2017-01-01\n---\n",
            2,
            "title must be text, not a boolean (quote it)",
        ),
        (
            "---\ntitle: 1984\ndate: 2017-01-01\n---\n",
            2,
            "title must be text, not a number (quote it)",
        ),
        (
            "---\ntitle: T\ndate: 2017-01-01\nsource: [a]\n---\n",
            4,
            "source must be text, not a list (quote it)",
        ),
        (
            "---\ntitle: T\ndate: 2017-01-01\ntags: [a, 2017]\n---\n",
            4,
            "tags: item 2 must be text, not a number (quote it)",
        ),
        (
            "---\ntitle: T\ndate: 2017-01-01\ntags: {a: 1}\n---\n",
            4,
            "tags must be a list of text, not a mapping",
        ),
        (
            "---\ntitle: T\ndate: 2017-01-01\ntitle: U\n---\n",
            4,
            "duplicate key 'title' (first on line 2)",
        ),
        (
            "---\ntitle: !!python/object:os.system T\ndate: 2017-01-01\n---\n",
            2,
            "YAML: could not determine a constructor",
        ),
    ],
)
def test_refuses_with_the_line_of_the_problem(text, line, message):
    found_line, found_message = problem(text)
    assert found_line == line
    assert found_message.startswith(message)


def test_refuses_alias_bombs_instead_of_expanding_them():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]"
        for i in range(9)
    ]
    text = "---\ntitle: T\ndate: 2017-01-01\n" + "\n".join(lines) + "\n---\n"
    assert "too large" in problem(text)[1]


def test_a_small_alias_is_fine():
    article, _ = parse("---\ntitle: T\ndate: 2017-01-01\nx: &x [a]\ny: *x\n---\n")
    assert article.extra == {"x": ["a"], "y": ["a"]}


def test_binary_and_non_utf8_files_are_refused_with_their_line():
    assert problem(b"---\ntitle: T\n\x00\n") == (3, "binary file (NUL byte), not an article")
    assert problem("---\ntitle: café\n".encode("latin-1")) == (
        2,
        "not UTF-8 text (byte 0xe9); latin1 text? iconv -f latin1 -t UTF-8 converts it",
    )


@given(st.binary(max_size=300))
@settings(max_examples=300)
def test_any_bytes_give_an_article_or_invalid_article(data):
    assert_article_or_problem(data)


@given(st.text(max_size=200))
@settings(max_examples=300)
def test_any_front_matter_text_gives_an_article_or_invalid_article(text):
    assert_article_or_problem(f"---\n{text}\n---\nBody\n")


@given(
    st.dictionaries(
        st.sampled_from(["title", "date", "tags", "x", "source"]), st.text(max_size=30), max_size=5
    )
)
def test_any_mapping_of_text_gives_an_article_or_invalid_article(fields):
    text = "".join(f"{key}: {value}\n" for key, value in fields.items())
    assert_article_or_problem(f"---\n{text}---\n")
