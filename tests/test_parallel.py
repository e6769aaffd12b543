"""A search or a listing shares its walk with a forked second process: the same results,
whatever happens."""

from __future__ import annotations

import os

import pytest

from conftest import article
from korea_news import parallel

FILES = {
    f"{year}/{year}-{n}.txt": article(
        f"Coal story {year} {n}", f"{year}-01-{n + 1:02d}", body="coal\n"
    )
    for year in (2015, 2016, 2017, 2018)
    for n in range(3)
}
BROKEN = {"2015/bad.txt": "coal, no front matter\n", "2016/bad2.txt": "coal, none either\n"}


@pytest.fixture
def archive(make_archive, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return make_archive({**FILES, **BROKEN})


def runs(kn, *args):
    """The same command without the cache (one process), with it, and with it again."""
    return [
        kn("--no-cache", *args),
        kn(*args, env={"KN_NO_CACHE": ""}),
        kn(*args, env={"KN_NO_CACHE": ""}),
    ]


def outcome(result):
    return result.exit_code, result.stdout, tuple(sorted(result.stderr.splitlines()))


def test_both_halves_are_found_and_each_problem_is_told_once(kn, archive):
    results = runs(kn, "search", "-c", "coal")
    assert len(results[0].stdout.splitlines()) == 12
    assert {outcome(result) for result in results[1:]} == {outcome(results[0])}
    assert results[1].exit_code == 2
    assert sorted(results[1].stderr.splitlines()) == [
        "kn: articles/2015/bad.txt:1: no front matter: the first line must be ---",
        "kn: articles/2016/bad2.txt:1: no front matter: the first line must be ---",
    ]


SHARED = [
    ["search", "-l", "coal"],
    ["list"],
    ["list", "--format", "json", "--reverse", "-n", "7"],
    ["list", "--format", "jsonl", "--since", "2016-01-03"],
    ["show"],  # the newest article
]


@pytest.mark.parametrize("command", SHARED)
def test_a_listing_is_the_same_from_two_processes(kn, archive, command):
    results = runs(kn, *command)
    assert {outcome(result) for result in results[1:]} == {outcome(results[0])}
    assert results[0].stdout.count("Coal story") or command[0] == "search"
    for result in results:  # each problem told once, whichever process met it
        assert result.exit_code == 2
        assert sorted(result.stderr.splitlines()) == [
            "kn: articles/2015/bad.txt:1: no front matter: the first line must be ---",
            "kn: articles/2016/bad2.txt:1: no front matter: the first line must be ---",
        ]


@pytest.mark.parametrize("command", SHARED)
def test_a_failing_second_process_changes_nothing_but_the_time(kn, archive, monkeypatch, command):
    expected = outcome(kn("--no-cache", *command))

    def fail(*args):
        os._exit(3)

    monkeypatch.setattr(parallel, "_child", fail)
    assert outcome(kn(*command, env={"KN_NO_CACHE": ""})) == expected


@pytest.mark.parametrize("command", SHARED)
def test_a_second_process_failing_after_its_share_changes_nothing(
    kn, archive, monkeypatch, command
):
    import marshal

    expected = outcome(kn("--no-cache", *command))

    class Failing:
        loads = staticmethod(marshal.loads)

        @staticmethod
        def dumps(value):  # the child has done its folders, then fails to send them
            raise ValueError("cannot send")

    monkeypatch.setattr(parallel, "marshal", Failing)
    assert outcome(kn(*command, env={"KN_NO_CACHE": ""})) == expected


@pytest.mark.parametrize("command", SHARED)
def test_one_core_walks_both_halves_here(kn, archive, monkeypatch, command):
    expected = outcome(kn("--no-cache", *command))
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    monkeypatch.setattr(os, "fork", lambda: pytest.fail("no fork on one core"))
    assert outcome(kn(*command, env={"KN_NO_CACHE": ""})) == expected


def test_the_folders_are_shared_by_their_count_of_files(make_archive):
    from korea_news.archive import Archive

    root = make_archive(
        {
            f"{folder}/{folder}{n}.txt": article(f"{folder} {n}")
            for folder, count in (("a", 5), ("b", 1), ("c", 1), ("d", 2), ("e", 3))
            for n in range(count)
        }
    )
    archive = Archive(root)
    scanned = archive.scan()
    parts = [[folder.inside for folder in archive.folders(scanned, part)] for part in (0, 1)]
    assert parts == [["a"], ["b", "c", "d", "e"]]
    assert sorted(parts[0] + parts[1]) == [folder.inside for folder in scanned]
