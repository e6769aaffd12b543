"""A walk shared with a forked second process gives the same results, whatever happens."""

from __future__ import annotations

import os

import pytest

from conftest import article
from korea_news import walk

FILES = {
    f"{year}/{year}-{n}.txt": article(
        f"Coal story {year} {n}", f"{year}-01-{n + 1:02d}", body="coal\n"
    )
    for year in (2015, 2016, 2017, 2018)
    for n in range(3)
}
BROKEN = {"2015/bad.txt": "coal, no front matter\n", "2016/bad2.txt": "coal, none either\n"}
PROBLEMS = [
    "kn: articles/2015/bad.txt:1: no front matter: the first line must be ---",
    "kn: articles/2016/bad2.txt:1: no front matter: the first line must be ---",
]
SHARED = [
    ["search", "-l", "coal"],
    ["search", "-c", "coal"],
    ["list"],
    ["list", "--format", "json", "--reverse", "-n", "7"],
    ["list", "--format", "jsonl", "--since", "2016-01-03"],
    ["facts"],
    ["show"],  # the newest article
]


@pytest.fixture
def archive(make_archive):
    return make_archive({**FILES, **BROKEN})


def outcome(result):
    return result.exit_code, result.stdout, tuple(sorted(result.stderr.splitlines()))


@pytest.mark.parametrize("command", SHARED)
def test_two_processes_give_what_one_gives_and_tell_each_problem_once(kn, archive, command):
    expected = outcome(kn("--no-cache", *command))
    for _ in range(2):  # filling the cache, then reading it
        assert outcome(kn(*command, env={"KN_NO_CACHE": ""})) == expected
    assert expected[0] == 2 and sorted(expected[2]) == PROBLEMS


@pytest.mark.parametrize("command", SHARED)
def test_a_second_process_that_fails_changes_nothing_but_the_time(
    kn, archive, monkeypatch, command
):
    expected = outcome(kn("--no-cache", *command))

    def fail(*args: object) -> None:
        os._exit(3)

    monkeypatch.setattr(walk, "_child", fail)
    assert outcome(kn(*command, env={"KN_NO_CACHE": ""})) == expected


@pytest.mark.parametrize("command", SHARED)
def test_a_second_process_that_cannot_send_changes_nothing(kn, archive, monkeypatch, command):
    expected = outcome(kn("--no-cache", *command))

    def cannot(*args: object) -> None:  # the child has walked its half, then fails to send it
        raise ValueError("cannot send")

    monkeypatch.setattr(walk, "_send", cannot)
    assert outcome(kn(*command, env={"KN_NO_CACHE": ""})) == expected


def test_a_second_process_that_dies_while_sending_is_an_error_not_a_short_answer(
    kn, archive, monkeypatch
):
    real_send, sent = walk._send, []

    def dying(out, data):
        sent.append(1)
        if len(sent) == 3:  # its problems and one chunk of rows are sent: then it dies
            os._exit(9)
        real_send(out, data)
        out.flush()

    monkeypatch.setattr(walk, "CHUNK", 1)
    monkeypatch.setattr(walk, "_send", dying)
    result = kn("list", env={"KN_NO_CACHE": ""})
    assert result.exit_code == 2
    assert "a second process ended before its work was done" in result.stderr


@pytest.mark.parametrize("command", SHARED)
def test_one_core_walks_both_halves_here(kn, archive, monkeypatch, command):
    expected = outcome(kn("--no-cache", *command))
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    monkeypatch.setattr(os, "fork", lambda: pytest.fail("no fork on one core"))
    assert outcome(kn(*command, env={"KN_NO_CACHE": ""})) == expected
