"""kn search: grep's habits, checked against the real grep on the same files."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from conftest import article

FILES = {
    "2018/summit.txt": article(
        "Kim and Trump meet in Singapore",
        "2018-06-12",
        body=(
            "\nKim Jong-un met Donald Trump.\n\n"
            "The Korea summit was the first.\nKimchi was served; Kim's aides watched.\n"
            "Tabs\tstay\tas they are.\n"
        ),
        tags="[summit, korea]",
    ),
    "2017/sanctions.txt": article(
        "UN bans coal from North Korea",
        "2017-08-07",
        body="Coal, iron and lead are banned.\nAn a.b literal, and aXb.\nKorea objects.\n",
        tags="[sanctions]",
        source="BBC News",
    ).replace("\n", "\r\n"),
    "2017/later.txt": article(
        "Missile over Japan",
        "2017-09-03T06:00:00+09:00",
        body="North Korea fired a missile.\nNo coal here, but iron.\n",
        tags="[nuclear]",
    ),
    "2016/old.txt": article(
        "Korea tests a bomb", "2016-01-06", body="The Korea test.\n", tags="[nuclear]"
    ),
}
# Newest first, as kn orders articles.
ORDER = ["2018/summit.txt", "2017/later.txt", "2017/sanctions.txt", "2016/old.txt"]
GREP = shutil.which("grep")


@pytest.fixture
def archive(make_archive):
    return make_archive(FILES)


def grep(grep_args: list[str], files: list[str]) -> str:
    """What grep -Hn prints for the title and body lines of these files, in this order."""
    paths = [f"articles/{name}" for name in files]
    result = subprocess.run(
        [GREP, "-Hn", *grep_args, "--", *paths], capture_output=True, check=False, text=True
    )
    kept = []
    for line in result.stdout.splitlines():
        path, number, text = line.split(":", 2)
        name = path.removeprefix("articles/")
        fence = FILES[name].replace("\r\n", "\n").split("\n").index("---", 1) + 1
        if int(number) > fence or text.startswith("title:"):
            kept.append(line.removesuffix("\r"))  # kn prints a CRLF line without its CR
    return "".join(f"{line}\n" for line in kept)


AS_GREP = [
    (["Korea"], ["-E", "Korea"]),
    (["coal|iron"], ["-E", "coal|iron"]),
    (["-i", "coal|korea"], ["-i", "-E", "coal|korea"]),
    (["-w", "Kim"], ["-w", "-E", "Kim"]),
    (["-w", "-i", "kim|trump"], ["-w", "-i", "-E", "kim|trump"]),
    (["-F", "a.b"], ["-F", "a.b"]),
    (["a.b"], ["-E", "a.b"]),
    (["-e", "coal", "-e", "Missile"], ["-E", "-e", "coal", "-e", "Missile"]),
    (["-F", "-e", "Kim's", "-e", "\t"], ["-F", "-e", "Kim's", "-e", "\t"]),
    (["^The"], ["-E", "^The"]),
    (["watched\\.$"], ["-E", "watched\\.$"]),
]


@pytest.mark.skipif(GREP is None, reason="needs grep")
@pytest.mark.parametrize(("kn_args", "grep_args"), AS_GREP)
def test_plain_lines_equal_grep_Hn(kn, archive, kn_args, grep_args):
    result = kn("search", *kn_args)
    expected = grep(grep_args, ORDER)
    assert expected, "the case should match something"
    assert result.stdout == expected
    assert result.exit_code == 0


@pytest.mark.skipif(GREP is None, reason="needs grep")
@pytest.mark.parametrize(("kn_args", "grep_args"), AS_GREP)
def test_counts_are_the_lines_grep_Hn_prints(kn, archive, kn_args, grep_args):
    counts: dict[str, int] = {}
    for line in grep(grep_args, ORDER).splitlines():
        path = line.split(":", 1)[0]
        counts[path] = counts.get(path, 0) + 1
    for env in ({"KN_NO_CACHE": "1"}, {"KN_NO_CACHE": ""}):  # counted as each file is read
        result = kn("search", "-c", *kn_args, env=env)
        assert result.stdout == "".join(f"{path}:{n}\n" for path, n in counts.items())


def test_a_crlf_line_ends_before_its_cr(kn, archive):
    # grep would see the CR before the end of the line; kn reads CRLF as a line ending.
    assert (
        kn("search", "banned\\.$").stdout
        == "articles/2017/sanctions.txt:7:Coal, iron and lead are banned.\n"
    )
    assert kn("search", "-l", "banned\\.$").stdout == "articles/2017/sanctions.txt\n"


def test_a_title_match_reports_the_title_line(kn, archive):
    assert kn("search", "Singapore").stdout == (
        "articles/2018/summit.txt:2:title: Kim and Trump meet in Singapore\n"
    )


def test_filters_exclude_articles_by_date_and_tag(kn, archive):
    assert grep(["Korea"], ["2016/old.txt"])  # it would match, but is filtered out
    result = kn("search", "Korea", "--since", "2017")
    assert "old.txt" not in result.stdout and "summit.txt" in result.stdout
    result = kn("search", "Korea", "--tag", "sanctions")
    assert {line.split(":")[0] for line in result.stdout.splitlines()} == {
        "articles/2017/sanctions.txt"
    }
    assert kn("search", "Korea", "--tag", "sanctions", "--until", "2016").exit_code == 1


def test_limit_keeps_the_newest_matching_articles(kn, archive):
    assert kn("search", "-l", "Korea", "--limit", "2").stdout == (
        "articles/2018/summit.txt\narticles/2017/later.txt\n"
    )
    assert (
        kn("search", "-l", "Korea", "--limit", "1", "--reverse").stdout == "articles/2016/old.txt\n"
    )


def test_l_prints_each_path_once_and_0_ends_them_with_nul(kn, archive):
    assert kn("search", "-l", "coal").stdout == (
        "articles/2017/later.txt\narticles/2017/sanctions.txt\n"
    )
    assert kn("search", "-l", "-0", "coal").stdout == (
        "articles/2017/later.txt\0articles/2017/sanctions.txt\0"
    )


def test_c_prints_path_and_count_of_matching_lines(kn, archive):
    assert kn("search", "-c", "-i", "korea").stdout == (
        "articles/2018/summit.txt:1\narticles/2017/later.txt:1\n"
        "articles/2017/sanctions.txt:2\narticles/2016/old.txt:2\n"
    )


def test_q_prints_nothing_and_exits_0_on_a_match_1_without(kn, archive):
    assert (kn("search", "-q", "coal").exit_code, kn("search", "-q", "coal").stdout) == (0, "")
    assert (kn("search", "-q", "xyzzy").exit_code, kn("search", "-q", "xyzzy").stdout) == (1, "")


def test_exit_1_and_no_output_when_nothing_matches(kn, archive):
    result = kn("search", "xyzzy")
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", "")


@pytest.mark.parametrize("pattern", ["a(", "[z-a]", "a{2,1}", "(?P<n"])
def test_a_bad_pattern_is_a_one_line_error_exit_2(kn, archive, pattern):
    result = kn("search", pattern)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"kn: bad pattern {pattern!r}: ")
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    assert "(?m" not in kn("search", "-i", "-e", "ok", "-e", pattern).stderr


def test_no_pattern_at_all_is_a_usage_error(kn, archive):
    assert kn("search").exit_code == 2


def test_jsonl_records_carry_spans_into_the_text(kn, archive):
    records = [
        json.loads(line)
        for line in kn("search", "--format", "jsonl", "-i", "kim").stdout.splitlines()
    ]
    assert records[0] == {
        "id": "summit",
        "path": "articles/2018/summit.txt",
        "line": 2,
        "text": "title: Kim and Trump meet in Singapore",
        "spans": [[7, 10]],
    }
    for record in records:
        for start, end in record["spans"]:
            assert record["text"][start:end].casefold() == "kim"
    kimchi = next(r for r in records if "Kimchi" in r["text"])
    assert kimchi["spans"] == [[0, 3], [19, 22]]


def test_json_l_gives_article_objects_and_c_gives_counts(kn, archive):
    articles = json.loads(kn("search", "--format", "json", "-l", "coal").stdout)
    assert [a["id"] for a in articles] == ["later", "sanctions"]
    assert articles[1]["source"] == "BBC News"
    counts = json.loads(kn("search", "--format", "json", "-c", "coal").stdout)
    assert counts == [
        {"id": "later", "path": "articles/2017/later.txt", "count": 1},
        {"id": "sanctions", "path": "articles/2017/sanctions.txt", "count": 1},
    ]


def test_color_always_in_a_pipe_highlights_as_grep_does(kn, archive):
    result = kn("--color", "always", "search", "Singapore")
    assert result.stdout == (
        "articles/2018/summit.txt:2:title: Kim and Trump meet in "
        "\x1b[01;31m\x1b[KSingapore\x1b[m\x1b[K\n"
    )


def test_an_escaped_yaml_title_is_still_searched(kn, make_archive):
    make_archive(
        {
            "q.txt": '---\ntitle: "Kim\\u2019s \\"visit\\""\ndate: 2017-01-01\n---\nBody.\n',
            "s.txt": "---\ntitle: 'It''s over'\ndate: 2017-01-02\n---\nBody.\n",
            "f.txt": "---\ntitle: >\n  Folded over\n  two lines\ndate: 2017-01-03\n---\nBody.\n",
        }
    )
    assert kn("search", "-l", 'Kim’s "visit"').stdout == "articles/q.txt\n"
    assert kn("search", "-l", "It's").stdout == "articles/s.txt\n"
    assert kn("search", "over two").stdout == "articles/f.txt:2:title: >\n"


@pytest.mark.parametrize("pattern", [r"(?<!\s)foo", r"(a)\1", "x(?=y)"])
def test_look_around_and_back_references_are_errors_not_slow_answers(kn, make_archive, pattern):
    make_archive({"a.txt": article("T", body="x\nfoo\n")})
    result = kn("search", pattern)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"kn: bad pattern {pattern!r}: ")
    assert "linear in the text" in result.stderr and result.stderr.count("\n") == 1


def test_an_invalid_article_that_may_match_is_named_and_exit_is_2(kn, make_archive):
    make_archive(
        {"good.txt": article("coal mine", body="coal\n"), "bad.txt": "coal without front matter\n"}
    )
    result = kn("search", "coal")
    assert result.exit_code == 2
    assert result.stdout == "articles/good.txt:2:title: coal mine\narticles/good.txt:5:coal\n"
    assert result.stderr == "kn: articles/bad.txt:1: no front matter: the first line must be ---\n"


def test_q_exits_0_on_a_match_even_beside_a_bad_article(kn, make_archive):
    make_archive({"good.txt": article("coal"), "bad.txt": "coal\n"})
    assert kn("search", "-q", "coal").exit_code == 0


# --- one reader decides: the same answer with the cache and without it -------------------


@pytest.mark.parametrize("cached", ["", "1"], ids=["cache", "no cache"])
@pytest.mark.parametrize(
    ("front", "pattern"),
    [
        ("title: Foo talks\n", "^Foo"),
        ("title: Coal ban   # note\n", "Coal ban$"),
        ("title: Coal ban\r\n", "Coal ban$"),
        ('title: "Coal\\Nban"\n', "Coal.ban"),  # U+0085, a line break to str.splitlines
        ('title: "Kim\\u2019s visit"\n', "Kim’s"),
    ],
)
def test_a_title_matches_with_and_without_the_cache(kn, make_archive, front, pattern, cached):
    make_archive({"t.txt": f"---\n{front}date: 2017-01-01\n---\nNothing here.\n"})
    result = kn("search", "-l", pattern, env={"KN_NO_CACHE": cached})
    assert (result.exit_code, result.stdout) == (0, "articles/t.txt\n")


@pytest.mark.parametrize("cached", ["", "1"], ids=["cache", "no cache"])
def test_an_invalid_article_is_reported_with_and_without_the_cache(kn, make_archive, cached):
    make_archive({"a.txt": article("A", body="coal\n"), "b.txt": article("B", "2017-02-30")})
    result = kn("search", "coal", env={"KN_NO_CACHE": cached})
    assert (result.exit_code, result.stdout) == (2, "articles/a.txt:5:coal\n")
    assert result.stderr.startswith("kn: articles/b.txt:3: date: ")


@pytest.mark.parametrize("cached", ["", "1"], ids=["cache", "no cache"])
@pytest.mark.parametrize("options", [[], ["-l"], ["-c"], ["-q"], ["--format", "json"]])
def test_a_match_never_crosses_a_line_break(kn, make_archive, options, cached):
    make_archive({"a.txt": article("A", body="foo\nbar\n")})
    for pattern in (r"foo\sbar", "foo[^x]bar", "(?s)foo.bar"):
        result = kn("search", *options, pattern, env={"KN_NO_CACHE": cached})
        assert result.exit_code == 1, (pattern, result.stdout)


@pytest.mark.parametrize("cached", ["", "1"], ids=["cache", "no cache"])
def test_a_match_across_a_line_break_hides_no_line_after_it(kn, make_archive, cached):
    make_archive({"a.txt": article("A", body="foo\nbar foo bar\n")})
    for options, printed in [(["-l"], "articles/a.txt\n"), (["-c"], "articles/a.txt:1\n")]:
        result = kn("search", *options, r"foo\sbar", env={"KN_NO_CACHE": cached})
        assert (result.exit_code, result.stdout) == (0, printed), options


def test_n_is_greps_line_number_flag_and_limit_limits_articles(kn, archive):
    with_n = kn("search", "-n", "Korea")
    assert (with_n.exit_code, with_n.stdout) == (0, kn("search", "Korea").stdout)
    assert len(kn("search", "-l", "Korea", "--limit", "1").stdout.splitlines()) == 1


@pytest.mark.parametrize("option", [["--no-cache"], ["--color", "always"], ["--archive", "other"]])
def test_global_options_work_after_the_command(kn, archive, option, tmp_path):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "o.txt").write_text(article("Other Korea"), encoding="utf-8")
    for command in (["list"], ["search", "Korea"], ["facts"], ["show"], ["check"]):
        after, before = kn(*command, *option), kn(*option, *command)
        assert (after.exit_code, after.stdout) == (before.exit_code, before.stdout), command
    # Each option had its effect: another archive, grep's colours in a pipe.
    if option[0] == "--archive":
        assert kn("list", *option).stdout.startswith("o\t")
    if option[0] == "--color":
        assert "\x1b[01;31m" in kn("search", "Korea", *option).stdout


def test_no_cache_after_the_command_writes_no_cache(kn, archive, own_home):
    assert kn("list", "--no-cache", env={"KN_NO_CACHE": ""}).exit_code == 0
    assert not (own_home / ".cache").exists()


def test_each_command_describes_its_own_text_output(kn):
    helps = {name: kn(name, "--help").stdout for name in ("list", "show", "search", "facts")}
    assert "a table on a terminal" in helps["list"]
    assert all(
        "a table on a terminal" not in text for name, text in helps.items() if name != "list"
    )
    assert "PATH:LINE:TEXT" in helps["search"] and "HEADING" in helps["facts"]


@pytest.mark.parametrize("option", ["-m", "-A", "-B", "-C"])
def test_a_count_beyond_any_is_as_many_as_there_are(kn, archive, option):
    huge = kn("search", option, "99999999999999999999", "coal")
    assert (huge.exit_code, huge.stderr) == (0, "")
    assert huge.stdout == kn("search", option, "1000000", "coal").stdout
