"""Whatever happens to the derived store, kn answers as it does without it.

The rule pinned here: every command prints the same stdout and stderr, and exits with the
same code, with the store ($XDG_CACHE_HOME/kn/NAME.sqlite) as with --no-cache, whether
the database was damaged, replaced, locked, copied from another archive, left half-built
by an interrupted kn, built by several kn at once, or cannot be written at all.
"""

from __future__ import annotations

import contextlib
import gc
import os
import random
import resource
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import KN, article
from korea_news import store, sync

COMMANDS = [
    ["list"],
    ["search", "-c", "-i", "coal|kim"],
    ["facts"],
    ["show"],
    ["search", "-l", "coal"],
]
STORE = {"KN_NO_CACHE": ""}  # the kn fixture sets KN_NO_CACHE=1: this asks for the store

# Five files, one of them no article, with lists under headings (kn facts prints them).
SMALL = {
    "2017/coal.txt": article(
        "China halts coal imports",
        "2017-08-07",
        source="bbc",
        body="\nChina stopped buying coal from the North.\n\nWhat is banned:\n- coal\n- iron ore\n- seafood\n",
    ),
    "2017/kim.txt": article(
        "Kim Jong Un inspects a missile",
        "2017-08-06",
        body="\nKim watched the launch.\n\nWho was there:\n- Kim Jong Un\n- Ri Pyong Chol\n",
    ),
    "talks.txt": article(
        "Seoul offers talks",
        "2017-07-17",
        source="yonhap",
        body="Seoul offers talks.\n\nThe offer:\n- military talks at Panmunjom\n- Red Cross talks\n",
    ),
    "weather.txt": article("Rain in Seoul", "2017-07-01", body="It rains on the coal ships.\n"),
    "broken.txt": "---\ntitle: [broken\n---\n",
}

Answer = tuple[int, str, str]  # exit code, stdout, stderr


def many(count: int) -> dict[str, str]:
    """`count` small articles in three folders, each with facts, most mentioning coal."""
    files = {}
    for i in range(count):
        day = f"20{10 + i % 9}-{1 + i * 7 % 12:02d}-{1 + i * 5 % 28:02d}"
        word = "coal" if i % 3 else "kim"
        body = f"The {word} story {i}.\n\nWhat next:\n- first {i}\n- second {i}\n"
        files[f"{('bbc', 'yonhap', 'kcna')[i % 3]}/a{i:05d}.txt"] = article(
            f"Story {i}", day, body=body
        )
    files["zz-broken.txt"] = "---\ntitle: [broken\n---\n"
    return files


def sound(answer: Answer) -> None:
    """No bug told to the user."""
    assert "internal error" not in answer[2], answer[2]
    assert "Traceback" not in answer[2], answer[2]


def answers(kn: Callable[..., object], commands=COMMANDS, env=None) -> dict[str, Answer]:
    """Each command's answer, run in this process (env=STORE: with the store)."""
    found = {}
    for command in commands:
        result = kn(*command, env=env)
        found[" ".join(command)] = (result.exit_code, result.stdout, result.stderr)
        sound(found[" ".join(command)])
    return found


def run_kn(args: list[str], cwd: Path, env: dict[str, str], **settings) -> Answer:
    """The installed kn's answer."""
    done = subprocess.run(
        [KN, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=30, **settings
    )
    answer = (done.returncode, done.stdout, done.stderr)
    sound(answer)
    return answer


def database(root: Path) -> str:
    return store.location(os.path.realpath(root))


def remove_database(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path + suffix)


def put_database(path: str, files: dict[str, bytes]) -> None:
    """Exactly these files as the database (suffix "", "-wal", "-shm" to bytes)."""
    remove_database(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    for suffix, data in files.items():
        Path(path + suffix).write_bytes(data)


def checkpoint(path: str) -> None:
    """All of the database in its file, no wal beside it."""
    gc.collect()  # kn's connections in this process closed
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert os.path.isfile(path) and not os.path.exists(path + "-wal")


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """In this process, files 20 ms old are trusted: call it after writing files."""
    monkeypatch.setattr(sync, "RACY_NS", 20_000_000)
    return lambda: time.sleep(0.03)


@pytest.fixture
def store_env(process_env: dict[str, str]) -> dict[str, str]:
    """The installed kn's environment, with the store."""
    return {**process_env, "KN_NO_CACHE": ""}


def settle() -> None:
    """For the installed kn, whose RACY_NS is 3 s: files written before this are trusted."""
    time.sleep(sync.RACY_NS / 1e9 + 0.1)


class Shared:
    """An archive written once for the tests of a module, which none of them changes, and
    the answers that do not depend on a test's store, each found once."""

    def __init__(self, files: dict[str, str], cwd: Path) -> None:
        self.cwd, self.root = cwd, cwd / "articles"
        for name, text in files.items():
            (self.root / name).parent.mkdir(parents=True, exist_ok=True)
            (self.root / name).write_text(text, encoding="utf-8")
        self.written = time.time()  # every file is older
        self.found: dict[str, object] = {}

    def settled(self) -> Shared:
        """Itself, once its files are trusted by the installed kn (as after settle())."""
        time.sleep(max(0.0, self.written + sync.RACY_NS / 1e9 + 0.1 - time.time()))
        return self

    def once(self, key: str, find: Callable[[], object]) -> object:
        """find()'s value, found by the first test that asks (the store is never in it)."""
        if key not in self.found:
            self.found[key] = find()
        return self.found[key]

    def without_store(self, command: list[str], env: dict[str, str]) -> Answer:
        """The installed kn's answer here with env (no store in it), found once."""
        answer = self.once(" ".join(command), lambda: run_kn(command, self.cwd, env))
        return answer  # type: ignore[return-value]


@pytest.fixture(scope="module", autouse=True)
def big_archives(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Shared]:
    """many(400) and many(2500), written as the module starts: the tests run before those
    that use them count toward their settling."""
    return {n: Shared(many(n), tmp_path_factory.mktemp(f"many-{n}")) for n in (400, 2500)}


@pytest.fixture
def many_400(big_archives: dict[int, Shared]) -> Shared:
    """many(400), settled, for several kn at once and a full disk (each test has its own
    store)."""
    return big_archives[400].settled()


# --- damage to the database after it was built ------------------------------------------


def damaged(data: bytes, how: str, rng: random.Random) -> bytes:
    if how == "flipped byte":
        at = rng.randrange(len(data))
        return data[:at] + bytes([data[at] ^ (1 << rng.randrange(8))]) + data[at + 1 :]
    if how == "truncated":
        return data[: rng.randrange(len(data))]
    if how == "empty":
        return b""
    start = 4096 * rng.randrange(max(1, len(data) // 4096))
    size = min(4096, len(data) - start)
    page = bytes(size) if how == "zeroed page" else rng.randbytes(size)
    return data[:start] + page + data[start + size :]


DAMAGES = [
    (how, seed)
    for how in ("flipped byte", "truncated", "zeroed page", "random page")
    for seed in range(4)
] + [("empty", 0)]


@pytest.mark.parametrize("target", ["checkpointed database", "database beside its wal", "wal"])
def test_a_damaged_database_file_changes_no_answer(kn, make_archive, quick, target):
    root = make_archive(SMALL)
    quick()
    expected = answers(kn)
    path = database(root)
    if target == "checkpointed database":  # the last connection closed: all in the file
        assert answers(kn, env=STORE) == expected
        checkpoint(path)
        saved = {"": Path(path).read_bytes()}
    else:  # another connection reads all along: no checkpoint empties the wal of kn's writes
        os.makedirs(os.path.dirname(path), exist_ok=True)
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("PRAGMA journal_mode = WAL")
        holder.execute("BEGIN")
        holder.execute("SELECT count(*) FROM sqlite_master").fetchone()
        assert answers(kn, env=STORE) == expected
        saved = {suffix: Path(path + suffix).read_bytes() for suffix in ("", "-wal", "-shm")}
        holder.close()
        assert len(saved["-wal"]) > 4096 * 4
    suffix = "-wal" if target == "wal" else ""
    wrong = []  # every case that went wrong, told at the end

    def check(how: str, seed: int, command: list[str]) -> None:
        try:
            result = kn(*command, env=STORE)
        except Exception as error:  # the installed kn would say "internal error"
            wrong.append((how, seed, command, f"{type(error).__name__}: {error}"))
            return
        got = (result.exit_code, result.stdout, result.stderr)
        if got != expected[" ".join(command)]:
            wrong.append((how, seed, command, got, expected[" ".join(command)]))

    for how, seed in DAMAGES:
        broken = {**saved, suffix: damaged(saved[suffix], how, random.Random(seed))}
        assert broken[suffix] != saved[suffix] or how == "empty"
        for command in COMMANDS:
            put_database(path, broken)
            check(how, seed, command)
        for command in COMMANDS:  # with whatever kn left behind
            check(how, seed, command)
    assert wrong == [], "\n".join(map(repr, wrong))


# --- no regular file where the database belongs --------------------------------------------


@pytest.fixture(scope="module")
def small_shared(tmp_path_factory: pytest.TempPathFactory) -> Shared:
    """SMALL, written once for the module (each test has its own store); not settled."""
    return Shared(SMALL, tmp_path_factory.mktemp("small"))


@pytest.mark.parametrize(
    "what", ["fifo", "folder", "link to /dev/zero", "wal fifo", "wal link to /dev/zero"]
)
def test_no_regular_file_at_the_database_path_changes_no_answer_and_never_hangs(
    small_shared, process_env, store_env, what
):
    tmp_path, root = small_shared.cwd, small_shared.root
    path = database(root)
    os.makedirs(os.path.dirname(path))
    target = path + "-wal" if what.startswith("wal") else path
    if what.endswith("fifo"):
        os.mkfifo(target)
    elif what == "folder":
        os.mkdir(target)
    else:
        os.symlink("/dev/zero", target)
    for command in COMMANDS:
        expected = small_shared.without_store(command, process_env)
        assert run_kn(command, tmp_path, store_env) == expected, command
    assert os.path.lexists(target) and not os.path.isfile(target)  # not kn's: left alone


# --- another schema -------------------------------------------------------------------------


def test_a_database_of_another_user_version_is_rebuilt_and_changes_no_answer(
    kn, make_archive, quick
):
    root = make_archive(SMALL)
    quick()
    expected = answers(kn)
    assert answers(kn, env=STORE) == expected
    path = database(root)
    for command in COMMANDS:
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.execute("PRAGMA user_version = 999")
            db.commit()
        result = kn(*command, env=STORE)
        assert (result.exit_code, result.stdout, result.stderr) == expected[" ".join(command)]
        with contextlib.closing(sqlite3.connect(path)) as db:
            assert db.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA
            assert db.execute("SELECT count(*) FROM files").fetchone()[0] == len(SMALL)


# --- a cache folder that cannot be written -----------------------------------------------------


@pytest.mark.parametrize("where", ["cache home", "kn folder"])
def test_a_cache_folder_that_cannot_be_created_changes_no_answer(
    kn, make_archive, quick, tmp_path, monkeypatch, where
):
    make_archive(SMALL)
    quick()
    expected = answers(kn)
    blocker = tmp_path / "cache-file"
    blocker.write_bytes(b"not a folder\n")
    if where == "cache home":
        monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    else:  # $XDG_CACHE_HOME/kn is a file
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
        blocker = blocker.rename(tmp_path / "kn")
    for _ in range(2):
        assert answers(kn, env=STORE) == expected
    assert blocker.read_bytes() == b"not a folder\n"


@pytest.mark.parametrize("when", ["after the database exists", "before it exists"])
def test_a_read_only_cache_folder_changes_no_answer(kn, make_archive, quick, when):
    # Run as root, the mode stops nothing: then this pins only that kn still answers alike.
    root = make_archive(SMALL)
    quick()
    expected = answers(kn)
    folder = os.path.dirname(database(root))
    if when == "after the database exists":
        assert answers(kn, env=STORE) == expected
    else:
        os.makedirs(folder)
    os.chmod(folder, 0o500)
    try:
        for _ in range(2):
            assert answers(kn, env=STORE) == expected
    finally:
        os.chmod(folder, 0o700)


def small_files(limit: int) -> Callable[[], None]:
    """For the child: no file may grow past `limit` bytes, and a write past it fails (EFBIG)."""

    def child() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    return child


# 16 KiB: no room for the database's 32 KiB -shm, so it cannot be opened; 128 KiB: it is
# opened, and the first build commits a folder or so before a write fails.
@pytest.mark.parametrize(
    ("when", "limit"),
    [("first build", 16384), ("first build", 131072), ("sync of new files", 16384)],
    ids=["no room to open", "first build", "sync of new files"],
)
def test_a_full_disk_changes_no_answer(
    make_archive, many_400, tmp_path, process_env, store_env, when, limit
):
    if when == "first build":  # 400 articles, no store yet
        cwd, root = many_400.cwd, many_400.root
        expected = {" ".join(c): many_400.without_store(c, process_env) for c in COMMANDS}
    else:  # a store already there, then 290 more articles
        files = many(300)
        root, cwd = make_archive(dict(list(files.items())[:10])), tmp_path
        run_kn(["list"], cwd, store_env)
        make_archive(files)
        settle()
        expected = {" ".join(c): run_kn(c, cwd, process_env) for c in COMMANDS}
    for command in COMMANDS:
        for _ in range(2):
            got = run_kn(command, cwd, store_env, preexec_fn=small_files(limit))
            assert got == expected[" ".join(command)], command
    for command in COMMANDS:  # room again: the store is built, and answers alike
        assert run_kn(command, cwd, store_env) == expected[" ".join(command)]
    path = database(root)
    assert os.path.getsize(path) + os.path.getsize(path + "-wal") > limit  # it did not fit


# --- a database locked by another writer ------------------------------------------------------


def test_a_database_locked_by_another_writer_answers_rightly_in_time(
    kn, make_archive, quick, tmp_path, process_env, store_env
):
    root = make_archive(SMALL)
    quick()
    assert answers(kn, env=STORE) == answers(kn)
    path = database(root)
    make_archive(
        {
            "new.txt": article(
                "New coal ship", "2017-09-01", body="Kim: coal.\n\nCargo:\n- new coal\n- new iron\n"
            )
        }
    )
    holder = sqlite3.connect(path, timeout=0, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # kn must write the new article, and cannot
    expected: dict[str, Answer] = {}  # without the store, by command: the files do not change
    try:
        for command in [["list"], ["facts"], ["search", "-c", "-i", "coal|kim"]]:
            expected[" ".join(command)] = run_kn(command, tmp_path, process_env)
            started = time.monotonic()
            assert run_kn(command, tmp_path, store_env) == expected[" ".join(command)], command
            assert time.monotonic() - started < 20
            assert "new" in expected[" ".join(command)][1]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    for command in COMMANDS:
        if " ".join(command) not in expected:
            expected[" ".join(command)] = run_kn(command, tmp_path, process_env)
        assert run_kn(command, tmp_path, store_env) == expected[" ".join(command)]


# --- several kn at once on a cold store ------------------------------------------------------------


CONCURRENT = [["list"], ["search", "-l", "x"], ["facts"], ["search", "-c", "-i", "coal|kim"]]


@pytest.mark.parametrize("count", [2, 4])
def test_kn_started_at_once_on_a_cold_store_answer_alike_and_leave_it_whole(
    many_400, process_env, store_env, count
):
    tmp_path, root = many_400.cwd, many_400.root
    commands = CONCURRENT[:count]
    expected = [many_400.without_store(command, process_env) for command in commands]
    path = database(root)
    for _ in range(3):
        remove_database(path)
        started = [
            subprocess.Popen(
                [KN, *command],
                cwd=tmp_path,
                env=store_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for command in commands
        ]
        got = []
        for process in started:
            out, err = process.communicate(timeout=30)
            got.append((process.returncode, out, err))
        assert got == expected
        with contextlib.closing(sqlite3.connect(path)) as db:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert [run_kn(command, tmp_path, store_env) for command in commands] == expected


# --- interrupted at random points ------------------------------------------------------------------

# Each signal comes at a random point of a cold run: between 0.05 s and the time such a run
# takes here, measured. 2500 articles: the sync commits three folders, and facts a batch of
# sync.BATCH (2000) before the rest.
INTERRUPTED = [["search", "-l", "coal"], ["facts"], ["list"]]


def cold_run(command: list[str], cwd: Path, env: dict[str, str], path: str) -> float:
    """How long the installed kn takes to run `command` on a store built anew, in seconds."""
    remove_database(path)
    start = time.perf_counter()
    run_kn(command, cwd, env)
    return time.perf_counter() - start


def interrupted(
    command: list[str], cwd: Path, env: dict[str, str], delay: float, signum: int
) -> str:
    """Start the installed kn, send it `signum` after `delay` seconds; its stderr."""
    process = subprocess.Popen(
        [KN, *command],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(delay)
    process.send_signal(signum)
    return process.communicate(timeout=30)[1]


@pytest.fixture
def many_2500(big_archives: dict[int, Shared]) -> Shared:
    """many(2500), settled, for the interrupted runs below (each test has its own store)."""
    return big_archives[2500].settled()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_a_kn_interrupted_at_a_random_point_leaves_a_store_that_answers_alike(
    kn, many_2500, monkeypatch, store_env, signum
):
    monkeypatch.chdir(many_2500.cwd)  # the kn fixture's runs, there
    cwd, root = many_2500.cwd, many_2500.root
    expected = many_2500.once("in process", lambda: answers(kn, INTERRUPTED))
    path = database(root)
    rng = random.Random(int(signum))
    for command in INTERRUPTED:
        measured = f"cold {' '.join(command)}"  # once, for both signals
        if measured not in many_2500.found:
            many_2500.found[measured] = cold_run(command, cwd, store_env, path)
        took = float(many_2500.found[measured])  # type: ignore[arg-type]
        for _ in range(4):
            remove_database(path)
            err = interrupted(command, cwd, store_env, rng.uniform(0.05, took), signum)
            assert "internal error" not in err, err
            if os.path.exists(path):
                with contextlib.closing(sqlite3.connect(path)) as db:
                    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            for _ in range(2):
                assert answers(kn, INTERRUPTED, env=STORE) == expected, command


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_facts_interrupted_after_a_finished_list_are_then_told_whole(
    many_2500, process_env, store_env, signum
):
    # The old cache lied here: `kn list` kept articles without facts, and a `kn facts`
    # stopped while it added them left a cache that `kn facts` then took as whole.
    cwd, root = many_2500.cwd, many_2500.root
    expected = many_2500.without_store(["facts"], process_env)
    listed = many_2500.without_store(["list"], process_env)
    path = database(root)
    rng = random.Random(int(signum) + 100)
    assert run_kn(["list"], cwd, store_env) == listed
    start = time.perf_counter()  # facts after a list: what a run reads and keeps
    assert run_kn(["facts"], cwd, store_env) == expected
    took = time.perf_counter() - start
    for _ in range(4):
        remove_database(path)
        assert run_kn(["list"], cwd, store_env) == listed
        err = interrupted(["facts"], cwd, store_env, rng.uniform(0.05, took), signum)
        assert "internal error" not in err, err
        for _ in range(2):
            assert run_kn(["facts"], cwd, store_env) == expected


def test_the_wal_that_a_facts_run_grows_is_emptied_when_it_ends(make_archive, tmp_path, store_env):
    # The facts are kept while their own query reads, so no checkpoint can empty the WAL
    # meanwhile, and no later write may come to truncate it: the store would stay larger.
    facts = "".join(f"- fact {n} of a list long enough to fill pages\n" for n in range(30))
    root = make_archive(
        {f"a{i}.txt": article(f"T{i}", body=f"Facts:\n{facts}") for i in range(1500)}
    )
    run_kn(["list"], tmp_path, store_env)
    run_kn(["facts"], tmp_path, store_env)
    assert os.path.getsize(database(root) + "-wal") <= 1 << 20


# --- a database from another archive ------------------------------------------------------------


def test_a_database_copied_from_another_archive_changes_no_answer(
    kn, make_archive, quick, tmp_path
):
    other = tmp_path / "other" / "articles"
    other.mkdir(parents=True)
    for name, text in SMALL.items():  # the same names and sizes, other contents
        (other / name).parent.mkdir(parents=True, exist_ok=True)
        (other / name).write_text(text.replace("coal", "rice").replace("Kim", "Lee"))
    (other / "only-there.txt").write_text(article("Only in the other archive", "2018-01-01"))
    root = make_archive(SMALL)
    quick()
    expected = answers(kn)
    answers(kn, env={**STORE, "KN_ARCHIVE": str(other)})
    copied = database(other)
    checkpoint(copied)
    path = database(root)
    assert path != copied
    os.makedirs(os.path.dirname(path), exist_ok=True)
    for command in COMMANDS:
        shutil.copyfile(copied, path)
        result = kn(*command, env=STORE)
        assert (result.exit_code, result.stdout, result.stderr) == expected[" ".join(command)]
    assert answers(kn, env=STORE) == expected


# --- damage while kn reads ----------------------------------------------------------------------


def test_a_database_damaged_while_it_is_read_gives_each_article_once(
    make_archive, quick, tmp_path, monkeypatch
):
    from korea_news.archive import Archive

    root = make_archive(many(3000))
    quick()
    monkeypatch.chdir(tmp_path)

    def listed(persistent: bool, damage_after: int | None = None) -> list[str]:
        kept = store.Store(Archive(root, on_error=lambda problem: None), persistent)
        kept.sync()
        found = []
        for count, each in enumerate(kept.articles()):
            if count == damage_after:  # pages not read yet are zeros from now on
                for suffix in ("", "-wal"):
                    with open(kept.path + suffix, "r+b") as file:
                        file.write(bytes(os.fstat(file.fileno()).st_size))
            found.append(f"{each.id} {each.path}")
        return found

    expected = listed(persistent=False)
    assert listed(persistent=True) == expected  # the database is built, and answers
    assert listed(persistent=True, damage_after=1000) == expected
