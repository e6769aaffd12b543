"""kn search with grep's options (-o -v -m -L -x -h -H -A -B -C -E), POSIX classes, word
edges and newline alternatives, checked against GNU grep -E on news-like text; and no
pattern can hang it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from newstext import NewsText

from conftest import KN, article

GREP = shutil.which("grep")
pytestmark = pytest.mark.skipif(GREP is None, reason="needs grep")


def grep_in(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """GNU grep run where kn runs, beside the archive `root`: its paths are kn's."""
    return subprocess.run(
        [GREP, *args], cwd=root.parent, capture_output=True, check=False, text=True
    )


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    """Twelve generated news articles, each titled `Story` and a letter, so that no
    pattern below matches a title or other front matter (grep would see those lines)."""
    found = {}
    for index, (path, text) in enumerate(NewsText(seed=7).archive(12)):
        title = "Story " + "abcdefghijkl"[index]
        found[path] = re.sub(r"(?m)^title: .*$", f"title: {title}", text, count=1)
    found["2001/2001-01-01-breaks.txt"] = article(
        "Story z", "2001-01-01", body="One said so.\n* * *\nThe end.\n\nsaid\n"
    )
    return found


@pytest.fixture
def news(make_archive, texts, kn):
    make_archive(texts)
    listed = [
        json.loads(line)["path"] for line in kn("list", "--format", "jsonl").stdout.splitlines()
    ]
    fences = {
        f"articles/{path}": text.split("\n").index("---", 1) + 1 for path, text in texts.items()
    }
    return listed, fences


def grep(args: list[str], order: list[str], fences: dict[str, int]) -> str:
    """What grep -rHn -E prints over the files in kn's order, less the front-matter lines
    (and then less each PATH where -h has the last word)."""
    named = [arg for arg in args if arg in ("-h", "-H")][-1:] != ["-h"]
    args = [arg for arg in args if arg not in ("-h", "-H")]
    run = subprocess.run(
        [GREP, "-Hn", "-E", *args, "--", *order], capture_output=True, check=False, text=True
    )
    kept = []
    for line in run.stdout.splitlines():
        path = next(
            (p for p in order if line.startswith(p) and line[len(p) : len(p) + 1] in ":-"), ""
        )
        number = re.match(r"\d+", line[len(path) + 1 :]) if path else None
        rest = line[len(path) + 1 + (number.end() + 1 if number else 0) :]
        counts = "-c" in args
        if (
            number
            and int(number.group()) <= fences[path]
            and not (counts or rest.startswith("title:"))
        ):
            continue  # a front-matter line other than the title's
        if counts and line.endswith(":0"):
            continue  # kn -c leaves out articles with no match, as ripgrep does
        kept.append(line if named or not path else line[len(path) + 1 :])
    return "".join(f"{line}\n" for line in kept)


CASES = [
    ["said"],
    ["-o", "[[:upper:]][[:lower:]]+ [[:upper:]][[:lower:]]+"],
    ["-o", "-i", "said|the"],
    ["-v", "said"],
    ["-m", "2", "the"],
    ["-m", "3", "-o", "said"],
    ["-x", r"\* \* \*"],
    ["-x", "-v", "[^ ]+ .*"],
    ["-h", "said"],
    ["-h", "-H", "said"],
    ["-A", "1", "said"],
    ["-B", "2", "[[:digit:]]{3,} [[:alpha:]]"],
    ["-C", "1", r"\<the\>"],
    ["-C", "2", "-A", "0", "said"],
    ["-C", "0", "said"],
    ["-A", "0", "-m", "2", "the"],
    ["-o", "-C", "1", "said|the"],
    ["-o", "-B", "0", "-m", "1", "the"],
    ["-m", "1", "-A", "2", "said"],
    ["-c", "said"],
    ["-c", "-m", "2", "said"],
    ["-l", "[[:digit:]]+ [[:alpha:]]+"],
    ["-w", "-o", "said|sa"],
    ["-E", "said\nthe end"],
    [r"\<said\>"],
    ["[[:space:]]said[[:punct:]]"],
]


@pytest.mark.parametrize("args", CASES, ids=" ".join)
def test_search_prints_what_grep_E_prints(kn, news, args):
    order, fences = news
    expected = grep(args, order, fences)
    assert expected, "the case should print something"
    result = kn("search", *args)
    assert result.stderr == ""
    assert result.stdout == expected
    assert result.exit_code == 0


@pytest.mark.parametrize("args", [["-m", "0", "said"], ["-x", "said so"]])
def test_nothing_found_exits_1_as_grep(kn, news, args):
    order, fences = news
    assert grep(args, order, fences) == ""
    result = kn("search", *args)
    assert (result.exit_code, result.stdout) == (1, "")


def test_posix_classes_word_edges_and_newlines_where_python_failed(kn, make_archive):
    make_archive(
        {
            "a.txt": article("Coal", "2017-01-02", body="Exports of 1200 tonnes of coal.\n"),
            "b.txt": article("Charcoal", "2017-01-01", body="charcoal and coalition.\n"),
        }
    )
    counts = kn("search", "-c", "[[:digit:]]+ tonnes")
    assert (counts.stdout, counts.stderr) == ("articles/a.txt:1\n", "")  # no FutureWarning
    assert kn("search", "-l", r"\<coal\>").stdout == "articles/a.txt\n"
    assert kn("search", "-o", "-i", "coal\ntonnes").stdout == (
        "articles/a.txt:2:Coal\narticles/a.txt:5:tonnes\narticles/a.txt:5:coal\n"
        "articles/b.txt:2:coal\narticles/b.txt:5:coal\narticles/b.txt:5:coal\n"
    )


def test_json_marks_context_lines(kn, make_archive):
    make_archive({"a.txt": article("T", body="one\ntwo said\nthree\n")})
    records = [json.loads(line) for line in kn("search", "-C", "1", "said", "--format", "jsonl")
               .stdout.splitlines()]  # fmt: skip
    assert [(r["line"], r["text"], r.get("context", False)) for r in records] == [
        (5, "one", True),
        (6, "two said", False),
        (7, "three", True),
    ]


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_with_context_holds_each_group_and_no_separator(kn, make_archive, fmt):
    body = "one\ntwo said\nthree\nfour\nfive\nsix said\n"  # two groups in one article
    make_archive({"a.txt": article("T", body=body), "b.txt": article("U", body="said\n")})
    result = kn("search", "-C", "1", "said", "--format", fmt)
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    records = (
        json.loads(text) if fmt == "json" else [json.loads(line) for line in text.splitlines()]
    )
    assert [(r["path"], r["line"], r.get("context", False)) for r in records] == [
        ("articles/a.txt", 5, True),
        ("articles/a.txt", 6, False),
        ("articles/a.txt", 7, True),
        ("articles/a.txt", 9, True),
        ("articles/a.txt", 10, False),
        ("articles/b.txt", 5, False),
    ]


def test_a_title_shows_the_same_spans_with_context_as_without(kn, make_archive):
    make_archive({"a.txt": article("Said so", body="Said so.\n")})
    for args in ([], ["-C", "1"]):
        found = kn("search", "-x", "Said so", *args, "--format", "jsonl").stdout.splitlines()
        assert [(r["line"], r["spans"]) for r in map(json.loads, found)] == [(2, [[7, 14]])]


NASTY = [r"(a+)+$", r"(a|aa)*b", r"(.*)*x", r"(a*)*(b|c)", r"((a+)+)+!z", r"(x+x+)+y"]


@pytest.mark.parametrize("pattern", NASTY)
def test_no_pattern_can_hang_kn(tmp_path, process_env, pattern):
    root = tmp_path / "articles"
    root.mkdir()
    (root / "a.txt").write_text(article("T", body="a" * 100_000 + "!\n" + "x" * 50_000 + "\n"))
    run = subprocess.run(
        [KN, "search", "-c", pattern],
        cwd=tmp_path, env=process_env, capture_output=True, timeout=60,
    )  # fmt: skip
    assert run.returncode in (0, 1) and run.stderr == b""


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pattern=st.text(alphabet=st.sampled_from(list("ab()+*?|.$^![]{},1")), min_size=1, max_size=14)
)
def test_random_patterns_on_long_lines_finish_with_a_known_exit(
    tmp_path_factory, process_env, pattern
):
    home = tmp_path_factory.mktemp("hang")
    (home / "articles").mkdir()
    line = ("ab" * 30_000) + "a" * 40_000 + "!\n"
    (home / "articles" / "a.txt").write_text(article("T", body=line * 2))
    run = subprocess.run(
        [KN, "search", "-c", "--", pattern],
        cwd=home, env=process_env, capture_output=True, timeout=10,  # backtracking: hours
    )  # fmt: skip
    assert run.returncode in (0, 1, 2)
    assert run.stderr == b"" or run.stderr.startswith(b"kn: bad pattern ")
    assert b"Traceback" not in run.stderr and run.stderr.count(b"\n") <= 1


LINES = st.lists(st.text(alphabet=st.sampled_from(list("ab é\t界.")), max_size=12), max_size=6)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=LINES,
    pattern=st.sampled_from(
        ["a", "b*", "^", "$", "é", "a.b", "a\\s", "\\s", "a|", "界+", "^$", "\\bb", "[[:alpha:]]+"]
    ),
    flags=st.sampled_from([[], ["-i"], ["-o"], ["-w"], ["-v"], ["-c"], ["-l"], ["-l", "-i"]]),
)
def test_each_line_decides_alone_and_spans_are_the_line_s_own(
    make_archive, kn, lines, pattern, flags
):
    """The search over a whole body, its spans taken on the way, against RE2 line by line."""
    import re2

    make_archive({"a.txt": article("Zz", body="".join(f"{line}\n" for line in lines))})
    compiled = re2.compile(("(?i)" if "-i" in flags else "") + pattern)
    expected = []
    for number, line in enumerate(lines, 5):
        spans = [m.span() for m in compiled.finditer(line)]
        if "-w" in flags:  # an empty match stands as a word too, as grep's
            spans = [(s, e) for s, e in spans if not is_word(line, s - 1) and not is_word(line, e)]
            hit = bool(spans)
        else:
            hit = compiled.search(line) is not None
        spans = [(s, e) for s, e in spans if e > s]
        if "-v" in flags:
            hit, spans = not hit, []
        if hit and "-o" in flags:
            expected += [f"articles/a.txt:{number}:{line[s:e]}" for s, e in spans]
        elif hit:
            expected.append(f"articles/a.txt:{number}:{line}")
    if "-c" in flags:
        expected = [f"articles/a.txt:{len(expected)}"] if expected else []
    title_hit = compiled.search("Zz") is not None
    result = kn("search", *flags, "--", pattern)
    if "-l" in flags:
        assert result.stdout == ("articles/a.txt\n" if expected or title_hit else "")
        return
    body = [line for line in result.stdout.splitlines() if ":2:" not in line]
    if "-c" not in flags or (not title_hit and "-v" not in flags):  # -c counts the title too
        assert body == expected, (lines, pattern, flags)


def is_word(line: str, at: int) -> bool:
    return 0 <= at < len(line) and (line[at].isalnum() or line[at] == "_")


def test_what_trying_it_found(kn, make_archive):
    """Each case a bug found by trying kn as an attacker would."""
    make_archive(
        {
            "a.txt": article("Q", "2017-01-02", body="bar bar\nbaz\naaa aa a\nfoo\nxxxxx\n"),
            "b.txt": "---\ntitle: |\n  Block title\ndate: 2017-01-01\n---\nbody\n",
        }
    )
    # A later match on a line runs into the line break: the line's spans are its own.
    assert kn("search", "-o", r"r\s*").stdout == "articles/a.txt:5:r \narticles/a.txt:5:r\n"
    # Alternatives are leftmost-longest, as grep -E's.
    assert kn("search", "-oh", "a|aa").stdout == "5:a\n5:a\n6:a\n7:aa\n7:a\n7:aa\n7:a\n"
    assert kn("search", "-oh", "fo|foo", "-e", "x|xx+").stdout == "8:foo\n9:xxxxx\n"
    # The title is matched by its value, for -o and spans too; a block has no empty line.
    assert kn("search", "-o", "^Q").stdout == "articles/a.txt:2:Q\n"
    records = [
        json.loads(line)
        for line in kn("search", "^Q", "--format", "jsonl").stdout.split("\n")
        if line
    ]
    assert records[0]["spans"] == [[7, 8]]
    assert kn("search", "-o", "Block").stdout == "articles/b.txt:2:Block\n"
    assert kn("search", "-c", "^$").stdout == ""  # no line is empty, the block's included
    # grep -E reads a{,2} as a{0,2}.
    assert kn("search", "-c", "-x", "x{,5}").stdout == "articles/a.txt:1\n"
    # An argument that is not UTF-8 is a one-line error, not an internal one.
    for command in (["search", "caf\udce9"], ["find", "caf\udce9"], ["stats", "caf\udce9"]):
        result = kn(*command)
        assert result.exit_code == 2 and "not UTF-8" in result.stderr, command
        assert result.stderr.count("\n") == 1 and "internal" not in result.stderr


@pytest.mark.parametrize("pattern", ["said|the", "zzz-nowhere", "One said so", "the end"])
def test_L_exits_as_grep_3_5_on(kn, news, pattern):
    """grep -L's exit status tells whether any line was selected, not whether it listed."""
    order, _ = news
    run = subprocess.run([GREP, "-L", "-E", pattern, *order], capture_output=True, check=False)
    result = kn("search", "-L", pattern)
    assert result.stdout == run.stdout.decode()
    assert result.exit_code == run.returncode


@pytest.mark.parametrize(
    "args", [["-v", "-o", "said"], ["-o", ""], ["-o", "-x", "x*"], ["-o", "zzz"]]
)
def test_o_exits_as_grep_when_a_line_is_selected_and_nothing_printed(kn, news, args):
    order, _ = news
    run = subprocess.run([GREP, "-E", *args, "--", *order], capture_output=True, check=False)
    result = kn("search", *args)
    assert (result.stdout, result.exit_code) == ("", run.returncode)


@pytest.mark.parametrize("args", [["-o", ""], ["--format", "json", "z*"], ["-o", "y|$"]])
def test_an_empty_match_at_the_end_of_a_body_with_no_last_line_break_ends(
    tmp_path, process_env, args
):
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "a.txt").write_text(article("T", body="x\ny"))
    run = subprocess.run(
        [KN, "search", *args], cwd=tmp_path, env=process_env, capture_output=True, timeout=20
    )
    assert run.returncode == 0 and run.stderr == b""


@pytest.mark.parametrize("pattern", ["", "x*", "[[:punct:]]*"])
def test_w_takes_an_empty_match_between_two_non_word_characters_as_grep(kn, make_archive, pattern):
    root = make_archive({"a.txt": article("Zz", body="ab\n\n \n- x\nx-\nxx\n(\n")})
    run = grep_in(root, "-Hn", "-E", "-w", pattern, "articles/a.txt")
    body = [line for line in run.stdout.splitlines() if int(line.split(":")[1]) > 4]
    assert len(body) >= 5 and kn("search", "-w", pattern).stdout.splitlines() == body


@pytest.mark.parametrize("lines", ["said\nthe end\n", "", "\n", "said"])
def test_f_reads_patterns_a_line_each_from_a_file_as_grep(kn, news, tmp_path, lines):
    """An empty file holds no pattern (nothing matches); an empty line is a pattern."""
    order, fences = news
    patterns = tmp_path / "patterns"
    patterns.write_text(lines)
    for args in (["-f", str(patterns)], ["-v", "-f", str(patterns)], ["-f", "-"]):
        expected = grep([str(patterns) if arg == "-" else arg for arg in args], order, fences)
        result = kn("search", *args, input=lines)
        assert (result.stdout, result.exit_code) == (expected, 0 if expected else 1)


@pytest.mark.parametrize("pattern", ["a+", "[a-z]+", r"\w+b"])
def test_w_over_a_long_word_takes_time_linear_in_it(tmp_path, process_env, pattern):
    """A match inside a word never stands: it is not tried again at each of its characters."""
    root = tmp_path / "articles"
    root.mkdir()
    (root / "a.txt").write_text(article("T", body="a" * 300_000 + "_\n" + "a" * 300_000 + "0\n"))
    run = subprocess.run(
        [KN, "search", "-c", "-w", pattern],
        cwd=tmp_path, env=process_env, capture_output=True, timeout=30,
    )  # fmt: skip
    assert run.returncode == 1 and run.stderr == b""


@pytest.mark.parametrize("args", [["-c"], ["-o"], ["--format", "jsonl"]])
def test_matches_across_line_breaks_take_time_linear_in_the_text(tmp_path, process_env, args):
    """Each line's search would run on to the last line again, were it not matched alone."""
    root = tmp_path / "articles"
    root.mkdir()
    (root / "a.txt").write_text(article("T", body="a\n" * 200_000 + "ab\n"))
    run = subprocess.run(
        [KN, "search", *args, "a[^x]*b"],
        cwd=tmp_path, env=process_env, capture_output=True, timeout=30,
    )  # fmt: skip
    assert run.returncode == 0 and run.stdout.count(b"\n") == 1


@pytest.mark.parametrize("args", [["-o", "-C", "0"], ["-o", "-A", "1"], ["-o", "-B", "1"]])
def test_o_with_context_takes_a_line_of_empty_matches_as_selected_as_grep(kn, make_archive, args):
    """grep -o prints nothing of such a line, yet it is selected: exit 0, and `--` around it."""
    root = make_archive(
        {
            "a.txt": article("Zq", "2017-01-02", body="a\n\nb\nc\n\n"),
            "b.txt": article("Zq", "2017-01-01", body="\n"),
        }
    )
    files = ["articles/a.txt", "articles/b.txt"]
    run = grep_in(root, "-Hn", "-E", *args, "^$", *files)
    result = kn("search", *args, "^$")
    assert (result.stdout, result.exit_code) == (run.stdout, run.returncode) == ("--\n--\n", 0)


@pytest.mark.parametrize(
    "args", [["(coal\n)"], ["[^\n]*coal"], ["-e", "(", "-e", ")"], ["-e", "a[", "-e", "]b"]]
)
def test_patterns_bad_alone_are_an_error_even_where_joined_they_would_read(kn, make_archive, args):
    """Each line or -e is a pattern of its own, as grep's: a `(` and a `)` make no group."""
    root = make_archive({"a.txt": article("T", body="coal\n")})
    run = grep_in(root, "-E", *args, "articles/a.txt")
    result = kn("search", *args)
    assert (result.exit_code, run.returncode) == (2, 2)
    assert result.stdout == "" and result.stderr.startswith("kn: bad pattern '")


@pytest.mark.parametrize(
    "pattern", [r"\Asecond", r"first\z", "(?-m)second$", "(?i)FIRST", r"\d", r"\t\n", r"x\'"]
)
def test_escapes_and_groups_grep_gives_no_meaning_are_read_as_grep_reads_them(
    kn, make_archive, pattern
):
    """`\\d` is d and `\\A` is A, as in grep (not RE2's digit and start of text), and `(?` is a (
    and a ?: a search over the whole body and one line by line (-C 0) answered apart."""
    body = "first\nsecond\nAsecond\nfirstz\n?-msecond\n?iFIRST\n1 d\ntn\nx\n"
    root = make_archive({"a.txt": article("Zq", body=body)})
    run = grep_in(root, "-Hn", "-E", pattern, "articles/a.txt")
    lines = [line for line in run.stdout.splitlines(True) if int(line.split(":")[1]) > 4]
    assert lines, "the body has a line grep finds"
    for args in ([], ["-C", "0"]):
        printed = kn("search", *args, "--", pattern).stdout.replace("--\n", "")
        assert printed == "".join(lines), args


@pytest.mark.parametrize(
    "pattern", r"[{,] a+?b a??b x[\n] [a\]b] a**b *b x|+b (?b) ^*b a{01}b a{, [{9999}]".split()
)
def test_brackets_and_runs_of_repetitions_are_read_as_grep_reads_them(kn, make_archive, pattern):
    """In a bracket a backslash is itself and `{,` is text; `a+?` is `(a+)?`, not RE2's lazy a+;
    a repetition of nothing is left out (`*b` is b, `(?` is a (); a count's zeros are no matter."""
    body = "0\n{\nb\nab\nx\\\nxn\n\\b]\nz\n*b\na{,\n"
    root = make_archive({"a.txt": article("Zq", body=body)})
    run = grep_in(root, "-Hn", "-E", pattern, "articles/a.txt")
    lines = [line for line in run.stdout.splitlines(True) if int(line.split(":")[1]) > 4]
    assert lines, "the body has a line grep finds"
    assert kn("search", "--", pattern).stdout == "".join(lines)


@pytest.mark.parametrize(
    ("args", "matches"),
    [
        (["-o"], 80_000),
        (["--format", "jsonl"], 80_000),
        (["-w", "-o"], 40_000),
        (["-w", "--format", "jsonl"], 40_000),
    ],
)
def test_many_matches_in_a_long_line_of_other_scripts_take_time_linear_in_it(
    tmp_path, process_env, args, matches
):
    """Each match's byte offsets were turned into characters from the line's start; with -w,
    RE2 searched the line as text from each match on, encoding all of it again each time."""
    root = tmp_path / "articles"
    root.mkdir()
    (root / "a.txt").write_text(article("T", body="é coal " * matches + "\n"))
    run = subprocess.run(
        [KN, "search", *args, "coal"],
        cwd=tmp_path, env=process_env, capture_output=True, timeout=20,  # it took a minute
    )  # fmt: skip
    found = run.stdout.count(b"\n") if "-o" in args else len(json.loads(run.stdout)["spans"])
    assert run.returncode == 0 and found == matches


@pytest.mark.parametrize("args", [["-L", "-l"], ["-l", "-L"]])
def test_of_l_and_L_the_last_one_given_wins_as_in_grep(kn, make_archive, args):
    root = make_archive(
        {
            "a.txt": article("Zq", "2017-01-02", body="coal\n"),
            "b.txt": article("Zq", "2017-01-01", body="iron\n"),
        }
    )
    files = ["articles/a.txt", "articles/b.txt"]
    run = grep_in(root, *args, "coal", *files)
    expected = "articles/b.txt\n" if args[-1] == "-L" else "articles/a.txt\n"
    assert kn("search", *args, "coal").stdout == run.stdout == expected
