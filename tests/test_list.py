"""kn list: plain lines, JSON, the shared filters, order and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import time
import unicodedata
from pathlib import Path

import pytest

import korea_news
from conftest import GOLDEN, SEED_ID, article
from korea_news import sync


def test_list_prints_the_seed_as_golden_plain_line(kn, seed_archive):
    result = kn("list")
    assert result.exit_code == 0
    assert result.stdout == (GOLDEN / "list.txt").read_text(encoding="utf-8")
    assert result.stdout == (
        f"{SEED_ID}\t2017-08-07\tBBC News\tNorth Korea calls offer of talks from the South ‘insincere’\n"
    )


def test_list_json_matches_golden_file(kn, seed_archive):
    result = kn("list", "--format", "json")
    assert result.exit_code == 0
    assert result.stdout == (GOLDEN / "list.json").read_text(encoding="utf-8")
    assert (
        json.loads(result.stdout)[0]["title"]
        == "North Korea calls offer of talks from the South ‘insincere’"
    )


@pytest.fixture
def news(make_archive):
    return make_archive(
        {
            "2017/a.txt": article("Alpha", "2017-08-07", source="BBC News", tags="[Sanctions, un]"),
            "2017/b.txt": article(
                "Beta", "2017-08-07T23:30:00+09:00", source="Yonhap", tags="[un]"
            ),
            "2016/c.txt": article(
                "Gamma", "2016-12-31", source="bbc world", region="asia", people="[Kim, Moon]"
            ),
            "2018/d.txt": article("Delta", "2018-01-01 08:00:00", source="KCNA", draft="true"),
            ".hidden/e.txt": article("Hidden"),
            "2018/.f.txt": article("Hidden too"),
            "notes.md": "not an article",
        }
    )


def ids(stdout: str) -> list[str]:
    return [line.split("\t")[0] for line in stdout.splitlines()]


def test_list_orders_newest_first_mixing_dates_and_zoned_times(kn, news):
    # b is 2017-08-07 14:30 UTC, later than a (2017-08-07, read as midnight UTC).
    assert ids(kn("list").stdout) == ["d", "b", "a", "c"]


def test_list_reverse_turns_the_whole_order_round(kn, news):
    assert ids(kn("list", "--reverse").stdout) == ["c", "a", "b", "d"]


def test_list_skips_hidden_files_and_folders_and_other_suffixes(kn, news):
    assert "e" not in ids(kn("list").stdout)
    assert ".f" not in ids(kn("list").stdout)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--since", "2017"], ["d", "b", "a"]),
        (["--since", "2017-08-08"], ["d"]),
        (["--until", "2016"], ["c"]),
        (["--until", "2017-08"], ["b", "a", "c"]),
        (["--since", "2017-08-07", "--until", "2017-08-07"], ["b", "a"]),
        (["--since", "2016-12", "--until", "2016-12"], ["c"]),
        (["--tag", "un"], ["b", "a"]),
        (["--tag", "UN", "--tag", "sanctions"], ["a"]),
        (["--source", "bbc"], ["a", "c"]),
        (["--source", "BBC NEWS"], ["a"]),
        (["--where", "region=ASIA"], ["c"]),
        (["--where", "region = asia"], ["c"]),
        (["--where", "people=moon"], ["c"]),
        (["--where", "draft=true"], ["d"]),
        (["--where", "source=yonhap"], ["b"]),
        (["--where", "date=2016-12-31"], ["c"]),
        (["--where", "tags=un", "--where", "source=yonhap"], ["b"]),
        (["-n", "2"], ["d", "b"]),
        (["--limit", "1", "--reverse"], ["c"]),
    ],
)
def test_list_filters(kn, news, options, expected):
    result = kn("list", *options)
    assert result.exit_code == 0, result.stderr
    assert ids(result.stdout) == expected


def test_where_reads_front_matter_keys_named_id_or_path(kn, make_archive):
    # Exported front matter often holds an `id`: it is a key like any other, not the file name.
    make_archive({"a.txt": article("A", id="12345", path="x/y"), "b.txt": article("B")})
    assert ids(kn("list", "--where", "id=12345").stdout) == ["a"]
    assert ids(kn("list", "--where", "path=x/y").stdout) == ["a"]
    assert kn("list", "--where", "id=b").exit_code == 1


def test_keys_are_kept_as_written_even_where_yaml_reads_a_boolean_or_a_number(kn, make_archive):
    # YAML 1.1 reads on, no, yes and off as booleans, 0x1F as 31: keys are names, as written.
    make_archive({"a.txt": article("A", on="air", no="7", null="z", **{"0x1F": "x"})})
    extra = json.loads(kn("list", "--format", "jsonl").stdout)["extra"]
    assert extra == {"on": "air", "no": 7, "null": "z", "0x1F": "x"}
    assert ids(kn("list", "--where", "on=air").stdout) == ["a"]
    assert ids(kn("list", "--where", "no=7").stdout) == ["a"]


def test_filters_compare_text_however_its_accents_and_syllables_are_composed(kn, make_archive):
    # macOS may hand over é as e and an accent, and 북한 as its jamo (NFD): the same text.
    fields = {"source": "Agence Sé", "tags": "[북한]", "region": "Séoul"}
    make_archive({"a.txt": article("T", **fields), "b.txt": article("U")})
    nfd = {text: unicodedata.normalize("NFD", text) for text in ("SÉ", "북한", "séoul")}
    for options in (
        ["--tag", nfd["북한"]],
        ["--source", nfd["SÉ"]],
        ["--where", f"region={nfd['séoul']}"],
    ):
        assert ids(kn("list", *options).stdout) == ["a"], options


def test_list_exits_1_when_a_filter_selects_nothing(kn, news):
    result = kn("list", "--tag", "missing")
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", "")


@pytest.mark.parametrize(
    "option",
    [["--since", "August"], ["--until", "2017-13"], ["--where", "novalue"], ["--since", ""]],
)  # an empty date ("$FROM" unset) is no date, as August is none: not every article
def test_list_bad_filter_is_a_one_line_error_exit_2(kn, news, option):
    result = kn("list", *option)
    assert result.exit_code == 2
    assert result.stderr.startswith("kn: ") and result.stderr.count("\n") == 1
    assert result.stdout == ""


def test_list_jsonl_is_one_object_per_line(kn, news):
    lines = kn("list", "--format", "jsonl").stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["id"] for r in records] == ["d", "b", "a", "c"]
    assert records[1]["date"] == "2017-08-07T23:30:00+09:00"
    assert records[2]["tags"] == ["Sanctions", "un"]
    assert records[3]["extra"] == {"region": "asia", "people": ["Kim", "Moon"]}
    assert records[3]["path"] == "articles/2016/c.txt"


def test_jsonl_is_one_object_a_line_even_for_python_whose_splitlines_breaks_at_u2028(
    kn, make_archive
):
    make_archive({"a.txt": article('"Line\\u2028and\\u2029"'), "b.txt": article("B")})
    lines = kn("list", "--format", "jsonl").stdout.splitlines()
    assert [json.loads(line)["title"] for line in lines] == ["Line\u2028and\u2029", "B"]


def test_list_json_of_nothing_is_an_empty_array(kn, news):
    result = kn("list", "--format", "json", "--tag", "missing")
    assert (result.exit_code, json.loads(result.stdout)) == (1, [])


def test_list_warns_about_a_bad_article_serves_the_rest_and_exits_2(kn, make_archive):
    make_archive(
        {"good.txt": article("Good"), "bad.txt": "---\ntitle: [unclosed\ndate: 2017-01-01\n---\n"}
    )
    result = kn("list")
    assert result.exit_code == 2
    assert ids(result.stdout) == ["good"]
    assert result.stderr.startswith("kn: articles/bad.txt:3: YAML: ")


def test_list_finds_the_nearest_articles_folder_upward(kn, news, tmp_path, monkeypatch):
    (tmp_path / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "deep" / "er")
    result = kn("list", "-n", "1")
    assert result.stdout.split("\t")[0] == "d"
    assert json.loads(kn("list", "-n", "1", "--format", "json").stdout)[0]["path"].startswith("/")


def test_archive_option_beats_the_environment(kn, news, make_archive, tmp_path):
    other = tmp_path / "other"
    (other / "x").mkdir(parents=True)
    (other / "x" / "only.txt").write_text(article("Only"), encoding="utf-8")
    assert ids(kn("list", env={"KN_ARCHIVE": str(other)}).stdout) == ["only"]
    assert ids(kn("--archive", str(news), "list", env={"KN_ARCHIVE": str(other)}).stdout)[0] == "d"


def test_no_archive_is_a_one_line_error_saying_how_to_name_one(kn, tmp_path, monkeypatch):
    monkeypatch.chdir(Path("/"))
    result = kn("list")
    assert result.exit_code == 2
    assert "--archive" in result.stderr and "KN_ARCHIVE" in result.stderr
    assert result.stderr.count("\n") == 1


def test_plain_fields_never_split_a_record(kn, make_archive):
    make_archive({"t.txt": article('"Tab\\there\\nand newline"')})
    assert kn("list").stdout.split("\t")[3] == "Tab here and newline\n"


def test_kn_alone_shows_its_help(kn, news):
    result = kn()
    assert "Usage: kn [OPTIONS] COMMAND" in result.output and "Commands:" in result.output
    assert not result.output.startswith("kn: ")


@pytest.mark.parametrize(
    ("args", "told"),
    [
        (["list", "--format", "xml"], "invalid value for '--format'"),
        (["list", "--limit", "-1"], "invalid value for '-n' / '--limit'"),
        (["list", "--bogus"], "no such option '--bogus' (see kn list --help)"),
        (["--bogus", "list"], "no such option '--bogus' (see kn --help)"),
        (["nonsense"], "no such command 'nonsense' (see kn --help)"),
        (["search"], "give a PATTERN"),
    ],
)
def test_usage_errors_are_one_kn_line_and_exit_2(kn, news, args, told):
    result = kn(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"kn: {told}") and result.stderr.count("\n") == 1
    assert result.stdout == ""


IMPORTS = """
import sys
before = set(sys.modules)
from korea_news import cli
try:
    cli.cli.main(sys.argv[1:], prog_name="kn")
except SystemExit:
    pass
watched = ("rich", "yaml", "pathlib", "trafilatura", "feedparser", "urllib.request", "korea_news.find")
new = sorted(m for m in watched if m in sys.modules and m not in before)
print(" ".join(new), file=sys.stderr)
"""


@pytest.fixture(scope="module")
def settled_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One article, written once for the tests below (none changes it), old enough to be
    cached: each test has a cache of its own, so its first run still reads the file."""
    root = tmp_path_factory.mktemp("settled") / "articles"
    (root / "2018").mkdir(parents=True)
    text = article("Kim meets Moon", body="Kim and Moon met.\n")
    (root / "2018" / "c.txt").write_text(text, encoding="utf-8")
    time.sleep(sync.RACY_NS / 1e9 + 0.1)  # files just written are never cached
    return root


@pytest.mark.parametrize("command", [["list"], ["search", "-l", "Kim"]])
def test_a_piped_command_imports_only_what_it_uses(settled_archive, tmp_path, command):
    root = settled_archive
    env = {**os.environ, "KN_ARCHIVE": str(root), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("KN_NO_CACHE", None)
    # Without site (-S): an editable install's import hook would bring pathlib at start-up.
    package = Path(korea_news.__file__).parent.parent
    env["PYTHONPATH"] = os.pathsep.join([str(package), sysconfig.get_paths()["purelib"]])

    def imported() -> list[str]:
        run = subprocess.run(
            [sys.executable, "-S", "-c", IMPORTS, *command],
            env=env,
            capture_output=True,
            text=True,
        )
        assert (run.returncode, len(run.stdout.splitlines())) == (0, 1), run.stderr
        return run.stderr.split()

    assert imported() == ["korea_news.find", "yaml"]  # the first run parses and indexes
    assert imported() == []  # later runs take it from the cache; rich is for terminals


def test_adding_plain_text_imports_nothing_of_the_web(make_archive, tmp_path):
    root = make_archive({})
    (tmp_path / "story.txt").write_text("A title\n\nA body.\n", encoding="utf-8")
    env = {**os.environ, "KN_ARCHIVE": str(root)}
    package = Path(korea_news.__file__).parent.parent
    env["PYTHONPATH"] = os.pathsep.join([str(package), sysconfig.get_paths()["purelib"]])
    command = [sys.executable, "-S", "-c", IMPORTS, "add", str(tmp_path / "story.txt")]
    run = subprocess.run(command, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "trafilatura" not in run.stderr and "urllib.request" not in run.stderr
    assert "yaml" in run.stderr.split()  # the watch sees what was imported
