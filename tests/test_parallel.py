"""A search shares its walk with a forked second process: the same results, whatever happens."""

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


def test_a_failing_second_process_changes_nothing_but_the_time(kn, archive, monkeypatch):
    expected = outcome(kn("--no-cache", "search", "-l", "coal"))

    def fail(*args):
        os._exit(3)

    monkeypatch.setattr(parallel, "_child", fail)
    assert outcome(kn("search", "-l", "coal", env={"KN_NO_CACHE": ""})) == expected


def test_one_core_walks_both_halves_here(kn, archive, monkeypatch):
    expected = outcome(kn("--no-cache", "search", "-l", "coal"))
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    monkeypatch.setattr(os, "fork", lambda: pytest.fail("no fork on one core"))
    assert outcome(kn("search", "-l", "coal", env={"KN_NO_CACHE": ""})) == expected
