"""kn check: every problem of the archive in one pass, as PATH:LINE: message."""

from __future__ import annotations

import os

from conftest import article


def test_check_is_clean_on_the_seed(kn, seed_archive):
    result = kn("check")
    assert (result.exit_code, result.stdout) == (0, "")


def test_check_reports_every_problem_sorted_by_path(kn, make_archive, tmp_path):
    root = make_archive(
        {
            "a-good.txt": article("Good"),
            "b-nofm.txt": "Just text\n",
            "c-unclosed.txt": "---\ntitle: T\ndate: 2017-01-01\nBody\n",
            "d-yaml.txt": "---\ntitle: T\ndate: 2017-01-01\ntags: [a, b\n---\nBody\n",
            "e-list.txt": "---\n- a\n---\nBody\n",
            "f-notitle.txt": "---\ndate: 2017-01-01\n---\nBody\n",
            "g-type.txt": "---\ntitle: T\ndate: 2017-01-01\nauthors: 5\n---\nBody\n",
            "h-date.txt": "---\ntitle: T\ndate: 2017-02-30\n---\nBody\n",
            "h-zone.txt": "---\ntitle: T\ndate: 2017-02-03T10:00:00+25:00\n---\nBody\n",
            "i-latin.txt": "---\ntitle: Café\ndate: 2017-01-01\n---\n".encode("latin-1"),
            "j-empty.txt": "---\ntitle: T\ndate: 2017-01-01\n---\n\n  \n",
            "k/a-good.txt": article("Duplicate"),
        }
    )
    outside = tmp_path / "outside.txt"
    outside.write_text(article("Outside"), encoding="utf-8")
    os.symlink(outside, root / "l-link.txt")
    result = kn("check")
    assert result.exit_code == 1
    assert result.stdout == (
        "articles/b-nofm.txt:1: no front matter: the first line must be ---\n"
        "articles/c-unclosed.txt:1: front matter is not closed: no --- line after the first\n"
        "articles/d-yaml.txt:5: YAML: did not find expected ',' or ']'\n"
        "articles/e-list.txt:2: front matter is not a mapping of key: value lines\n"
        "articles/f-notitle.txt:1: title is missing or empty\n"
        "articles/g-type.txt:4: authors must be a list of text, not a number\n"
        "articles/h-date.txt:3: date: day is out of range for month\n"
        "articles/h-zone.txt:3: date: a time zone 24 hours or more from UTC\n"
        "articles/i-latin.txt:2: not UTF-8 text (byte 0xe9); latin1 text? iconv -f latin1 -t UTF-8 converts it\n"
        "articles/j-empty.txt:5: empty body\n"
        "articles/k/a-good.txt:1: duplicate ID, also articles/a-good.txt\n"
        "articles/l-link.txt:1: symbolic link to a file outside the archive, or to no file\n"
    )
    assert result.stderr == "kn: 12 problem(s) in 12 file(s)\n"


def test_check_exits_2_when_the_archive_cannot_be_read(kn, tmp_path):
    result = kn("--archive", str(tmp_path / "missing"), "check")
    assert result.exit_code == 2


def test_other_commands_warn_with_the_same_messages(kn, make_archive):
    make_archive({"good.txt": article("Good"), "bad.txt": "---\ntitle: T\n---\nBody\n"})
    for command in (["list"], ["search", "Body"], ["facts"]):
        result = kn(*command)
        assert result.exit_code == 2, command
        assert result.stderr == "kn: articles/bad.txt:1: date is missing\n", command
