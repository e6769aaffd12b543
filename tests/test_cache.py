"""The cache is invisible: every command prints the same with it, without it, and after
any change to the archive or damage to the cache."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from conftest import article
from korea_news import cache
from korea_news.search import required_words

COMMANDS = [
    ["list"],
    ["list", "--format", "json"],
    ["list", "--tag", "nuclear", "--since", "2017"],
    ["search", "coal"],
    ["search", "-l", "-i", "KOREA"],
    ["search", "-c", "-w", "iron|Kim"],
    ["search", "--format", "jsonl", "mi[sx]sile"],
    ["search", "Escaped"],
    ["facts"],
    ["show"],
    ["check"],
]


@pytest.fixture(params=["fresh folders", "settled folders"])
def cached(request, kn, make_archive, tmp_path, monkeypatch):
    """An archive, and a function that runs every command with and without the cache.

    With "settled folders", folders count as settled 20 ms after their last change (not
    3 s), and each comparison waits for that: the cache's listings of folders are used.
    """
    settled = request.param == "settled folders"
    if settled:
        monkeypatch.setattr(cache.Listings, "SETTLED_NS", 20_000_000)
    root = make_archive(
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
    cache_home = tmp_path / "cache-home"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))

    def compare() -> None:
        if settled:
            time.sleep(0.03)
        for command in COMMANDS:
            plain = kn("--no-cache", *command)
            for attempt in ("fills the cache", "reads the cache"):
                with_cache = kn(*command, env={"KN_NO_CACHE": ""})
                assert (with_cache.exit_code, with_cache.stdout, with_cache.stderr) == (
                    plain.exit_code,
                    plain.stdout,
                    plain.stderr,
                ), (command, attempt)

    compare.root = root
    compare.cache_home = cache_home
    return compare


def cache_files(home: Path) -> list[Path]:
    return [path for path in home.rglob("*") if path.is_file()]


def test_the_cache_is_used_and_changes_nothing(cached):
    cached()
    assert cache_files(cached.cache_home), "the cache should have been written"
    assert not any(str(cached.root) in str(path) for path in cache_files(cached.cache_home))


def test_after_an_edit(cached):
    cached()
    (cached.root / "2017" / "a.txt").write_text(
        article("Coal and oil ban", "2017-08-08", body="\n- oil\n"), encoding="utf-8"
    )
    cached()


def test_after_a_deletion_and_a_new_file(cached):
    cached()
    (cached.root / "2018" / "c.txt").unlink()
    (cached.root / "2020").mkdir()
    (cached.root / "2020" / "e.txt").write_text(
        article("Coal again", "2020-01-01"), encoding="utf-8"
    )
    cached()


def test_after_a_rename(cached):
    cached()
    os.rename(cached.root / "2017" / "b.txt", cached.root / "2018" / "renamed.txt")
    cached()


def test_after_an_edit_that_keeps_the_mtime_but_not_the_size(cached):
    cached()
    path = cached.root / "2017" / "b.txt"
    before = path.stat()
    path.write_text(
        article("Missile test", "2017-09-03", body="Now about coal.\n", tags="[nuclear]"),
        encoding="utf-8",
    )
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    cached()


def test_after_a_file_is_replaced_by_another_with_the_same_size_and_mtime(cached):
    cached()
    path = cached.root / "2018" / "c.txt"
    before = path.stat()
    replacement = cached.root / "2018" / "c.new"
    replacement.write_text(
        article("Kim meets Roon", "2018-04-27", body="Kim and Roon met.\n"), encoding="utf-8"
    )
    assert replacement.stat().st_size == before.st_size
    os.utime(replacement, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(replacement, path)  # a new inode
    cached()


def test_a_corrupt_cache_is_ignored(cached):
    cached()
    for path in cache_files(cached.cache_home):
        path.write_bytes(b"\x00garbage" * 10)
    cached()
    for path in cache_files(cached.cache_home):
        path.write_bytes(b"")
    cached()


def test_an_unwritable_cache_is_bypassed_without_a_word(cached):
    cached.cache_home.write_text("not a folder", encoding="utf-8")
    cached()


def test_no_cache_and_kn_no_cache_write_nothing(kn, make_archive, tmp_path, monkeypatch):
    make_archive({"a.txt": article("A")})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    assert kn("--no-cache", "list", env={"KN_NO_CACHE": ""}).exit_code == 0
    assert kn("list", env={"KN_NO_CACHE": "1"}).exit_code == 0
    assert not (tmp_path / "home").exists()
    assert kn("list", env={"KN_NO_CACHE": ""}).exit_code == 0
    assert (tmp_path / "home").exists()


def test_a_settled_folder_is_not_listed_again(kn, make_archive, tmp_path, monkeypatch):
    root = make_archive(
        {f"{year}/{i}.txt": article(f"A{i}") for year in (2017, 2018) for i in (1, 2)}
    )
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(cache.Listings, "SETTLED_NS", 20_000_000)
    time.sleep(0.03)
    listed = []
    real_scandir = os.scandir

    def scandir(path):
        listed.append(os.path.relpath(path, root))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    first = kn("list", env={"KN_NO_CACHE": ""})
    assert sorted(listed) == [".", "2017", "2018"]
    listed.clear()
    assert kn("list", env={"KN_NO_CACHE": ""}).stdout == first.stdout
    assert listed == []
    (root / "2018" / "3.txt").write_text(article("A3"), encoding="utf-8")
    third = kn("list", env={"KN_NO_CACHE": ""})
    assert listed == ["2018"]  # changed: its mtime moved on
    assert "A3" in third.stdout


def test_a_listing_is_kept_only_for_a_folder_that_had_settled(tmp_path):
    listings = cache.Listings(str(tmp_path))
    now = listings.now
    old = (now - 10_000_000_000, now - 10_000_000_000, 7)
    recent = (now - 10_000_000_000, now - 1_000_000_000, 8)  # ctime 1 s ago: not settled
    listings.put("old", old, (["a.txt"], []))
    listings.put("recent", recent, (["b.txt"], []))
    listings.save()
    again = cache.Listings(str(tmp_path))
    assert again.get("old", old) == (["a.txt"], [])
    assert again.get("old", (old[0], old[1], 9)) is None  # another folder by that name
    assert again.get("old", (old[0] + 1, old[1], 7)) is None
    assert again.get("recent", recent) is None


def signed(directory: Path, pattern: str, data: bytes, flags: int = 0) -> cache.Signatures:
    """Signatures that recorded one file's bytes, written out and read back."""
    writer = cache.Signatures(str(directory), None)
    assert writer.sift("", ["f"], [(1, 2, 3)]) == [0]
    assert writer.unknown == {0}
    writer.learn(0, data)
    writer.commit()
    writer.close()
    return cache.Signatures(str(directory), required_words([pattern], flags))


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
    ],
)
def test_a_signature_never_rules_out_a_file_that_matches(tmp_path, pattern, text):
    import re

    assert re.search(pattern, text, re.IGNORECASE), "the example must match"
    signatures = signed(tmp_path, pattern, text.encode("utf-8"), re.IGNORECASE)
    assert signatures.sift("", ["f"], [(1, 2, 3)]) == [0]
    assert not signatures.unknown


def test_a_signature_rules_out_a_file_without_the_words(tmp_path):
    signatures = signed(tmp_path, "uranium", b"coal and iron only")
    assert signatures.sift("", ["f"], [(1, 2, 3)]) == []
    assert signatures.sift("", ["f"], [(9, 9, 9)]) == [0]  # changed since: read it
    assert signatures.unknown == {0}


def test_a_folder_of_signatures_admits_exactly_the_files_with_the_words(tmp_path):
    texts = [
        f"file {i} talks of coal" if i % 7 else f"file {i} enriches uranium" for i in range(300)
    ]
    names = [f"{i:03d}.txt" for i in range(300)]
    stats = [(len(text), i, 1000 + i) for i, text in enumerate(texts)]
    writer = cache.Signatures(str(tmp_path), None)
    assert writer.sift("2017", names, stats) == list(range(300))
    for position, text in enumerate(texts):
        # One file could not be read as an article: it must be read on every search.
        writer.learn(position, None if position == 150 else text.encode())
    writer.commit()
    writer.close()

    def sift(pattern: str, flags: int = 0) -> list[int]:
        signatures = cache.Signatures(str(tmp_path), required_words([pattern], flags))
        return signatures.sift("2017", names, stats)

    uranium = [i for i in range(300) if i % 7 == 0]
    assert sift("uranium") == sorted([*uranium, 150])
    assert sift("enrich(es|ed) uran") == sorted([*uranium, 150])
    assert sift("uranium|talks of") == list(range(300))
    assert sift("plutonium") == [150]
    # Files that changed since, or are new, are read; the others are still ruled out.
    stats[1], stats[14] = (1, 1, 1), (2, 2, 2)
    assert sift("uranium") == sorted([*uranium, 1, 150])


def test_facts_then_list_keep_every_entry_of_the_cache(kn, make_archive, tmp_path, monkeypatch):
    make_archive({f"2017/{i}.txt": article(f"A{i}", body="\n- one\n- two\n") for i in range(5)})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    reads = []
    from korea_news import frontmatter

    real_parse = frontmatter.parse

    def counting(*args, **kwargs):
        reads.append(args[1])
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(frontmatter, "parse", counting)
    for command in (
        ["list"],
        ["facts"],
        ["facts"],
        ["list"],
        ["facts", "--heading", "x"],
        ["list"],
    ):
        assert kn(*command, env={"KN_NO_CACHE": ""}).exit_code in (0, 1)
    assert len(reads) == 5  # each file parsed once, by the first list


def test_a_file_unreadable_for_a_while_is_read_once_it_can_be(cached, monkeypatch):
    from korea_news import archive as archive_module

    real_open = open

    def locked(path, *args, **kwargs):
        if str(path).endswith("c.txt"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(archive_module, "open", locked, raising=False)
        cached()  # unreadable, with and without the cache alike
    cached()  # readable again, its stat unchanged: the cache did not keep the failure
