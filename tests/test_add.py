"""kn add: new articles from plain text, written atomically, never overwriting one."""

from __future__ import annotations

import datetime as dt
import errno
import os
import signal
import subprocess
import sys
import threading
import time
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import GOLDEN, SEED_ID
from korea_news import archive as archive_module
from korea_news import compose, frontmatter, write

SEED_BODY = (
    (GOLDEN / "articles" / "2017" / f"{SEED_ID}.txt")
    .read_text(encoding="utf-8")
    .split("---\n", 2)[2]
)
SEED_PLAIN = "North Korea calls offer of talks from the South ‘insincere’\n" + SEED_BODY


def stored(root: Path) -> dict[str, bytes]:
    """Every file below root, hidden ones included, by relative path."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture
def empty(make_archive):
    return make_archive({})


def test_adding_the_seed_gives_the_bundled_article(kn, empty, tmp_path):
    source = tmp_path / "seed.txt"
    source.write_text(SEED_PLAIN, encoding="utf-8")
    result = kn("add", str(source), "--date", "2017-08-07", "--source", "BBC News")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"articles/2017/{SEED_ID}.txt\n"
    added = json_of(kn("show", SEED_ID, "--format", "json").stdout)
    bundled = json_of(
        kn("--archive", str(GOLDEN / "articles"), "show", SEED_ID, "--format", "json").stdout
    )
    for key in ("id", "title", "date", "source", "url", "authors", "extra", "body"):
        assert added[key] == bundled[key], key
    assert kn("check").exit_code == 0


def json_of(text: str) -> dict:
    import json

    return json.loads(text)[0]


def test_the_same_text_again_names_the_id_and_changes_nothing(kn, empty, tmp_path):
    source = tmp_path / "a.txt"
    source.write_text("A title\n\nBody.\n", encoding="utf-8")
    assert kn("add", str(source), "--date", "2020-01-02").exit_code == 0
    before = stored(empty)
    result = kn("add", str(source), "--date", "2020-01-02")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "already in the archive as 2020-01-02-a-title" in result.stderr
    assert stored(empty) == before


def test_the_same_title_and_date_with_another_text_takes_the_next_free_id(kn, empty, tmp_path):
    for name, body in (("a", "Body."), ("b", "Other body."), ("c", "A third.")):
        (tmp_path / f"{name}.txt").write_text(f"A title\n\n{body}\n", encoding="utf-8")
    assert kn("add", str(tmp_path / "a.txt"), "--date", "2020-01-02").exit_code == 0
    before = stored(empty)
    second = kn("add", str(tmp_path / "b.txt"), str(tmp_path / "c.txt"), "--date", "2020-01-02")
    assert (second.exit_code, second.stderr) == (0, "")
    assert second.stdout == (
        "articles/2020/2020-01-02-a-title-2.txt\narticles/2020/2020-01-02-a-title-3.txt\n"
    )
    assert {k: v for k, v in stored(empty).items() if k in before} == before  # kept as it was
    assert stored(empty)["2020/2020-01-02-a-title-3.txt"].endswith(b"\nA third.\n")


def test_an_id_given_with_id_that_another_text_holds_is_refused(kn, empty, tmp_path):
    (tmp_path / "a.txt").write_text("A title\n\nBody.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("A title\n\nOther body.\n", encoding="utf-8")
    assert kn("add", str(tmp_path / "a.txt"), "--id", "chosen").exit_code == 0
    before = stored(empty)
    result = kn("add", str(tmp_path / "b.txt"), "--id", "chosen")
    assert result.exit_code == 2
    assert result.stderr == (
        f"kn: {tmp_path / 'b.txt'}: chosen: another article already has this ID "
        f"(articles/{dt.date.today().year}/chosen.txt); nothing was written\n"
    )
    assert stored(empty) == before


def test_options_fill_every_field_in_order(kn, empty):
    result = kn(
        "add",
        "-",
        "--title",
        "Given: title",
        "--date",
        "2019-03-04T05:06:07+09:00",
        "--source",
        "Yonhap",
        "--url",
        "https://x.test/a",
        "--author",
        "Kim",
        "--author",
        "Lee",
        "--tag",
        "a b",
        "--tag",
        "c",
        input="First line is body.\n",
    )
    assert result.exit_code == 0, result.stderr
    path = empty / "2019" / "2019-03-04-given-title.txt"
    assert path.read_text(encoding="utf-8") == (
        "---\ntitle: 'Given: title'\ndate: 2019-03-04 05:06:07+09:00\nsource: Yonhap\n"
        "url: https://x.test/a\nauthors: [Kim, Lee]\ntags: [a b, c]\n---\nFirst line is body.\n"
    )


def test_a_file_with_front_matter_keeps_it_and_options_override(kn, empty, tmp_path):
    source = tmp_path / "fm.txt"
    source.write_text(
        "---\ntitle: Kept\ndate: 2018-01-01\nregion: asia\ntags: [x]\n---\nBody.\n",
        encoding="utf-8",
    )
    assert kn("add", str(source), "--tag", "y").exit_code == 0
    text = (empty / "2018" / "2018-01-01-kept.txt").read_text(encoding="utf-8")
    assert text == "---\ntitle: Kept\ndate: 2018-01-01\ntags: [y]\nregion: asia\n---\nBody.\n"


def test_date_defaults_to_today(kn, empty):
    assert kn("add", "-", input="Today\n\nNews.\n").exit_code == 0
    today = dt.date.today()
    assert (empty / f"{today.year}" / f"{today.isoformat()}-today.txt").exists()


def test_bad_inputs_are_named_the_others_still_added_exit_2(kn, empty, tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("Good one\n\nBody.\n", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("  \n\n", encoding="utf-8")
    (tmp_path / "latin.txt").write_bytes("Café\n".encode("latin-1"))
    (tmp_path / "binary.txt").write_bytes(b"PK\x03\x04\x00\x00")
    (tmp_path / "folder").mkdir()
    names = ["empty.txt", "latin.txt", "binary.txt", "folder", "missing.txt", "good.txt"]
    result = kn("add", *[str(tmp_path / n) for n in names], "--date", "2020-01-01")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 5 and all(line.startswith("kn: ") for line in lines)
    for name, message in zip(
        names,
        ["empty: nothing to add", "not UTF-8 text", "binary file", "is a folder", "cannot read"],
        strict=False,
    ):
        assert any(str(tmp_path / name) in line and message in line for line in lines), name
    assert stored(empty) == {
        "2020/2020-01-01-good-one.txt": b"---\ntitle: Good one\ndate: 2020-01-01\n---\n\nBody.\n"
    }


@pytest.mark.parametrize(
    "bad_id",
    ["../x", "a/b", ".hidden", "-x", "x-", "a b", "x\0", "Big", "a_b", "a.b", "a--b", "x" * 252],
)
def test_an_id_that_is_no_slug_is_refused_before_any_input_is_read(kn, empty, bad_id):
    result = kn("add", "-", "--id", bad_id, input="T\n\nB\n")
    assert result.exit_code == 2 and stored(empty) == {}
    shown = bad_id.replace("\0", "\\x00")
    assert result.stderr.startswith(f"kn: --id {shown}: not a slug: lower-case letters and digits")
    assert result.stderr.count("\n") == 1


def test_an_id_of_any_script_is_a_slug_and_is_kept_in_nfc(kn, empty):
    decomposed = unicodedata.normalize("NFD", "2024-01-14-북한-발사")
    result = kn("add", "-", "--id", decomposed, "--date", "2024-01-14", input="T\n\nB\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "articles/2024/2024-01-14-북한-발사.txt\n"
    assert result.stdout == unicodedata.normalize("NFC", result.stdout)
    assert kn("add", "-", "--id", "x" * 251, input="T\n\nC\n").exit_code == 0  # 255 bytes


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        (
            "North Korea calls offer of talks from the South ‘insincere’",
            "north-korea-calls-offer-of-talks-from-the-south-insincere",
        ),
        ("Ça coûte 3 € — déjà!", "ca-coute-3-deja"),
        ("A" * 80, "a" * 60),
        (
            "one two three four five six seven eight nine ten eleven twelve thirteen",
            "one-two-three-four-five-six-seven-eight-nine-ten-eleven",
        ),
        ("북한, 동해상으로 탄도미사일 발사", "북한-동해상으로-탄도미사일-발사"),
        ("北朝鮮、ミサイル発射", "北朝鮮-ミサイル発射"),
        ("Samsung 갤럭시 S24 출시", "samsung-갤럭시-s24-출시"),
        ("Москва: новые санкции", "москва-новые-санкции"),
        ("हिन्दी समाचार", "हिन्दी-समाचार"),  # the vowel signs stay with their letters
        ("Straße ＡＢＣ ①", "straße-abc-1"),
        ("北" * 80, "北" * 60),
        ("𠀀" * 60, "𠀀" * 50),  # four bytes a character: at most 200 bytes
    ],
)
def test_slug(title, expected):
    assert compose.slug(title) == expected
    assert len(compose.slug(title)) <= 60 and len(compose.slug(title).encode()) <= 200
    assert compose.is_slug(expected)


@pytest.mark.parametrize(
    "slug", ["북한-동해상으로-탄도미사일-발사", "νέα-κυβέρνηση", "новый-закон"]
)
def test_a_slug_decomposed_is_no_slug(slug):
    assert compose.is_slug(slug)
    assert not compose.is_slug(unicodedata.normalize("NFD", slug))


def test_a_korean_title_keeps_its_letters_in_the_id(kn, empty):
    title = "북한, 동해상으로 탄도미사일 발사"
    text = f"{title}\n\n북한이 14일 동해상으로 탄도미사일을 발사했다.\n"
    result = kn("add", "-", "--date", "2024-01-14", input=unicodedata.normalize("NFD", text))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "articles/2024/2024-01-14-북한-동해상으로-탄도미사일-발사.txt\n"
    for name in ("북한", "2024-01-14-북한", unicodedata.normalize("NFD", "북한-동해")):
        shown = kn("show", name)
        assert shown.exit_code == 0, name  # the title as given (NFD), the ID in NFC
        assert shown.stdout.startswith(unicodedata.normalize("NFD", f"{title}\n")), name
    assert (
        kn("path", "북한").stdout
        == "articles/2024/2024-01-14-북한-동해상으로-탄도미사일-발사.txt\n"
    )


def test_a_title_without_letters_or_digits_gets_a_digest_id():
    draft = compose.draft("!!! ???\n\n본문\n", Path("-"), {"date": "2017-08-07"})
    assert draft.id.startswith("2017-08-07-") and len(draft.id) == len("2017-08-07-") + 10


yaml_text = st.one_of(
    st.text(min_size=1, max_size=200),
    st.sampled_from(
        [
            "No",
            "yes",
            "null",
            "~",
            "2017",
            "1.5",
            "0x1F",
            "- a",
            "[a]",
            "{a: b}",
            "a: b",
            "# c",
            "'q'",
            '"q"',
            "&a",
            "*a",
            "!tag",
            "%x",
            "@x",
            "`x`",
            "?",
            ":",
            "|",
            ">",
            "\u2028",
            "A" * 5000,
        ]
    ),
)


@given(
    title=yaml_text, tags=st.lists(yaml_text, max_size=4), source=st.one_of(st.none(), yaml_text)
)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_what_add_writes_loads_back_with_exactly_the_fields_given(title, tags, source):
    options = {"title": title, "date": "2017-08-07", "tags": tags, "source": source, "id": "x"}
    try:
        draft = compose.draft("body\n", Path("-"), options)
    except Exception as error:  # only a title with no visible text may be refused
        assert isinstance(error, frontmatter.InvalidArticle)
        assert not title.strip()
        return
    article, body = frontmatter.parse(draft.text.encode("utf-8"), Path("x.txt"), "x")
    assert article.title == title
    assert list(article.tags) == tags
    assert article.source == source
    assert body == "body\n"


def test_a_failed_write_leaves_nothing_behind(kn, empty, monkeypatch):
    real_write = os.write

    def full_disk(fd: int, data: bytes) -> int:
        if len(data) > 10:
            real_write(fd, bytes(data[:10]))
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(write.os, "write", full_disk)
    result = kn("add", "-", "--date", "2020-01-01", input="A title\n\nA body long enough.\n")
    assert result.exit_code == 2
    assert "No space left on device" in result.stderr
    assert [p for p in empty.rglob("*") if p.is_file()] == []


def test_without_unnamed_files_a_hidden_temporary_is_used_and_removed(empty, monkeypatch):
    monkeypatch.setattr(write, "_unnamed", lambda *args: None)
    (empty / "2020").mkdir()
    with write.folder(str(empty), "2020", "articles") as folder:
        write.create(folder, "x.txt", b"data")
        assert (empty / "2020" / "x.txt").read_bytes() == b"data"
        assert [p.name for p in (empty / "2020").iterdir()] == ["x.txt"]
        with pytest.raises(FileExistsError):
            write.create(folder, "x.txt", b"other")
    assert (empty / "2020" / "x.txt").read_bytes() == b"data"
    assert [p.name for p in (empty / "2020").iterdir()] == ["x.txt"]


def kn_process(archive: Path, *args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "KN_ARCHIVE": str(archive), "KN_NO_CACHE": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "korea_news", "add", *args],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def test_two_concurrent_adds_of_one_id_one_wins_the_other_fails_cleanly(empty):
    for _ in range(3):
        texts = [f"Same title\n\nBody {n}.\n".encode() for n in range(2)]
        processes = [kn_process(empty, "-", "--date", "2020-01-01", "--id", "race") for _ in texts]
        results = [
            p.communicate(text, timeout=60) for p, text in zip(processes, texts, strict=True)
        ]
        codes = sorted(p.returncode for p in processes)
        assert codes == [0, 2], results
        winner = texts[[p.returncode for p in processes].index(0)]
        assert (empty / "2020" / "race.txt").read_bytes().endswith(winner.split(b"\n", 1)[1])
        assert [p.name for p in (empty / "2020").iterdir()] == ["race.txt"]
        (empty / "2020" / "race.txt").unlink()


def test_two_concurrent_adds_of_one_title_and_day_take_two_ids(empty):
    for _ in range(3):
        texts = [f"Same title\n\nBody {n}.\n".encode() for n in range(2)]
        processes = [kn_process(empty, "-", "--date", "2020-01-01") for _ in texts]
        for process, text in zip(processes, texts, strict=True):  # both at once
            assert process.stdin is not None
            process.stdin.write(text)
            process.stdin.close()
        assert [p.wait(timeout=60) for p in processes] == [0, 0]
        names = sorted(p.name for p in (empty / "2020").iterdir())
        assert names == ["2020-01-01-same-title-2.txt", "2020-01-01-same-title.txt"]
        bodies = sorted(
            (empty / "2020" / name).read_bytes().split(b"---\n", 2)[2] for name in names
        )
        assert bodies == [b"\nBody 0.\n", b"\nBody 1.\n"]
        for name in names:
            (empty / "2020" / name).unlink()


def test_two_adds_of_one_text_at_once_store_it_once(empty, tmp_path, monkeypatch):
    text = tmp_path / "text.txt"
    text.write_text("A title\n\nOne body, given twice at once.\n", encoding="utf-8")
    add, second_done = archive_module.Archive.add, threading.Event()

    def slow(*args: Any, **kwargs: Any) -> Any:  # the first to add takes its time
        if threading.current_thread().name == "first":
            second_done.wait(2)
        return add(*args, **kwargs)

    def adding() -> None:
        options = {"dry_run": False, "verbose": 0, "quiet": 0, "date": "2020-01-01"}
        compose.Adder(archive_module.Archive(empty), options).add(str(text))
        second_done.set()

    monkeypatch.setattr(archive_module.Archive, "add", slow)
    threads = [threading.Thread(target=adding, name=name) for name in ("first", "second")]
    for thread in threads:
        thread.start()
        time.sleep(0.3)
    for thread in threads:
        thread.join()
    assert [path.name for path in empty.rglob("*.txt")] == ["2020-01-01-a-title.txt"]


def test_a_killed_add_leaves_a_whole_file_or_none(empty, tmp_path):
    body = ("word " * 20 + "\n") * 400_000
    big = tmp_path / "big.txt"
    big.write_text("Big\n" + body, encoding="utf-8")
    for delay in (0.05, 0.15, 0.3, 0.6, 1.2):
        process = kn_process(empty, str(big), "--date", "2020-01-01", "--id", f"big{delay}")
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        files = [p for p in empty.rglob("*") if p.is_file()]
        assert all(not p.name.startswith(".") for p in files), files
        for path in files:
            assert path.read_text(encoding="utf-8").split("---\n", 2)[2] == body  # never partial
    process = kn_process(empty, str(big), "--date", "2020-01-01", "--id", "whole")
    assert process.wait(timeout=120) == 0  # and left alone, it writes the whole file
    assert (empty / "2020" / "whole.txt").read_text(encoding="utf-8").endswith(body)


def test_a_large_text_is_added_in_a_few_times_its_size_in_memory(empty, tmp_path):
    big = tmp_path / "big.txt"  # 30 MB of words: each word a string at once took 600 MB
    big.write_text("Big\n\n" + ("word " * 20 + "\n") * 300_000, encoding="utf-8")
    # kn started by a small process: a child's peak counts the size of the one it began in
    peak = """if True:
        import os, subprocess, sys
        _, status, usage = os.wait4(subprocess.Popen(sys.argv[1:]).pid, 0)
        print(status, usage.ru_maxrss)"""
    kn = [sys.executable, "-m", "korea_news", "add", str(big), "--date", "2020-01-01"]
    env = {**os.environ, "KN_ARCHIVE": str(empty), "KN_NO_CACHE": "1"}
    ran = subprocess.run([sys.executable, "-c", peak, *kn], env=env, capture_output=True, text=True)
    status, kib = map(int, ran.stdout.split()[-2:])
    assert status == 0 and kib < 300 * 1024, ran.stderr


def test_init_starts_an_archive_and_is_idempotent(kn, tmp_path):
    missing = kn("list")
    assert missing.exit_code == 2 and "kn init" in missing.stderr
    first, again = kn("init"), kn("init")
    assert (first.exit_code, again.exit_code) == (0, 0)
    assert "created" in first.stderr and "already" in again.stderr
    assert (tmp_path / "articles").is_dir()
    assert kn("add", "-", input="A title\n\nA body.\n").exit_code == 0
    assert kn("init", "elsewhere").exit_code == 0 and (tmp_path / "elsewhere" / "articles").is_dir()


@pytest.mark.parametrize("option", [["--no-cache"], ["--color", "never"]])
def test_init_takes_the_global_options_after_it_as_every_command_does(kn, tmp_path, option):
    result = kn("init", "there", *option)
    assert (result.exit_code, result.stderr) == (
        0,
        f"created the archive {Path('there', 'articles')}\n",
    )
    assert (tmp_path / "there" / "articles").is_dir()


# --- a bulk importer of real text ---------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            ["--title", "Bad \udce2\udc80 title"],
            "kn: --title Bad \ufffd title: not UTF-8 text",
        ),
        (["--tag", "\udcff"], "kn: --tag \ufffd: not UTF-8 text"),
        (["--date", "2005-13-01"], "kn: --date 2005-13-01: not a date (YYYY-MM-DD"),
        (["--title", ""], "kn: --title: empty"),
        (["--id", ""], "kn: --id: empty"),
        (["--tag", "x", "--tag", " "], "kn: --tag: empty"),
        (["--author", ""], "kn: --author: empty"),
        (["--source", ""], "kn: --source: empty"),
    ],
)
def test_an_options_problem_names_the_option_before_any_input_is_read(kn, empty, option, message):
    result = kn("add", "no-such-input.txt", *option)
    assert result.exit_code == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
    assert stored(empty) == {}


@pytest.mark.parametrize(
    ("option", "value", "why"),
    [("--timeout", "nan", "nan is not a number"), ("--delay", "inf", "inf is not in the range")],
)
def test_seconds_are_a_number_up_to_a_day(kn, empty, option, value, why):
    result = kn("add", "no-such-input.txt", option, value)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"kn: invalid value for '{option}': {why}")


def test_a_title_cut_in_half_by_cut_c_is_named_through_a_shell(empty, tmp_path, process_env):
    from conftest import in_shell

    (tmp_path / "b.txt").write_text("One line of text.\n", encoding="utf-8")
    script = "kn add b.txt --title \"$(printf 'Bad \\342\\200 title')\""
    run = in_shell(script, tmp_path, process_env)
    assert run.returncode == 2
    assert run.stderr.decode().startswith("kn: --title Bad")


def test_the_same_text_with_other_metadata_is_already_archived(kn, empty, tmp_path):
    (tmp_path / "a.txt").write_text("A title\n\nBody.\n", encoding="utf-8")
    kn("add", str(tmp_path / "a.txt"), "--date", "2020-01-02", "--tag", "x")
    before = stored(empty)
    result = kn("add", str(tmp_path / "a.txt"), "--date", "2020-01-02", "--source", "AP")
    assert (result.exit_code, result.stdout) == (0, "")
    assert "already in the archive as 2020-01-02-a-title" in result.stderr
    assert "the metadata given differs, and the stored article is kept" in result.stderr
    assert stored(empty) == before


def test_a_first_line_that_is_no_title_is_refused_with_a_hint(kn, empty, tmp_path):
    paragraph = "The minister said on Monday that talks would resume. " * 5
    (tmp_path / "long.txt").write_text(paragraph + "\n\nMore.\n", encoding="utf-8")
    (tmp_path / "two.txt").write_text("Talks resume. Markets rise.\n\nMore.\n", encoding="utf-8")
    for name in ("long.txt", "two.txt"):
        result = kn("add", str(tmp_path / name), "--date", "2020-01-02")
        assert (
            result.exit_code == 2
            and "give --title, or --title-from first-sentence" in result.stderr
        )
    assert stored(empty) == {}
    result = kn(
        "add", str(tmp_path / "long.txt"), "--date", "2020-01-02", "--title-from", "first-sentence"
    )
    assert result.exit_code == 0
    text = (empty / "2020").glob("*.txt").__next__().read_text(encoding="utf-8")
    assert "title: The minister said on Monday that talks would resume.\n" in text
    assert text.endswith(paragraph + "\n\nMore.\n")  # the whole text is the body


def test_an_abbreviation_in_a_title_is_no_second_sentence(kn, empty):
    result = kn("add", "-", "--date", "2020-01-02", input="U.S. says Mr. Kim will talk\n\nBody.\n")
    assert result.exit_code == 0, result.stderr


def test_a_text_of_one_paragraph_is_never_stored_with_an_empty_body(kn, empty):
    result = kn("add", "-", "--date", "2020-01-02", input="Just one line\n")
    assert result.exit_code == 2 and "only a title, no body" in result.stderr
    assert (
        kn("add", "-", "--date", "2020-01-02", "--title", "T", input="Just one line\n").exit_code
        == 0
    )
    assert kn("check").exit_code == 0
    for text in ("---\ntitle: T\ndate: 2020-01-02\n---\n", "---\ntitle: T\n---\n \n\n"):
        result = kn("add", "-", input=text)
        assert result.exit_code == 2 and "empty body" in result.stderr
    assert kn("check").exit_code == 0 and len(kn("list").stdout.splitlines()) == 1


@pytest.mark.parametrize("name", ["ftp://example.com/x", "file:///etc/hostname"])
def test_an_address_that_is_not_http_is_told_so(kn, empty, name):
    result = kn("add", name)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"kn: {name}: not a file, nor an http or https address\n"
    assert stored(empty) == {}


def test_dry_run_prints_what_each_input_would_get_and_writes_nothing(kn, empty, tmp_path):
    (tmp_path / "a.txt").write_text("A title\n\nBody.\n", encoding="utf-8")
    result = kn("add", "--dry-run", str(tmp_path / "a.txt"), "--date", "2020-01-02")
    assert result.exit_code == 0
    assert (
        result.stdout == "2020-01-02-a-title\tarticles/2020/2020-01-02-a-title.txt\tA title\tnew\n"
    )
    assert stored(empty) == {}


def test_a_bulk_add_looks_up_the_taken_ids_once(kn, make_archive, tmp_path, monkeypatch):
    make_archive(
        {
            f"2020/2020-01-01-old-{i}.txt": f"---\ntitle: Old {i}\ndate: 2020-01-01\n---\nx\n"
            for i in range(50)
        }
    )
    inputs = []
    for i in range(20):
        (tmp_path / f"in{i}.txt").write_text(f"New {i}\n\nBody {i}.\n", encoding="utf-8")
        inputs.append(str(tmp_path / f"in{i}.txt"))
    scans = []
    real_scan = archive_module.Archive.scan

    def counted(self):
        scans.append(self._scanned is None)  # the scan itself, not what it kept
        return real_scan(self)

    monkeypatch.setattr(archive_module.Archive, "scan", counted)
    result = kn("add", *inputs, "--date", "2020-01-02")
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 20
    assert sum(scans) == 1


@pytest.mark.parametrize("title", ["[a, b]", "2017", "yes", "2015-05-05", "{a: 1}"])
def test_a_front_matter_title_that_is_no_text_is_one_line(kn, empty, title):
    result = kn("add", "-", input=f"---\ntitle: {title}\ndate: 2017-01-01\n---\nA body.\n")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("kn: -:2: title must be text, not ")
    assert list(empty.rglob("*.txt")) == []


@pytest.mark.parametrize("start", ["\n\n", "  ", "\r\n"])
def test_front_matter_after_blank_lines_is_refused_not_stored_as_the_title_dashes(kn, empty, start):
    text = f"{start}---\ntitle: A title\ndate: 2017-01-01\n---\nA body.\n"
    result = kn("add", "-", input=text)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "kn: -:1: no front matter: the first line must be ---\n"
    assert list(empty.rglob("*.txt")) == []


def test_a_text_without_a_title_asks_for_one(kn, empty):
    result = kn("add", "-", input="---\ndate: 2017-01-01\n---\nA body.\n")
    assert result.exit_code == 2 and result.stderr.endswith("no title: give --title\n")
    assert (
        kn("add", "-", "--title", "T", input="---\ndate: 2017-01-01\n---\nA body.\n").exit_code == 0
    )


def test_a_bulk_reimport_with_another_date_adds_nothing(kn, empty, tmp_path):
    sys.path.insert(0, str(Path(__file__).parent))
    from newstext import NewsText

    inputs = []
    for index, (_, text) in enumerate(NewsText(seed=3).archive(1000)):
        title = text.split("title: ", 1)[1].split("\n", 1)[0].strip('"')
        inputs.append(tmp_path / f"{index}.txt")
        body = text.split("---\n", 2)[2]
        inputs[-1].write_text(f"Story {title}\n\n{body}", encoding="utf-8")
    first = kn("add", *map(str, inputs), "--date", "2026-11-29")
    assert first.exit_code == 0 and len(first.stdout.splitlines()) == 1000
    before = stored(empty)
    again = kn("add", *map(str, inputs), "--date", "2026-11-30", "--tag", "nightly")
    assert (again.exit_code, again.stdout) == (0, "")
    assert again.stderr.count("already in the archive as 2026-11-29-") == 1000
    assert stored(empty) == before


def test_a_file_named_like_an_id_here_does_not_hide_the_article(kn, empty, tmp_path):
    kn("add", "-", "--date", "2020-01-02", input="A title\n\nBody.\n")
    (tmp_path / "2020-01-02-a-title").write_text("not an article")
    result = kn("show", "2020-01-02-a-title")
    assert (result.exit_code, result.stdout.splitlines()[0]) == (0, "A title")


def test_a_broken_article_elsewhere_is_not_adds_to_tell(kn, make_archive):
    root = make_archive({"bad.txt": "---\ntitle: T\n---\nBody\n"})
    result = kn("add", "-", "--date", "2020-01-02", input="A title\n\nBody.\n")
    assert (result.exit_code, result.stderr) == (0, "")
    assert (root / "2020" / "2020-01-02-a-title.txt").exists()
