"""The installed `kn`, run as a person would: under a pseudo-terminal, and in a pipe."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest

from conftest import KN, SEED_ID, article, in_shell, in_terminal, strip_ansi
from korea_news import store, sync


def test_show_in_a_terminal_has_a_bold_title_and_hanging_bullets(
    seed_archive, tmp_path, process_env
):
    screen = in_terminal(["show"], tmp_path, process_env)
    assert "\x1b[1mNorth Korea calls offer of talks from the South ‘insincere’" in screen
    plain = screen.replace("\x1b[0m", "")
    lines = [line.rstrip() for line in strip_ansi(plain).splitlines()]
    first = next(i for i, line in enumerate(lines) if "Importing coal" in line)
    assert lines[first].startswith("  • Importing coal, seafood")
    assert (
        lines[first + 1].startswith("    ") and lines[first + 1].strip()
    )  # wrapped under the text
    assert max(len(line) for line in lines) <= 80
    assert "What are the new sanctions?" in lines


def test_color_never_and_no_color_draw_without_escape_codes(seed_archive, tmp_path, process_env):
    assert "\x1b[" not in in_terminal(["--color", "never", "list"], tmp_path, process_env)
    assert "\x1b[" not in in_terminal(["list"], tmp_path, {**process_env, "NO_COLOR": "1"})
    assert "\x1b[" in in_terminal(["list"], tmp_path, process_env)


def test_list_in_a_terminal_is_a_table(seed_archive, tmp_path, process_env):
    screen = strip_ansi(in_terminal(["list"], tmp_path, process_env, cols=160))
    header = screen.splitlines()[0].split()
    assert header == ["ID", "Date", "Source", "Title", "Tags"]
    assert "north-korea, south-korea" in screen


def test_article_text_is_data_on_a_terminal(make_archive, tmp_path, process_env):
    title = '"[bold red]Boom[/] :smile: \\e]0;pwned\\a \\e[31mred"'
    make_archive({"evil.txt": article(title, body="[link=http://x.test]click[/link]\n\x1b[2J\n")})
    screen = in_terminal(["show", "evil"], tmp_path, process_env)
    assert "[bold red]Boom[/] :smile:" in screen
    assert "[link=http://x.test]click[/link]" in screen
    assert "\\x1b]0;pwned\\x07" in screen and "\\x1b[2J" in screen
    assert "\x1b]0;" not in screen and "\x1b[2J" not in screen and "\x07" not in screen


def test_a_tall_article_goes_through_the_pager_unless_no_pager(seed_archive, tmp_path, process_env):
    paged = tmp_path / "paged"
    pager_env = {**process_env, "KN_PAGER": f"cat > {paged}"}
    in_terminal(["show"], tmp_path, pager_env, rows=20)
    assert "What are the new sanctions?" in paged.read_text(encoding="utf-8")
    paged.unlink()
    screen = in_terminal(["show", "--no-pager"], tmp_path, pager_env, rows=20)
    assert not paged.exists() and "What are the new sanctions?" in screen


def test_piped_list_is_plain_tab_separated_lines(seed_archive, tmp_path, process_env):
    result = subprocess.run(
        [KN, "list"], cwd=tmp_path, env=process_env, capture_output=True, check=True
    )
    assert result.stdout.decode() == (
        f"{SEED_ID}\t2017-08-07\tBBC News\tNorth Korea calls offer of talks from the South ‘insincere’\n"
    )
    assert result.stderr == b""


def test_list_into_head_ends_quietly(make_archive, tmp_path, process_env):
    make_archive(
        {f"{i:05}.txt": article(f"Article number {i}", body="x\n" * 50) for i in range(3000)}
    )
    script = "kn list | head -1; kn show --format json $(kn list | cut -f1) | head -c 10"
    result = in_shell(script, tmp_path, process_env)
    assert result.stdout.decode().startswith("00000\t")
    assert result.stderr == b""


def test_python_dash_m_works_too(seed_archive, tmp_path, process_env):
    result = subprocess.run(
        [sys.executable, "-m", "korea_news", "list"],
        cwd=tmp_path,
        env=process_env,
        capture_output=True,
    )
    assert result.stdout.decode().startswith(SEED_ID + "\t")


def test_a_first_run_over_many_files_shows_progress_on_a_terminal(
    make_archive, tmp_path, process_env
):
    make_archive({f"{i:04}.txt": article(f"Article {i}") for i in range(600)})
    time.sleep(sync.RACY_NS / 1e9 + 0.1)  # files just written are never cached
    env = {**process_env, "KN_NO_CACHE": "", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    screen = in_terminal(["list"], tmp_path, env)
    assert "reading articles: " in screen
    again = in_terminal(["list"], tmp_path, env)  # now from the cache: nothing to show
    assert "reading articles" not in again


def test_shell_completion_offers_article_ids(seed_archive, tmp_path, process_env):
    env = {
        **process_env,
        "_KN_COMPLETE": "bash_complete",
        "COMP_WORDS": "kn show 2017-08",
        "COMP_CWORD": "2",
    }
    result = subprocess.run([KN], cwd=tmp_path, env=env, capture_output=True, check=True)
    assert result.stdout.decode() == f"plain,{SEED_ID}\n"


# --- what a first week of use found ------------------------------------------------------


def test_ctrl_c_in_the_pager_waits_for_the_pager_to_end(seed_archive, tmp_path, process_env):
    import os
    import pty
    import signal

    started, mark = tmp_path / "pager-started", tmp_path / "pager-ended"
    pager = tmp_path / "pager.sh"  # as less does: Ctrl-C is its own, it ends when it wants
    pager.write_text(
        f"#!/bin/sh\ntrap '' INT\ntouch {started}\ncat > /dev/null\nsleep 1\ntouch {mark}\n"
    )
    pager.chmod(0o755)
    master, slave = pty.openpty()
    env = {**process_env, "KN_PAGER": str(pager), "LINES": "10"}
    process = subprocess.Popen(
        [KN, "show"], stdin=slave, stdout=slave, stderr=slave, cwd=tmp_path, env=env,
        start_new_session=True,
    )  # fmt: skip
    os.close(slave)
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)  # what the terminal sends its foreground group
    process.wait(timeout=30)
    os.close(master)
    assert mark.exists(), "kn ended before its pager"


def test_a_pager_that_cannot_run_leaves_the_text_shown(seed_archive, tmp_path, process_env):
    env = {**process_env, "KN_PAGER": "no-such-pager"}
    screen = in_terminal(["show"], tmp_path, env, rows=20)
    assert "What are the new sanctions?" in screen
    assert "kn: the pager 'no-such-pager' could not run: shown without it" in screen


def test_color_always_renders_show_list_and_facts_in_a_pipe(seed_archive, tmp_path, process_env):
    env = {**process_env, "COLUMNS": "100"}
    for command in (["show"], ["list"], ["facts"]):
        run = subprocess.run([KN, "--color", "always", *command], cwd=tmp_path, env=env, capture_output=True)  # fmt: skip
        text = run.stdout.decode()
        assert "\x1b[1m" in text, command
        assert 90 < max(len(line) for line in strip_ansi(text).splitlines()) <= 100, command
    assert (
        "\x1b[1mNorth Korea calls offer"
        in subprocess.run(
            [KN, "show", "--color", "always"], cwd=tmp_path, env=env, capture_output=True
        ).stdout.decode()
    )


def test_a_dumb_terminal_gets_no_pager_and_the_width_of_columns(
    seed_archive, tmp_path, process_env
):
    paged = tmp_path / "paged"
    env = {**process_env, "TERM": "dumb", "COLUMNS": "120", "KN_PAGER": f"cat > {paged}"}
    screen = in_terminal(["show"], tmp_path, env, cols=120, rows=20)
    assert not paged.exists()
    assert "\x1b[?" not in screen  # no cursor control
    assert max(len(line) for line in screen.splitlines()) > 80


def test_color_always_is_colour_on_a_dumb_terminal_too(seed_archive, tmp_path, process_env):
    # As grep and git: --color always asks for colour whatever TERM says (cursor control aside).
    env = {**process_env, "TERM": "dumb"}
    run = subprocess.run([KN, "--color", "always", "show"], cwd=tmp_path, env=env, capture_output=True)  # fmt: skip
    assert "\x1b[1mNorth Korea calls offer" in run.stdout.decode()
    screen = in_terminal(["--color", "always", "list"], tmp_path, env)
    assert "\x1b[" in screen and "\x1b[?" not in screen


def test_a_search_line_with_a_tab_is_whole_and_highlighted_in_place(
    make_archive, tmp_path, process_env
):
    make_archive({"a.txt": article("T", body="- item\twith a tab, then more words\n")})
    screen = in_terminal(["search", "with"], tmp_path, process_env)
    assert "- item  with a tab, then more words" in strip_ansi(screen)
    assert re.search(r"item  \x1b\[[0-9;]*mwith\x1b\[0m a tab", screen), screen


def test_a_search_line_of_many_matches_is_highlighted_in_time_linear_in_it(
    make_archive, tmp_path, process_env
):
    """Each match's place in the line drawn (tabs expanded) was counted from the line's start."""
    make_archive({"a.txt": article("T", body="ab\t" * 60_000 + "\n")})
    started = time.monotonic()
    screen = in_terminal(["search", "ab"], tmp_path, process_env)
    assert time.monotonic() - started < 20  # it took minutes
    assert len(re.findall(r"\x1b\[[0-9;]*mab\x1b\[0m", screen)) == 60_000


def test_the_list_table_never_splits_an_id(make_archive, tmp_path, process_env):
    ids = [
        f"2017-08-0{i}-a-long-article-identifier-about-sanctions-number-{i}" for i in range(1, 4)
    ]
    make_archive({f"{i}.txt": article(f"A title that goes on and on, number {n}", source="Reuters") for n, i in enumerate(ids)})  # fmt: skip
    screens = {}
    for cols in (60, 80, 120):
        screens[cols] = screen = strip_ansi(in_terminal(["list"], tmp_path, process_env, cols=cols))
        assert all(i in screen for i in ids), (cols, screen)
    assert "Source" not in screens[80]
    assert "Source" in screens[120]


def test_an_interrupted_sync_clears_its_progress_line(make_archive):
    from korea_news.archive import Archive

    root = make_archive({f"{i:04}.txt": article(f"A{i}") for i in range(600)})
    told = []

    def interrupted(count: int, done: bool) -> None:
        told.append(done)
        if not done:  # Ctrl-C as the line is first drawn
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.Store(Archive(root, progress=interrupted), persistent=False).sync()
    assert told == [False, True]


# --- hostile text, wide screens ----------------------------------------------------------

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


@pytest.mark.parametrize("command", [["show", "turned"], ["list"], ["search", "ok"], ["facts"]])
def test_bidirectional_controls_are_shown_escaped_on_a_terminal(
    make_archive, tmp_path, process_env, command
):
    body = f"Text ok {BIDI}.\n\nFacts:\n\n• ok \u202egpj.exe\n"
    make_archive({"turned.txt": article(f"ok \u202egpj.exe {BIDI}", body=body)})
    screen = in_terminal(command, tmp_path, process_env, cols=200)
    assert "ok \\u202egpj.exe" in screen, screen
    assert not set(BIDI) & set(screen), screen


def test_bidirectional_controls_stay_as_stored_in_a_pipe_and_escaped_in_json(
    make_archive, tmp_path, process_env
):
    make_archive({"turned.txt": article("ok \u202egpj.exe")})
    run = subprocess.run([KN, "list"], cwd=tmp_path, env=process_env, capture_output=True)
    assert run.stdout.decode().endswith("\tok \u202egpj.exe\n")
    run = subprocess.run(
        [KN, "list", "--format", "jsonl"], cwd=tmp_path, env=process_env, capture_output=True
    )
    assert '"title": "ok \\u202egpj.exe"' in run.stdout.decode()


def test_add_dry_run_escapes_the_title_on_a_terminal_and_not_in_a_pipe(
    make_archive, tmp_path, process_env
):
    make_archive({})
    clipboard = "Title \x1b]52;c;ZXZpbA==\x07 \u202eend"
    (tmp_path / "story.txt").write_text(f"{clipboard}\n\nThe body.\n\nMore of it.\n")
    dry_run = ["add", "--dry-run", "story.txt", "--date", "2020-01-02"]
    screen = in_terminal(dry_run, tmp_path, process_env)
    assert "Title \\x1b]52;c;ZXZpbA==\\x07 \\u202eend\tnew" in screen
    assert "\x1b]52" not in screen and "\u202e" not in screen
    run = subprocess.run([KN, *dry_run], cwd=tmp_path, env=process_env, capture_output=True)
    assert run.stdout.decode().endswith(f"\t{clipboard}\tnew\n")


@pytest.mark.parametrize("columns", ["30000000", "9" * 5000])
def test_columns_is_taken_up_to_1000(seed_archive, tmp_path, process_env, columns):
    env = {**process_env, "COLUMNS": columns}
    for command in (["show"], ["list"], ["facts"]):
        run = subprocess.run(
            [KN, "--color", "always", *command], cwd=tmp_path, env=env, capture_output=True
        )
        lines = strip_ansi(run.stdout.decode()).splitlines()
        assert (run.returncode, run.stderr) == (0, b""), command
        assert max(map(len, lines)) <= 1000 and len(run.stdout) < 100_000, command


@pytest.mark.parametrize("value", ["²", "0", "-3", "80x"])
def test_columns_or_lines_that_are_no_number_are_left_aside(
    seed_archive, tmp_path, process_env, value
):
    env = {**process_env, "COLUMNS": value, "LINES": value}
    run = subprocess.run([KN, "--color", "always", "show"], cwd=tmp_path, env=env, capture_output=True)  # fmt: skip
    assert (run.returncode, run.stderr) == (0, b"")
    assert max(map(len, strip_ansi(run.stdout.decode()).splitlines())) == 80


# --- the pager, for every command that prints records ------------------------------------

PAGED = [["list"], ["search", "coal"], ["search", "-c", "coal"], ["search", "-l", "coal"], ["facts"], ["find", "--all", "coal"]]  # fmt: skip


@pytest.fixture
def tall(make_archive):
    body = "Coal was banned.\n\nThe new sanctions:\n\n• coal\n• iron\n"
    make_archive({f"{i:02}.txt": article(f"Coal story {i}", body=body) for i in range(30)})


@pytest.mark.parametrize("command", PAGED)
def test_output_taller_than_the_screen_goes_through_the_pager(tall, tmp_path, process_env, command):
    paged = tmp_path / "pager.out"
    env = {**process_env, "KN_PAGER": f"cat > {paged}"}
    screen = in_terminal(command, tmp_path, env, rows=10)
    assert "29" in strip_ansi(paged.read_text(encoding="utf-8"))
    assert "29" not in strip_ansi(screen)
    paged.unlink()
    screen = in_terminal([*command, "--no-pager"], tmp_path, env, rows=10)
    assert not paged.exists() and "29" in strip_ansi(screen)
    screen = in_terminal(command, tmp_path, {**env, "TERM": "dumb"}, rows=10)
    assert not paged.exists() and "29" in strip_ansi(screen)


@pytest.mark.parametrize("command", PAGED)
def test_output_that_fits_the_screen_or_goes_to_a_pipe_is_never_paged(
    tall, tmp_path, process_env, command
):
    paged = tmp_path / "pager.out"
    env = {**process_env, "KN_PAGER": f"cat > {paged}"}
    assert "29" in strip_ansi(in_terminal(command, tmp_path, env, rows=500))
    run = subprocess.run([KN, *command], cwd=tmp_path, env=env, capture_output=True)
    assert run.returncode == 0 and b"29" in run.stdout
    assert not paged.exists()


def test_search_count_prints_path_and_count_on_a_terminal(make_archive, tmp_path, process_env):
    make_archive({"a.txt": article("x", body="x\nx\n"), "b\x1b[2Jc.txt": article("x")})
    screen = in_terminal(["search", "-c", "x"], tmp_path, process_env)
    assert screen == "articles/a.txt:3\narticles/b\\x1b[2Jc.txt:2\n"
    screen = in_terminal(["search", "-c", "-0", "x"], tmp_path, process_env)
    assert screen == "articles/a.txt\\x003\narticles/b\\x1b[2Jc.txt\\x002\n"


def test_a_match_after_an_escaped_control_character_is_highlighted_where_it_is(
    make_archive, tmp_path, process_env
):
    make_archive({"a.txt": article("x", body="one\x01two\x02 Korea \x03three\n")})
    screen = in_terminal(["search", "Korea"], tmp_path, process_env)
    assert "one\\x01two\\x02 \x1b[1;31mKorea\x1b[0m \\x03three" in screen
