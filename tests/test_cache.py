"""The cache is invisible: every command prints the same bytes and exits the same with it,
without it, and after any change to the archive or damage to the cache."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import time
from pathlib import Path

import pytest

from conftest import GOLDEN, KN, article
from korea_news import cache, index
from korea_news.search import required_words

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
    ["facts"],
    ["facts", "--format", "jsonl"],
    ["facts", "--heading", "rules"],
    ["facts", "--tag", "nuclear"],
    ["show"],
    ["check"],
]
FACTS = Path(__file__).parent / "facts"
SETTLE = 0.03  # seconds to wait so that what was just written may be cached


@pytest.fixture(autouse=True)
def quick_settling(monkeypatch):
    """Files count as settled 20 ms after their last change (not 3 s): tests wait that long
    (SETTLE) before each comparison, so that the cache is really used."""
    monkeypatch.setattr(cache, "SETTLED_NS", 20_000_000)


@pytest.fixture
def same(kn):
    """A function that runs commands without the cache, then twice with it (filling it,
    then reading it), and asserts the same exit code, stdout and stderr each time."""

    def compare(commands: list[list[str]] = COMMANDS) -> None:
        time.sleep(SETTLE)
        for command in commands:
            plain = kn("--no-cache", *command)
            for attempt in ("fills the cache", "reads the cache"):
                with_cache = kn(*command, env={"KN_NO_CACHE": ""})
                assert (with_cache.exit_code, with_cache.stdout, with_cache.stderr) == (
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


def cache_files() -> list[Path]:
    home = Path(os.environ["XDG_CACHE_HOME"])
    return sorted(path for path in home.rglob("*") if path.is_file())


def test_the_cache_is_written_outside_the_archive_and_changes_nothing(root, same):
    same()
    assert cache_files(), "the cache should have been written"
    assert not any(path.is_relative_to(root) for path in cache_files())


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
        same()  # unreadable, with and without the cache alike
    same()  # readable again, its stat unchanged: the cache kept no failure


def test_an_unwritable_cache_is_bypassed_without_a_word(root, same):
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


def test_temporary_files_left_by_a_killed_run_are_removed(root, kn):
    time.sleep(SETTLE)
    kn("list", env={"KN_NO_CACHE": ""})
    folder = next(path for path in cache_files() if path.name == "folders").parent
    old, new = folder / "meta" / "x.123.tmp", folder / "meta" / "y.456.tmp"
    for path in (old, new):
        path.write_bytes(b"half written")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    kn("list", env={"KN_NO_CACHE": ""})
    assert (old.exists(), new.exists()) == (False, True)  # a run may be writing the new one


# --- a damaged cache -------------------------------------------------------------------


def damages(data: bytes, rng: random.Random) -> list[bytes]:
    """A byte flipped, the file cut short, a run of bytes zeroed, and nothing at all."""
    flipped = bytearray(data)
    flipped[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    start = rng.randrange(len(data))
    zeroed = data[:start] + bytes(min(16, len(data) - start)) + data[start + 16 :]
    return [bytes(flipped), data[: rng.randrange(len(data))], zeroed, b""]


def test_a_damaged_cache_file_never_changes_an_answer(root, same, kn):
    same()
    files = cache_files()
    assert {path.parent.name for path in files} >= {"meta", "words", "facts"}
    rng = random.Random(11)
    commands = [["list"], ["search", "-c", "-i", "coal|kim"], ["facts"], ["show"]]
    expected = {tuple(c): kn("--no-cache", *c) for c in commands}
    for path in files:
        data = path.read_bytes()
        for damaged in damages(data, rng):
            path.write_bytes(damaged)
            for command in commands:
                result = kn(*command, env={"KN_NO_CACHE": ""})
                want = expected[tuple(command)]
                assert (result.exit_code, result.stdout, result.stderr) == (
                    want.exit_code,
                    want.stdout,
                    want.stderr,
                ), (path.name, command)
            path.write_bytes(data)


@pytest.mark.parametrize("kind", ["fifo", "link to /dev/zero", "folder"])
def test_a_cache_file_that_is_no_regular_file_is_ignored(root, same, kn, kind):
    same()
    path = next(path for path in cache_files() if path.parent.name == "meta")
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        path.symlink_to("/dev/zero")
    run = subprocess.run(
        [KN, "list"],
        cwd=root.parent,
        env={**os.environ, "KN_NO_CACHE": ""},
        capture_output=True,
        timeout=30,  # a FIFO opened for reading would wait for ever
    )
    assert (run.returncode, run.stdout.decode()) == (2, kn("--no-cache", "list").stdout)


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
    patterns = [word, f"^{word}", f"{word}$", rf"{word}\s\w+", f"{word[:2]}", "^$", "[Kk]im|ore"]
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
def test_cached_answers_are_uncached_ones_through_random_edits(make_archive, same, seed):
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


# --- the word index ---------------------------------------------------------------------


def sifted(directory: Path, pattern: str, text: str, flags: int = 0) -> list[int]:
    """The files a search for `pattern` reads, from an index that learnt one file's text."""
    stats = [(1, 2, 3, 4, 5)]
    learner = index.Sieve(str(directory), None).folder("", ["f"], stats)
    assert (learner.chosen, learner.unknown) == ([0], {0})
    learner.learn(0, index.words(text.encode()), True)
    learner.save()
    sieve = index.Sieve(str(directory), required_words([pattern], flags))
    return sieve.folder("", ["f"], stats).chosen


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("uranium", "URANIUM enrichment"),
        ("kelvin", "\u212aelvin"),  # Kelvin sign: re ignoring case matches it with k
        ("sanctions", "\u017fanctions"),  # long s
        ("istanbul", "\u0130stanbul"),
        ("north korea", "North Korea"),
        ("a(b|c)def", "xacdefx"),
        ("iron|coal", "coal"),
        ("sanc?tions", "santions"),
        ("x(?=y)yz{2}", "abc xyzz"),
        ("sanction", "the sanctions"),  # a piece inside a longer word
    ],
)
def test_the_index_never_rules_out_a_file_that_matches(tmp_path, pattern, text):
    import re

    assert re.search(pattern, text, re.IGNORECASE), "the example must match"
    assert sifted(tmp_path, pattern, text, re.IGNORECASE) == [0]


def test_the_index_rules_out_a_file_without_the_words(tmp_path):
    assert sifted(tmp_path, "uranium", "coal and iron only") == []


def test_a_folder_index_admits_exactly_the_files_with_the_words(tmp_path):
    texts = [
        f"file {i} talks of coal" if i % 7 else f"file {i} enriches uranium" for i in range(300)
    ]
    names = [f"{i:03d}.txt" for i in range(300)]
    stats = [(1, 1000 + i, len(text), i, i) for i, text in enumerate(texts)]
    learner = index.Sieve(str(tmp_path), None).folder("2017", names, stats)
    assert learner.chosen == list(range(300))
    for position, text in enumerate(texts):
        # One file could not be read as an article: it must be read on every search.
        learner.learn(position, None if position == 150 else index.words(text.encode()), True)
    learner.save()

    def chosen(pattern: str) -> list[int]:
        sieve = index.Sieve(str(tmp_path), required_words([pattern]))
        return sieve.folder("2017", names, stats).chosen

    uranium = [i for i in range(300) if i % 7 == 0]
    assert chosen("uranium") == sorted([*uranium, 150])
    assert chosen("enrich(es|ed) uran") == sorted([*uranium, 150])
    assert chosen("uranium|talks of") == list(range(300))
    assert chosen("plutonium") == [150]
    # Files that changed since, or are new, are read; the others are still ruled out.
    stats[1], stats[14] = (1, 1, 1, 1, 1), (2, 2, 2, 2, 2)
    assert chosen("uranium") == sorted([*uranium, 1, 150])


def test_a_listing_is_kept_only_for_a_folder_that_had_settled(tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "SETTLED_NS", 3_000_000_000)
    now = time.time_ns()
    old = (1, 7, now - 10_000_000_000, now - 10_000_000_000)
    recent = (1, 8, now - 10_000_000_000, now - 1_000_000_000)  # ctime 1 s ago: not settled
    listings = cache.Listings(str(tmp_path))
    listings.put("old", old, (["a.txt"], []))
    listings.put("recent", recent, (["b.txt"], []))
    listings.save()
    again = cache.Listings(str(tmp_path))
    assert again.get("old", old) == (["a.txt"], [])
    assert again.get("old", (1, 9, old[2], old[3])) is None  # another folder by that name
    assert again.get("old", (1, 7, old[2] + 1, old[3])) is None
    assert again.get("recent", recent) is None


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


# What the cache kept under each cache.VERSION, as a digest of derived() below. Raising
# VERSION adds a line; a line is never edited, so that a change of what kn derives cannot
# pass unseen while old cache files still hold what the old code derived.
DERIVED = {
    6: "49ec271e979f261efb95e921e0a507b1f71260f66087c841ef505e6efc25bf36",
    7: "b0c6562016328f53357184a9a43f02457b87409d2de65d7729be226217b949eb",  # headings in scripts without case, ・ bullets
}

EDGE_FILES = {
    "crlf": b"---\r\ntitle: Coal ban   # note\r\ndate: 2017-08-07\r\n---\r\nLine one\r\n",
    "bom": "\ufeff" + article("Bom", body="Body with a BOM.\n"),
    "fields": article(
        "Fields",
        "2017-08-07T09:30:00+09:00",
        body="Kim said.\n\n* one\n* two\n",
        source="Wire",
        authors="[A, B]",
        tags="[x, y]",
        place="{city: Seoul, seen: !!set {b, a}}",
        count="3",
    ),
    "latin1": article(body="Caf\xe9 de Paris\n").encode("latin-1"),
    "nul": article(body="text\0\n").encode(),
    "no-front-matter": "Just text\n",
    "unclosed": "---\ntitle: T\ndate: 2017-01-01\nbody\n",
    "no-date": "---\ntitle: T\n---\nbody\n",
    "duplicate": "---\ntitle: T\ntitle: U\ndate: 2017-01-01\n---\nbody\n",
    "list-title": "---\ntitle: [a, b]\ndate: 2017-01-01\n---\nbody\n",
}


def derived(tmp_path: Path) -> str:
    """A digest of all that the cache keeps, derived afresh from fixed files by the code
    that derives it: each file's record or problem, facts, words and signature (walk.py,
    reader.py, structure.py, index.py), the rows of list and facts kept for it (output.py),
    and which names of a folder are articles (archive.py). Messages from outside kn
    (YAML's, the date library's) are left out: they differ between installs, not between
    kn versions."""
    from korea_news import output, reader, walk
    from korea_news.archive import Archive
    from korea_news.model import Fact, InvalidArticle

    files = {path.stem: path.read_bytes() for path in sorted((GOLDEN / "articles").rglob("*.txt"))}
    for case in sorted(FACTS.glob("*.txt")):
        files[case.stem] = article(case.stem, body=case.read_text(encoding="utf-8")).encode()
    files |= {name: d if isinstance(d, bytes) else d.encode() for name, d in EDGE_FILES.items()}
    found: dict[str, object] = {}
    for name, data in files.items():
        (tmp_path / f"{name}.txt").write_bytes(data)
        heard: set[bytes] = set()
        try:
            with reader.open_article(str(tmp_path / f"{name}.txt"), f"a/{name}.txt", name) as f:
                heard |= index.words(f.article.title.encode())
                f.listen = lambda text, into=heard: into.update(index.words(text.encode()))
                body = "".join(text for _, text in f.body())
            words = sorted(word.decode() for word in heard)
            kept = [walk._to_record(f.article), walk.facts_of(f.article, body), words]
            kept += [index.signature(heard).hex(), output.article_line(f.article)]
            kept += [output._json_line(f.article), output._json_item(f.article)]
            facts = [Fact(f.article, *row) for row in walk.facts_of(f.article, body)]
            kept += [[output.fact_line(fact), output._json_line(fact)] for fact in facts]
        except InvalidArticle as problem:
            kept = [walk._to_record(problem)]
        found[name] = kept
    for name in ("top.txt", ".hidden.txt", "notes.md", "x.txt.bak", "sub/a.txt", ".git/b.txt"):
        (tmp_path / "tree" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "tree" / name).write_text(article())
    found["tree"] = [[folder.inside, folder.names] for folder in Archive(tmp_path / "tree").scan()]
    text = json.dumps(found, sort_keys=True, ensure_ascii=False, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_cache_version_is_raised_whenever_what_it_keeps_is_derived_differently(tmp_path):
    digest = derived(tmp_path)
    assert len(set(DERIVED.values())) == len(DERIVED), "a digest stands under two versions"
    assert max(DERIVED) == cache.VERSION, "cache.VERSION was raised: add its line to DERIVED"
    assert DERIVED[cache.VERSION] == digest, (
        f"what the cache keeps is derived differently now ({digest}): "
        "raise cache.VERSION, and add a line for it to DERIVED"
    )
