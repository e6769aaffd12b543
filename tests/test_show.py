"""kn show: plain and JSON output, --raw, names, and errors for unknown names."""

from __future__ import annotations

import json

import pytest

from conftest import GOLDEN, SEED_ID, article, strip_ansi


def test_show_without_argument_prints_the_newest_as_golden_plain_text(kn, seed_archive):
    result = kn("show")
    assert result.exit_code == 0
    assert result.stdout == (GOLDEN / "show.txt").read_text(encoding="utf-8")


def test_show_plain_is_title_metadata_blank_line_then_the_body_as_stored(kn, seed_archive):
    stored = next(seed_archive.rglob("*.txt")).read_text(encoding="utf-8")
    body = stored.split("---\n", 2)[2]
    expected = (
        "North Korea calls offer of talks from the South ‘insincere’\n"
        "2017-08-07 · BBC News · tags: north-korea, south-korea, sanctions, united-nations\n\n"
        f"{body}\n"
    )
    assert kn("show", SEED_ID).stdout == expected


def test_show_plain_keeps_a_folded_title_and_a_source_with_a_line_break_on_a_line_each(
    kn, make_archive
):
    """A title written as a YAML block ends with a line break, and a source may hold one:
    the title and the metadata still take a line each, as they do in `kn list`."""
    front = 'title: >\n  Folded over\n  two lines\ndate: 2017-01-03\nsource: "Two\\nlines"'
    make_archive({"f.txt": f"---\n{front}\n---\nBody.\n"})
    result = kn("show", "f")
    assert result.stdout == "Folded over two lines \n2017-01-03 · Two lines\n\nBody.\n"
    assert kn("list").stdout == "f\t2017-01-03\tTwo lines\tFolded over two lines \n"


def test_show_json_matches_golden_file_and_carries_the_body(kn, seed_archive):
    result = kn("show", "--format", "json")
    assert result.stdout == (GOLDEN / "show.json").read_text(encoding="utf-8")
    assert json.loads(result.stdout)[0]["body"].startswith("\nNorth Korea has dismissed")


@pytest.fixture
def pair(make_archive):
    return make_archive(
        {
            "2017/2017-01-02-talks.txt": article(
                "Talks", "2017-01-02", authors="[Ann, Bo]", url="https://x.test/a"
            ),
            "2017/2017-01-03-tests.txt": article("Tests", "2017-01-03", body="Line one.\r\n"),
            "2018/2018-05-01-summit.txt": article("Summit", "2018-05-01"),
        }
    )


@pytest.mark.parametrize(
    "name",
    [
        "2017-01-02-talks",
        "2017-01-02",
        "articles/2017/2017-01-02-talks.txt",
        "./articles/2017/../2017/2017-01-02-talks.txt",
    ],
)
def test_show_takes_an_id_a_unique_prefix_or_a_path(kn, pair, name):
    result = kn("show", name)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[:2] == ["Talks", "2017-01-02 · by Ann, Bo · https://x.test/a"]


def test_show_several_articles_separates_them_with_a_blank_line(kn, pair):
    result = kn("show", "2018", "2017-01-02")
    assert (
        result.stdout
        == "Summit\n2018-05-01\n\nText.\n\nTalks\n2017-01-02 · by Ann, Bo · https://x.test/a\n\nText.\n"
    )


def test_show_raw_is_the_file_byte_for_byte(kn, pair):
    result = kn("show", "--raw", "2017-01-03")
    assert result.stdout_bytes == (pair / "2017" / "2017-01-03-tests.txt").read_bytes()
    assert result.stdout_bytes.endswith(b"Line one.\r\n")


def test_show_unknown_id_suggests_the_closest(kn, pair):
    result = kn("show", "2017-01-02-talk")  # a prefix: found
    assert result.exit_code == 0
    result = kn("show", "2017-01-02-tlaks")
    assert result.exit_code == 2
    assert result.stderr == (
        "kn: 2017-01-02-tlaks: no such article; did you mean 2017-01-02-talks or 2017-01-03-tests?\n"
    )


def test_show_ambiguous_prefix_lists_the_candidates(kn, pair):
    result = kn("show", "2017-01")
    assert result.exit_code == 2
    assert (
        result.stderr
        == "kn: 2017-01: ambiguous ID prefix, could be: 2017-01-02-talks, 2017-01-03-tests\n"
    )


def test_show_never_reaches_a_file_outside_the_archive(kn, pair, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text(article("Secret"), encoding="utf-8")
    for name in (str(outside), "articles/../secret.txt", "../secret"):
        result = kn("show", name)
        assert result.exit_code == 2, name
        assert "Secret" not in result.stdout


def test_show_on_an_empty_archive_is_an_error(kn, make_archive):
    make_archive({})
    result = kn("show")
    assert result.exit_code == 2
    assert result.stderr == "kn: the archive articles has no articles\n"


def test_show_a_bad_article_warns_and_exits_2_but_shows_the_good_one(kn, make_archive):
    make_archive({"good.txt": article("Good"), "bad.txt": "no front matter\n"})
    result = kn("show", "good", "bad")
    assert result.exit_code == 2
    assert result.stdout.startswith("Good\n")
    assert result.stderr == "kn: articles/bad.txt:1: no front matter: the first line must be ---\n"


def test_show_prints_the_known_names_and_errs_on_each_unknown_one_as_cat(kn, pair):
    result = kn("show", "2018", "no-such-id", "2017-01-02")
    assert result.exit_code == 2
    assert result.stdout.startswith("Summit\n") and "\nTalks\n" in result.stdout
    assert result.stderr.startswith("kn: no-such-id: no such article")


def test_a_named_article_is_judged_alone(kn, pair, tmp_path):
    (tmp_path / "outside.txt").write_text(article("Outside"), encoding="utf-8")
    (pair / "2017" / "link.txt").symlink_to(tmp_path / "outside.txt")
    (pair / "2017" / "bad.txt").write_text("no front matter\n", encoding="utf-8")
    for command in (["show", "2018"], ["facts", "2018"], ["show", "--raw", "2018"]):
        result = kn(*command)
        assert (result.exit_code, result.stderr) in ((0, ""), (1, "")), command
    assert kn("list").exit_code == 2  # the whole archive: its problems are told
    (pair / "2019").mkdir()
    (pair / "2019" / "2018-05-01-summit.txt").write_text(article("Again"), encoding="utf-8")
    result = kn("show", "2018-05-01-summit")  # resolving the name meets a second file
    assert result.exit_code == 2 and "duplicate ID" in result.stderr


def test_an_id_without_its_date_finds_or_suggests_the_article(kn, pair):
    assert kn("show", "talks").stdout.startswith("Talks\n")
    assert kn("show", "tal").stdout.startswith("Talks\n")  # a unique prefix of the rest
    result = kn("show", "tlaks")
    assert result.exit_code == 2
    assert "did you mean 2017-01-02-talks" in result.stderr


def test_a_mistyped_prefix_of_a_long_id_suggests_it(kn, make_archive):
    long = "2017-08-07-north-korea-calls-offer-of-talks-from-the-south-insincere"
    make_archive({f"{long}.txt": article("North Korea calls", "2017-08-07")})
    for name in ("north-korea-cals", "2017-08-07-north-korea-cals"):
        result = kn("show", name)
        assert result.exit_code == 2
        assert result.stderr == f"kn: {name}: no such article; did you mean {long}?\n"


def test_show_dash_reads_names_from_stdin_one_a_line(kn, make_archive):
    make_archive({"a.txt": article("Alpha", body="A.\n"), "b.txt": article("Beta", body="B.\n")})
    result = kn("show", "-", input="b\n\n  a  \nnone\n")
    assert result.exit_code == 2  # none is no article: an error, after the others
    assert result.stdout.startswith("Beta\n") and "\nAlpha\n" in result.stdout
    assert result.stderr.startswith("kn: none")
    assert kn("show", "-", input="").exit_code == 1


@pytest.mark.parametrize("command", [["show"], ["show", "--raw"], ["path"]])
def test_a_path_with_a_nul_from_stdin_is_no_article_not_an_internal_error(
    kn, make_archive, command
):
    """`kn search -l -0 | kn show -` hands over paths ended by NULs: no file is named so."""
    make_archive({"a.txt": article("Alpha", body="A.\n")})
    result = kn(*command, "-", input="articles/a.txt\0articles/a.txt\0\n")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (
        "kn: articles/a.txt\\x00articles/a.txt\\x00: not an article of the archive articles\n"
    )


@pytest.mark.parametrize("cache", ["1", ""], ids=["no-cache", "store"])
def test_the_newest_of_one_day_is_the_latest_time_given_then_the_first_id(kn, make_archive, cache):
    """Order: the date-time's instant (a plain date as midnight UTC), then the ID; never
    the files' mtimes, which a copy or a checkout changes."""
    import os

    root = make_archive({
        "a-morning.txt": article("Morning", "2017-08-07T09:00:00+00:00"),
        "b-evening.txt": article("Evening", "2017-08-07T18:00:00Z"),
        "c-day.txt": article("Day", "2017-08-07"),
        "d-day.txt": article("Also that day", "2017-08-07"),
    })  # fmt: skip
    for age, name in enumerate(["d-day", "c-day", "b-evening", "a-morning"]):
        os.utime(root / f"{name}.txt", (1e9 - age * 3600, 1e9 - age * 3600))  # d newest
    env = {"KN_NO_CACHE": cache}
    assert kn("show", env=env).stdout.startswith("Evening\n")
    listed = [line.split("\t")[0] for line in kn("list", env=env).stdout.splitlines()]
    assert listed == ["b-evening", "a-morning", "c-day", "d-day"]
    os.utime(root / "c-day.txt")  # touched now: the order stays
    assert kn("list", "--reverse", env=env).stdout.split("\t")[0] == "d-day"


def test_a_tab_in_an_item_does_not_wrap_it_early_on_a_terminal(kn, make_archive):
    # rich measured the item with its tab as one cell, then drew the tab as up to eight.
    make_archive({"a.txt": article("T", body="Points\n\n- item\twith a tab, then more words\n")})
    for command in ("show", "facts"):
        shown = strip_ansi(kn("--color", "always", command, env={"COLUMNS": "80"}).stdout)
        assert "item    with a tab, then more words" in shown, command
