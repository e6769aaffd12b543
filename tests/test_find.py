"""kn find: the query language, its escaping, ranking, filters, formats, exit codes,
Korean, and freshness after edits."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import article, in_terminal, strip_ansi

CACHED = {"KN_NO_CACHE": "0"}

NEWS = {
    "2017/2017-08-05-coal.txt": article(
        "UN bans North Korean coal exports",
        "2017-08-05",
        source="Reuters",
        tags="[sanctions]",
        body="The Security Council banned coal, iron and seafood exports.\n",
    ),
    "2017/2017-08-06-iron.txt": article(
        "Iron ore prices fall",
        "2017-08-06",
        source="Bloomberg",
        body="Iron ore fell for a third day as Chinese steel mills cut output.\n",
    ),
    "2017/2017-08-07-talks.txt": article(
        "Seoul offers talks",
        "2017-08-07",
        source="BBC News",
        tags="[diplomacy]",
        body="South Korea offered military talks.\nNorth Korea called the offer insincere.\n",
    ),
    "2018/2018-01-02-olympics.txt": article(
        "Athletes from both Koreas march together",
        "2018-01-02",
        source="Yonhap",
        body="The Pyeongchang Olympics opened with a joint march.\n",
    ),
    "2018/2018-03-01-missile-ko.txt": article(
        "북한이 탄도미사일을 발사했다",
        "2018-03-01",
        source="연합뉴스",
        body="합동참모본부는 북한의 미사일 발사를 규탄했다.\n서울에서 긴급회의가 열렸다.\n",
    ),
    "2018/2018-03-02-weather-ko.txt": article(
        "서울에 폭설",
        "2018-03-02",
        source="연합뉴스",
        body="서울에서 밤새 눈이 내렸다.\n",
    ),
}


@pytest.fixture
def news(make_archive):
    return make_archive(NEWS)


def ids(result):
    return [line.split("\t")[0] for line in result.stdout.splitlines()]


@pytest.mark.parametrize("env", [None, CACHED], ids=["no-cache", "cache"])
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("coal", ["2017-08-05-coal"]),
        ("korea talks", ["2017-08-07-talks"]),
        ("COAL Seafood", ["2017-08-05-coal"]),  # case does not matter
        ('"iron ore"', ["2017-08-06-iron"]),
        ('"ore iron"', []),  # a phrase is its words in order
        ("coal OR steel", ["2017-08-05-coal", "2017-08-06-iron"]),
        ("iron -coal", ["2017-08-06-iron"]),
        ("insinc*", ["2017-08-07-talks"]),
        ("title:iron", ["2017-08-06-iron"]),
        ("title:korean", ["2017-08-05-coal"]),
        ("title:talks korea", ["2017-08-07-talks"]),
        ("coal OR talks -title:talks", ["2017-08-05-coal"]),
        ("coal OR talks title:-talks", ["2017-08-05-coal"]),  # as -title:talks
        ("Pyeongchång", ["2018-01-02-olympics"]),  # nor do accents
        ("북한", ["2018-03-01-missile-ko"]),  # 북한이, 북한의
        ("미사일", ["2018-03-01-missile-ko"]),  # inside 탄도미사일을
        ("서울", ["2018-03-02-weather-ko", "2018-03-01-missile-ko"]),
        ("title:서울", ["2018-03-02-weather-ko"]),
        ("서울 -폭설", ["2018-03-01-missile-ko"]),
    ],
)
def test_the_query_language_finds_what_it_says(kn, news, query, expected, env):
    result = kn("find", query, env=env)
    assert result.exit_code == (0 if expected else 1), result.stderr
    assert sorted(ids(result)) == sorted(expected)


def test_words_may_come_as_separate_arguments_and_a_dash_leaves_one_out(kn, news):
    assert ids(kn("find", "iron", "-coal")) == ["2017-08-06-iron"]
    assert ids(kn("find", "--limit", "1", "iron", "OR", "coal")) == ["2017-08-05-coal"]  # both


def test_the_title_ranks_above_the_body_and_ties_go_to_the_newest(kn, make_archive):
    body = "Coal was mentioned here once among many other words of the report.\n"
    make_archive(
        {
            "a.txt": article("Markets today", "2017-01-01", body=body),
            "b.txt": article("Coal exports banned", "2017-01-01", body="A ban.\n"),
            "c.txt": article("Markets today", "2017-01-02", body=body),
            "d.txt": article("Weather", "2017-01-03", body="Rain.\n"),
            "e.txt": article("Sports", "2017-01-04", body="Goals.\n"),
        }
    )
    assert ids(kn("find", "coal")) == ["b", "c", "a"]
    assert ids(kn("find", "coal", "--reverse")) == ["a", "c", "b"]


def test_scores_fall_and_the_pipe_line_is_id_score_title(kn, make_archive):
    make_archive(
        {
            f"{n}.txt": article(f"Story {n}", body="coal\n" * n + "filler words\n" * 9)
            for n in (1, 3)
        }
        | {f"x{n}.txt": article(f"Other {n}", body="nothing\n") for n in range(4)}
    )
    lines = [line.split("\t") for line in kn("find", "coal").stdout.splitlines()]
    assert [(line[0], line[2]) for line in lines] == [("3", "Story 3"), ("1", "Story 1")]
    assert float(lines[0][1]) > float(lines[1][1]) > 0


def test_limit_all_and_the_default_ten(kn, make_archive):
    make_archive({f"{n:02}.txt": article(f"Coal {n}", f"2017-01-{n:02}") for n in range(1, 13)})
    assert len(ids(kn("find", "coal"))) == 10
    assert ids(kn("find", "coal", "--limit", "2")) == ["12", "11"]
    assert len(ids(kn("find", "coal", "--all"))) == 12


def test_filters_are_those_of_list(kn, news):
    assert ids(kn("find", "korea", "--since", "2017-08-06")) == ["2017-08-07-talks"]
    assert ids(kn("find", "coal OR iron", "--source", "bloomberg")) == ["2017-08-06-iron"]
    assert ids(kn("find", "coal OR korea", "--tag", "sanctions")) == ["2017-08-05-coal"]
    assert ids(kn("find", "korea", "--where", "source=BBC News")) == ["2017-08-07-talks"]
    assert kn("find", "korea", "--until", "2016").exit_code == 1


def test_json_adds_score_and_a_snippet_with_spans(kn, news):
    result = kn("find", "iron", "--format", "jsonl")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [record["id"] for record in records] == ["2017-08-06-iron", "2017-08-05-coal"]
    listed = json.loads(kn("list", "--format", "jsonl", "--source", "Reuters").stdout)
    coal = records[1]
    assert {key: coal[key] for key in listed} == listed  # every field of list
    assert coal["snippet"] == "The Security Council banned coal, iron and seafood exports."
    assert [coal["snippet"][start:end] for start, end in coal["spans"]] == ["iron"]
    assert coal["score"] > 0
    assert json.loads(kn("find", "iron", "--format", "json").stdout) == records


def test_a_snippet_is_the_best_line_cut_around_the_words(kn, make_archive):
    long_line = " ".join(f"word{n}" for n in range(100)) + " sanctions tighten " + "x " * 100
    body = f"Opening line.\n{long_line}\nSanctions again.\n"
    make_archive({"a.txt": article("Report", body=body)})
    record = json.loads(kn("find", "sanctions tighten", "--format", "jsonl").stdout)
    snippet = record["snippet"]
    assert snippet.startswith("… word") and snippet.endswith(" …")
    assert len(snippet) <= 204
    marked = [snippet[start:end] for start, end in record["spans"]]
    assert marked == ["sanctions", "tighten"]


@pytest.mark.parametrize(
    "query",
    ['"', '"north korea', "OR", "coal OR", "OR coal", "coal OR -iron", "-coal", "...", "title:",
     "title: coal", "coal -title: iron"],  # FTS5's own `title : coal`: was coal anywhere
)  # fmt: skip
def test_a_query_that_cannot_be_read_is_one_line_and_exit_2(kn, news, query):
    result = kn("find", query)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("kn: find: ") and result.stderr.count("\n") == 1


@pytest.mark.parametrize("command", ["find", "stats"])
def test_a_mistyped_long_option_is_an_error_not_a_word_left_out(kn, news, command):
    result = kn(command, "coal", "--limt", "3")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "kn: find: --limt: no such option (leave out: -word)\n"


@pytest.mark.parametrize("query", ["AND", "NOT", "NEAR(", "a:b", "(coal", "coal)", "^x"])
def test_fts5_syntax_is_a_plain_word(kn, news, query):
    result = kn("find", query)
    assert result.exit_code in (0, 1), result.stderr
    assert result.stderr == ""


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text(alphabet=st.sampled_from(list("ab 북한\"*-:()^OR{}NEAR.+'\\\t")), max_size=24))
def test_no_query_is_an_internal_error(kn, news, query):
    result = kn("find", "--", query)
    assert result.exit_code in (0, 1, 2), (query, result.stderr)
    assert "internal error" not in result.stderr
    if result.exit_code == 2:
        assert result.stderr.startswith("kn: find: ")


def test_an_edit_is_found_at_once_and_a_removed_article_never_shown(kn, make_archive):
    root = make_archive({"a.txt": article("Old", body="coal\n"), "b.txt": article("B", body="x\n")})
    assert ids(kn("find", "coal", env=CACHED)) == ["a"]
    (root / "a.txt").write_text(article("Old", body="iron\n"), encoding="utf-8")
    (root / "b.txt").write_text(article("B", body="coal and more\n"), encoding="utf-8")
    assert ids(kn("find", "coal", env=CACHED)) == ["b"]
    (root / "b.txt").unlink()
    assert kn("find", "coal", env=CACHED).exit_code == 1
    assert ids(kn("find", "iron", env=CACHED)) == ["a"]


def test_a_long_body_is_found_by_its_beginning(kn, make_archive, monkeypatch):
    from korea_news import sync

    monkeypatch.setattr(sync, "INDEXED", 1000)
    body = "opening words\n" + "filler line\n" * 200 + "closing words\n"
    make_archive({"a.txt": article("Long", body=body)})
    assert ids(kn("find", "opening", env=CACHED)) == ["a"]
    assert kn("find", "closing", env=CACHED).exit_code == 1  # past what is indexed
    assert kn("search", "-l", "closing", env=CACHED).stdout == "articles/a.txt\n"


def test_on_a_terminal_titles_and_highlighted_snippets(news, process_env):
    env = {**process_env, "KN_ARCHIVE": str(news)}
    drawn = in_terminal(["find", "coal OR iron"], news.parent, env)
    text = strip_ansi(drawn)
    assert text.index("UN bans North Korean coal exports") < text.index("Iron ore prices fall")
    assert "2017-08-05-coal · 2017-08-05 · Reuters" in text
    assert "The Security Council banned coal, iron and seafood exports." in text
    assert "\x1b[" in drawn


def test_what_trying_it_found(kn, news, make_archive):
    """Each case a bug found by trying kn find as an attacker would."""
    # A one-character Korean word finds the pairs that start with it.
    assert ids(kn("find", "북")) == ["2018-03-01-missile-ko"]
    # --limit 0 is nothing (exit 1), and --limit wins over --all.
    assert (
        kn("find", "coal", "--limit", "0").stdout,
        kn("find", "coal", "--limit", "0").exit_code,
    ) == ("", 1)
    assert len(ids(kn("find", "--all", "--limit", "1", "coal OR iron"))) == 1
    # A word that ends a long line is in the snippet, highlighted.
    long_line = "The minister spoke at length about many things in the capital. " * 4
    make_archive({"long.txt": article("Long", body=long_line + "He finally mentioned lignite.\n")})
    record = json.loads(kn("find", "lignite", "--format", "jsonl").stdout)
    assert record["snippet"].endswith("mentioned lignite.")
    assert [record["snippet"][b:e] for b, e in record["spans"]] == ["lignite"]


@pytest.mark.parametrize("env", [None, CACHED], ids=["no-cache", "cache"])
def test_letters_and_digits_written_on_to_korean_are_words_of_their_own(kn, make_archive, env):
    make_archive({
        "lg.txt": article("LG전자 실적", "2024-01-05", body="UN에서 2017년에 열린 회의.\n"),
        "other.txt": article("Unrelated", "2024-01-06", body="Nothing here: 전자 2018 UNESCO.\n"),
    })  # fmt: skip
    for query in ("LG전자", "lg", "UN에서", "UN", "2017년", "2017", "title:LG", '"LG전자 실적"'):
        assert ids(kn("find", query, env=env)) == ["lg"], query
    assert ids(kn("find", "title:UN", env=env)) == []


def test_a_snippet_finds_and_marks_the_words_whatever_their_accents(kn, make_archive):
    make_archive({
        "a.txt": article("Travel", body="A first line.\nThe café in Séoul is open.\nİzmir later.\n"),
        "b.txt": article("Plain", body="A first line.\nThe cafe in Seoul is open.\n"),
    })  # fmt: skip

    def found(query):
        lines = kn("find", query, "--format", "jsonl").stdout.splitlines()
        return {r["id"]: [r["snippet"][b:e] for b, e in r["spans"]] for r in map(json.loads, lines)}

    assert found("cafe seoul") == {"a": ["café", "Séoul"], "b": ["cafe", "Seoul"]}
    assert found("CAFÉ Séoul") == {"a": ["café", "Séoul"], "b": ["cafe", "Seoul"]}
    assert found("izmir") == {"a": ["İzmir"]}


@pytest.mark.parametrize("env", [None, CACHED], ids=["no-cache", "cache"])
def test_korean_written_as_its_jamo_nfd_finds_and_is_found_as_written_whole(kn, make_archive, env):
    def nfd(text):
        return unicodedata.normalize("NFD", text)

    make_archive({
        "nfc.txt": article("북한 발표", "2024-01-05", body="북한이 발사했다.\n"),
        "nfd.txt": article("Mac", "2024-01-06", body=nfd("탄도미사일을 쐈다.\n")),
    })  # fmt: skip
    assert ids(kn("find", nfd("북한"), env=env)) == ["nfc"]
    assert ids(kn("find", nfd("북"), env=env)) == ["nfc"]  # one character: the pairs it starts
    assert ids(kn("find", "미사일", env=env)) == ["nfd"]
