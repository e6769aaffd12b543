"""The store is invisible: every command prints the same bytes and exits the same with it,
without it (--no-cache), and after any change to the archive. Damage, locks and
interruptions are in test_store_damage.py."""

from __future__ import annotations

import json
import os
import random
import re
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import KN, article
from korea_news import reader, store, sync

COMMANDS = [
    ["list"],
    ["list", "--format", "json"],
    ["list", "--tag", "nuclear", "--since", "2017"],
    ["search", "coal"],
    ["search", "-l", "-i", "KOREA"],
    ["search", "-c", "-w", "iron|Kim"],
    ["search", "--format", "jsonl", "mi[sx]sile"],
    ["search", "-q", "Moon"],
    ["search", "Escaped"],
    ["search", "^Coal"],
    ["search", "-l", "oal"],
    ["facts"],
    ["facts", "--format", "jsonl"],
    ["facts", "--heading", "rules"],
    ["facts", "--tag", "nuclear"],
    ["show"],
    ["check"],
]
SETTLE = 0.03  # seconds to wait so that what was just written is trusted


@pytest.fixture(autouse=True)
def quick_settling(monkeypatch):
    """Files are trusted 20 ms after their last change (not 3 s): tests wait that long
    (SETTLE) before each comparison, so that the store is really used."""
    monkeypatch.setattr(sync, "RACY_NS", 20_000_000)


@pytest.fixture
def same(kn):
    """A function that runs commands without the store, then twice with it (filling it,
    then reading it), and asserts the same exit code, stdout and stderr each time."""

    def compare(commands: list[list[str]] = COMMANDS) -> None:
        time.sleep(SETTLE)
        for command in commands:
            plain = kn("--no-cache", *command)
            for attempt in ("fills the store", "reads the store"):
                stored = kn(*command, env={"KN_NO_CACHE": ""})
                assert (stored.exit_code, stored.stdout, stored.stderr) == (
                    plain.exit_code,
                    plain.stdout,
                    plain.stderr,
                ), (command, attempt)

    return compare


@pytest.fixture
def root(make_archive):
    return make_archive(
        {
            "2017/a.txt": article(
                "Coal ban",
                "2017-08-07",
                body="\nNew rules:\n- coal\n- iron ore\n",
                tags="[sanctions]",
            ),
            "2017/b.txt": article(
                "Missile test",
                "2017-09-03",
                body="North Korea fired a missile.\n",
                tags="[nuclear]",
            ),
            "2018/c.txt": article("Kim meets Moon", "2018-04-27", body="Kim and Moon met.\n"),
            "2018/d.txt": article('"Escaped \\u2019 title"', "2018-05-01", body="Body.\n"),
            "2019/bad.txt": "---\ntitle: [broken\n---\n",
        }
    )


def store_files() -> list[Path]:
    home = Path(os.environ["XDG_CACHE_HOME"])
    return sorted(path for path in home.rglob("*") if path.is_file())


def test_the_store_is_one_database_outside_the_archive_and_changes_nothing(root, same):
    same()
    names = [path.name for path in store_files()]
    assert names and all(
        re.fullmatch(r"articles-[0-9a-f]{16}\.sqlite(-wal|-shm)?", n) for n in names
    )
    assert not any(path.is_relative_to(root) for path in store_files())


def test_a_rewrite_with_the_same_size_and_mtime_is_seen(root, same, kn):
    """As tar -x, rsync -t, cp -p and touch -d leave a file: same inode, size and mtime."""
    same()
    path = root / "2018" / "c.txt"
    before = path.stat()
    with open(path, "r+b") as file:  # in place: the same inode
        file.write(article("Kim meets Roon", "2018-04-27", body="Kim and Roon met.\n").encode())
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino,
        before.st_size,
        before.st_mtime_ns,
    )
    same([*COMMANDS, ["search", "Roon"]])
    assert "Kim meets Roon" in kn("list", env={"KN_NO_CACHE": ""}).stdout
    assert kn("search", "-l", "Roon", env={"KN_NO_CACHE": ""}).stdout == "articles/2018/c.txt\n"


def test_a_rewrite_in_the_same_tick_of_a_coarse_clock_is_seen(root, kn, monkeypatch):
    """On a filesystem with 1-second timestamps, a same-size rewrite in the same second as
    a search leaves every stat as it was: what was read then is not trusted."""
    monkeypatch.setattr(sync, "RACY_NS", 3_000_000_000)
    real_stat = os.stat

    def coarse(*args, **kwargs):  # whole seconds, and the change time as the modification's
        found = real_stat(*args, **kwargs)
        second = int(found.st_mtime)
        fields = [*list(found)[:7], second, second, second]
        return os.stat_result(
            fields, {"st_mtime_ns": second * 10**9, "st_ctime_ns": second * 10**9}
        )

    monkeypatch.setattr(os, "stat", coarse)
    path = root / "2018" / "c.txt"
    now = int(time.time())
    os.utime(path, (now, now))
    assert kn("search", "-l", "Roon", env={"KN_NO_CACHE": ""}).stdout == ""
    with open(path, "r+b") as file:  # the same size, in the same second
        file.write(article("Kim meets Roon", "2018-04-27", body="Kim and Roon met.\n").encode())
    os.utime(path, (now, now))
    assert kn("search", "-l", "Roon", env={"KN_NO_CACHE": ""}).stdout == "articles/2018/c.txt\n"


def test_after_edits_deletions_renames_and_folder_moves(root, same):
    same()
    (root / "2017" / "a.txt").write_text(
        article("Coal and oil ban", "2017-08-08", body="\n- oil\n"), encoding="utf-8"
    )
    same()
    (root / "2018" / "c.txt").unlink()
    (root / "2020").mkdir()
    (root / "2020" / "e.txt").write_text(article("Coal again", "2020-01-01"), encoding="utf-8")
    same()
    os.rename(root / "2017" / "b.txt", root / "2018" / "renamed.txt")
    same()
    os.rename(root / "2018", root / "2021")
    same()


def test_a_file_unreadable_for_a_while_is_read_once_it_can_be(root, same, monkeypatch):
    real_open = os.open

    def locked(path, *args, **kwargs):
        if str(path).endswith("c.txt"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(os, "open", locked)
        same()  # unreadable, with and without the store alike
    same()  # readable again, its stat unchanged: the store kept no failure


def test_a_cache_folder_that_cannot_be_made_is_worked_around_without_a_word(root, same):
    Path(os.environ["XDG_CACHE_HOME"]).write_text("not a folder", encoding="utf-8")
    same()


def test_no_cache_and_kn_no_cache_write_nothing(kn, make_archive):
    make_archive({"a.txt": article("A")})
    home = Path(os.environ["XDG_CACHE_HOME"])
    assert kn("--no-cache", "list", env={"KN_NO_CACHE": ""}).exit_code == 0
    assert kn("list", env={"KN_NO_CACHE": "1"}).exit_code == 0
    assert not home.exists()
    assert kn("list", env={"KN_NO_CACHE": ""}).exit_code == 0
    assert home.exists()


def test_a_relative_xdg_cache_home_is_ignored(kn, make_archive, tmp_path, own_home):
    make_archive({"a.txt": article("A")})
    time.sleep(SETTLE)
    before = sorted(tmp_path.rglob("*"))
    assert kn("list", env={"KN_NO_CACHE": "", "XDG_CACHE_HOME": "cache"}).exit_code == 0
    assert sorted(tmp_path.rglob("*")) == before  # nothing written beside the archive
    assert list((own_home / ".cache" / "kn").iterdir())  # but in ~/.cache, as XDG says


def test_an_interrupted_first_build_keeps_its_whole_batches_and_goes_on_from_there(
    make_archive, kn, monkeypatch
):
    make_archive({f"{i:03}.txt": article(f"A{i}", body=f"Word{i}\n") for i in range(95)})
    time.sleep(SETTLE)
    monkeypatch.setattr(sync, "BATCH", 10)
    real_open, opened, interrupted = reader.open_article, [], []

    def counted(*args, **kwargs):
        opened.append(args[0])
        if len(opened) == 35 and not interrupted:  # Ctrl-C amid the fourth batch
            interrupted.append(True)
            raise KeyboardInterrupt
        return real_open(*args, **kwargs)

    monkeypatch.setattr(reader, "open_article", counted)
    assert kn("list", env={"KN_NO_CACHE": ""}).exit_code == 130
    opened.clear()
    again = kn("list", env={"KN_NO_CACHE": ""})
    assert len(opened) == 95 - 30  # three whole batches kept; the fourth read again
    assert (again.exit_code, again.stdout) == (0, kn("--no-cache", "list").stdout)
    word = kn("search", "-l", "-w", "Word7", env={"KN_NO_CACHE": ""})
    assert word.stdout == "articles/007.txt\n"


def test_a_store_of_another_archive_changes_no_answer(make_archive, root, kn, same, tmp_path):
    other = tmp_path / "other" / "articles"
    other.mkdir(parents=True)
    for path in sorted(root.rglob("*.txt"))[:3]:
        (other / path.name).write_text(path.read_text().replace("Coal", "Iron"), encoding="utf-8")
    time.sleep(SETTLE)
    assert kn("--archive", str(other), "list", env={"KN_NO_CACHE": ""}).exit_code == 0
    source = store.location(os.path.realpath(other))
    target = store.location(os.path.realpath(root))
    os.replace(source, target)
    same()


# --- random archives, edited as people and tools do ------------------------------------

WORDS = "coal iron Kim Moon missile talks sanctions nuclear summit ore oil ban port".split()


def random_text(rng: random.Random, title: str) -> str:
    lines = [" ".join(rng.choices(WORDS, k=rng.randint(2, 8))) for _ in range(rng.randint(1, 5))]
    if rng.random() < 0.4:
        lines += ["", "Key points:", *(f"- {rng.choice(WORDS)} {rng.choice(WORDS)}" for _ in "ab")]
    date = f"20{rng.randint(15, 19)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
    tags = f"[{rng.choice(WORDS).lower()}]"
    return article(title, date, body="\n".join(lines) + "\n", tags=tags)


def rewrite_in_place(path: Path, rng: random.Random) -> None:
    """Swap two words of equal length and put the mtime back: same inode, size, mtime."""
    before = path.stat()
    text = path.read_text(encoding="utf-8")
    swaps = [("coal", "iron"), ("iron", "coal"), ("Moon", "Kim!"), ("oil", "ore"), ("ore", "oil")]
    old, new = rng.choice(swaps)
    with open(path, "r+b") as file:
        file.write(text.replace(old, new).encode())
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def edit(root: Path, rng: random.Random, step: int) -> None:
    files = sorted(root.rglob("*.txt"))
    folders = sorted(path for path in root.iterdir() if path.is_dir())
    kind = rng.choice(["rewrite", "rewrite", "new", "delete", "rename", "move", "folder", "bad"])
    path = rng.choice(files) if files else None
    if kind == "rewrite" and path:
        rewrite_in_place(path, rng)
    elif kind == "delete" and path:
        path.unlink()
    elif kind in ("rename", "move") and path:
        target = rng.choice(folders) if kind == "move" else path.parent
        os.replace(path, target / f"r{step}.txt")
    elif kind == "folder" and folders:
        os.rename(rng.choice(folders), root / f"f{step}")
    elif kind == "bad" and path:
        path.write_text(path.read_text(encoding="utf-8").replace("-1", "-3", 1), encoding="utf-8")
    else:
        folder = root / rng.choice(["2017", "2018", "x/y"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"n{step}.txt").write_text(random_text(rng, f"New {step}"), encoding="utf-8")


def random_commands(rng: random.Random) -> list[list[str]]:
    word = rng.choice(WORDS)
    patterns = [word, f"^{word}", f"{word}$", rf"{word}\s\w+", f"{word[1:]}", "^$", "[Kk]im|ore"]
    options = rng.choice([[], ["-l"], ["-c"], ["-i"], ["-w"], ["--format", "json"], ["-q"]])
    return [
        ["list"],
        ["list", "--format", "jsonl"],
        ["list", "--tag", word.lower()],
        ["search", *options, rng.choice(patterns)],
        ["search", "-l", rng.choice(patterns)],
        ["facts"],
        ["show"],
    ]


@pytest.mark.parametrize("seed", range(3))
def test_stored_answers_are_those_of_the_files_through_random_edits(make_archive, same, seed):
    rng = random.Random(seed)
    root = make_archive(
        {
            f"{rng.choice(['2017', '2018', 'x/y'])}/{i}.txt": random_text(rng, f"{word} {i}")
            for i, word in enumerate(rng.choices(WORDS, k=10))
        }
    )
    for step in range(12):
        edit(root, rng, step)
        same(random_commands(rng))


# --- the text index narrows, never answers -----------------------------------------------

LETTERS = st.sampled_from(list("aikKsSıİſé ł-Ab1\n"))


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    text=st.text(LETTERS, min_size=1, max_size=30),
    pattern=st.text(st.sampled_from(list("aiksSKı1b")), min_size=3, max_size=5),
    ignore_case=st.booleans(),
)
def test_the_index_never_rules_out_a_file_that_matches(kn, tmp_path, text, pattern, ignore_case):
    root = tmp_path / "articles"
    root.mkdir(exist_ok=True)
    (root / "a.txt").write_text(article("T", body=f"{text}\n"), encoding="utf-8")
    time.sleep(SETTLE)
    command = ["search", "-c", *(["-i"] if ignore_case else []), "-e", pattern]
    plain = kn("--no-cache", *command)
    for _ in range(2):
        stored = kn(*command, env={"KN_NO_CACHE": ""})
        assert (stored.exit_code, stored.stdout) == (plain.exit_code, plain.stdout)


def test_a_search_reads_the_bodies_the_store_keeps_and_opens_a_file_for_its_title(
    make_archive, kn, monkeypatch
):
    root = make_archive({f"{i}.txt": article(f"A{i}", body="plain text\n") for i in range(20)})
    (root / "7.txt").write_text(article("A7", body="the unsaid word\n"), encoding="utf-8")
    (root / "8.txt").write_text(article("Said A8", body="text\n"), encoding="utf-8")
    time.sleep(SETTLE)
    assert kn("list", env={"KN_NO_CACHE": ""}).exit_code == 0
    real_open, opened = reader.open_article, []

    def counted(*args, **kwargs):
        opened.append(os.path.basename(args[0]))
        return real_open(*args, **kwargs)

    monkeypatch.setattr(reader, "open_article", counted)
    found = kn("search", "-i", "said", env={"KN_NO_CACHE": ""})
    assert found.stdout == "articles/7.txt:5:the unsaid word\narticles/8.txt:2:title: Said A8\n"
    assert opened == ["8.txt"]  # for its title: line, as the file holds it


def test_a_yaml_set_comes_out_in_the_same_order_in_every_process(make_archive):
    root = make_archive(
        {"s.txt": "---\ntitle: S\ndate: 2017-01-01\nk: !!set {c, a, b, e, d}\n---\nx\n"}
    )
    outputs = {
        subprocess.run(
            [KN, "list", "--format", "json"],
            cwd=root.parent,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            check=True,
        ).stdout
        for seed in range(6)
    }
    assert len(outputs) == 1
    assert json.loads(outputs.pop())[0]["extra"] == {"k": ["a", "b", "c", "d", "e"]}


def test_every_test_has_a_home_and_a_cache_of_its_own(own_home, tmp_path_factory):
    base = tmp_path_factory.getbasetemp()
    assert Path(os.environ["HOME"]) == own_home and own_home.is_relative_to(base)
    assert Path(os.environ["XDG_CACHE_HOME"]).is_relative_to(base)


def test_the_schema_version_is_that_of_the_database(root, kn):
    time.sleep(SETTLE)
    assert "Coal ban" in kn("list", env={"KN_NO_CACHE": ""}).stdout
    path = store.location(os.path.realpath(root))
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_sync_of_many_folders_sees_every_change(make_archive, kn, same, monkeypatch):
    files = {
        f"{2000 + y}/{y}-{i}.txt": article(f"T{y}", body="old\n")
        for y in range(6)
        for i in range(5)
    }
    root = make_archive(files)
    same()
    search = ["search", "-l", "new"]
    (root / "2005/5-4.txt").write_text(article("T5", body="new\n"), encoding="utf-8")  # same size
    same([search])
    assert kn(*search, env={"KN_NO_CACHE": ""}).stdout == "articles/2005/5-4.txt\n"
    (root / "2000/0-0.txt").unlink()
    (root / "2003/3-9.txt").write_text(article("T3", body="new\n"), encoding="utf-8")
    same()
    assert len(kn("list", "--format", "jsonl", env={"KN_NO_CACHE": ""}).stdout.splitlines()) == 30
    real_open, opened = reader.open_article, []
    monkeypatch.setattr(
        reader, "open_article", lambda *a, **k: opened.append(a) or real_open(*a, **k)
    )
    assert kn("list", env={"KN_NO_CACHE": ""}).exit_code == 0
    assert opened == []  # each folder's stats as stored: no file read again
