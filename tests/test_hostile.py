"""Hostile and broken input: kn answers clearly, never with a traceback, and loses nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import KN, article, in_shell, in_terminal
from korea_news import archive as archive_module
from korea_news import write

# Each reads every article; `kn check` exits 1 for problems, the others 2 for a bad article.
COMMANDS = [["list"], ["search", "a"], ["facts"], ["show"], ["list", "--format", "json"]]


def clean(result, codes=(0, 1, 2)) -> None:
    """An outcome a user can rely on: a known exit code, and only kn: lines on stderr."""
    assert result.exit_code in codes, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    assert all(line.startswith("kn: ") for line in result.stderr.splitlines()), result.stderr


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- front matter ----------------------------------------------------------------------

BROKEN = {
    "missing.txt": "Title only\n\nBody\n",
    "empty.txt": "",
    "blank-fm.txt": "---\n---\nBody\n",
    "unclosed.txt": "---\ntitle: T\ndate: 2017-01-01\n",
    "scalar.txt": "---\njust a string\n---\nBody\n",
    "syntax.txt": "---\ntitle: T\ndate: 2017-01-01\n  bad: indent\n---\n",
    "tab.txt": "---\ntitle: T\n\tdate: 2017-01-01\n---\n",
    "yes.txt": "---\ntitle: yes\ndate: 2017-01-01\n---\n",
    "number.txt": "---\ntitle: 3.10\ndate: 2017-01-01\n---\n",
    "date-title.txt": "---\ntitle: 2017-01-01\ndate: 2017-01-01\n---\n",
    "python.txt": "---\ntitle: !!python/object/apply:os.system ['echo pwned']\ndate: 2017-01-01\n---\n",
    "binary-tag.txt": "---\ntitle: !!binary aGVsbG8=\ndate: 2017-01-01\n---\n",
    "dupe.txt": "---\ntitle: A\ntitle: B\ndate: 2017-01-01\n---\n",
    "bad-zone.txt": "---\ntitle: T\ndate: 2017-01-01T10:00:00+25:00\n---\n",
    "feb30.txt": "---\ntitle: T\ndate: 2017-02-30\n---\n",
}


def test_every_broken_front_matter_is_a_located_warning(kn, make_archive):
    make_archive({**BROKEN, "good.txt": article("Good", body="a\n")})
    for command in COMMANDS:
        result = kn(*command)
        clean(result, codes=(2,))
    result = kn("list")
    assert result.stdout.startswith("good\t")
    warned = {line.split(":")[1].removeprefix(" articles/") for line in result.stderr.splitlines()}
    assert warned == {f"{name}" for name in BROKEN}
    check = kn("check")
    assert len(check.stdout.splitlines()) == len(BROKEN)
    assert all(":" in line.split(" ")[0] for line in check.stdout.splitlines())


def test_yaml_tags_never_build_python_objects(kn, make_archive, tmp_path):
    flag = tmp_path / "pwned"
    make_archive(
        {
            "p.txt": f"---\ntitle: T\ndate: 2017-01-01\nx: !!python/object/apply:os.system ['touch {flag}']\n---\n"
        }
    )
    clean(kn("list"), codes=(2,))
    assert not flag.exists()


def test_an_alias_bomb_is_refused_small_and_fast(kn, make_archive):
    lines = ["a: &a ['lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol']"]
    for i in range(1, 10):
        prev, name = chr(96 + i), chr(97 + i)
        lines.append(
            f"{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]"
        )
    make_archive(
        {
            "bomb.txt": "---\ntitle: T\ndate: 2017-01-01\n" + "\n".join(lines) + "\n---\n",
            "ok.txt": article("Ok"),
        }
    )
    started = time.monotonic()
    result = kn("list", "--format", "json")
    assert time.monotonic() - started < 5
    clean(result, codes=(2,))
    assert len(result.stdout) < 1000 and [a["id"] for a in json.loads(result.stdout)] == ["ok"]
    assert "too large" in result.stderr


def test_mixed_dates_and_zones_sort_and_filter(kn, make_archive):
    make_archive(
        {
            "a.txt": article("A", "2017-08-07"),
            "b.txt": article("B", "2017-08-07T09:00:00+09:00"),  # 00:00 UTC
            "c.txt": article("C", "2017-08-06T23:30:00-05:00"),  # 04:30 UTC on the 7th
            "d.txt": article("D", "'2017-08-07 12:00:00'"),
            "e.txt": article("E", "2017-08-08T00:00:00Z"),
        }
    )
    assert [line.split("\t")[0] for line in kn("list").stdout.splitlines()] == [
        "e",
        "d",
        "c",
        "a",
        "b",
    ]
    # By the calendar day as written: c is dated the 6th in its own zone.
    since = kn("list", "--since", "2017-08-07", "--until", "2017-08-07").stdout
    assert [line.split("\t")[0] for line in since.splitlines()] == ["d", "a", "b"]


def test_yaml_one_one_values_in_extra_keys_are_kept_as_yaml_reads_them(kn, make_archive):
    make_archive(
        {
            "x.txt": article(
                "X", draft="no", count="010", when="2017-01-01", nothing="~", ratio=".inf"
            )
        }
    )
    extra = json.loads(kn("list", "--format", "json").stdout)[0]["extra"]
    assert extra == {
        "draft": False,
        "count": 8,
        "when": "2017-01-01",
        "nothing": None,
        "ratio": "inf",
    }


# --- encodings and bytes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            "---\ntitle: Café\ndate: 2017-01-01\n---\n".encode("latin-1"),
            "2: not UTF-8 text (byte 0xe9); latin1 text? iconv -f latin1 -t UTF-8 converts it",
        ),
        (
            "---\ntitle: \u2019Quoted\u2019\ndate: 2017-01-01\n---\n".encode("cp1252"),
            "2: not UTF-8 text (byte 0x92); cp1252 text? iconv -f cp1252 -t UTF-8 converts it",
        ),
        ("---\ntitle: T\ndate: 2017-01-01\n---\n".encode("utf-16"), "1: UTF-16 text, not UTF-8"),
        (b"x" * (1 << 16) + b"\xff\xfe\n", "1: not UTF-8 text (byte 0xff)"),  # not at the start
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "3: binary file (NUL byte), not an article"),
        (
            b"---\ntitle: T\ndate: 2017-01-01\n---\nnul\x00here\n",
            "5: binary file (NUL byte), not an article",
        ),
        (b"", "1: empty file, not an article"),
    ],
)
def test_bad_bytes_are_named_with_their_line(kn, make_archive, data, message):
    make_archive({"bad.txt": data, "good.txt": article("Good", body="a\n")})
    for command in COMMANDS:
        clean(kn(*command), codes=(2,))
    assert kn("check").stdout.startswith(f"articles/bad.txt:{message}")


def test_a_ten_megabyte_line_is_searched_and_shown(kn, make_archive):
    line = "word " * 2_000_000 + "needle"
    make_archive({"big.txt": article("Big", body=line + "\n")})
    result = kn("search", "-c", "needle")
    assert result.stdout == "articles/big.txt:1\n"
    assert kn("show", "big").stdout.endswith("needle\n")
    assert kn("facts").exit_code == 1


# --- terminal safety -------------------------------------------------------------------

EVIL_TITLE = (
    '"[bold]Boom[/] :smile: \\e]8;;http://evil.test\\e\\\\link\\e]8;;\\e\\\\ \\e[2J \\x9b31m \\x07"'
)
EVIL_BODY = "What now?\n\n- [red]item[/red] \x1b[5mblink\n- :thumbs_up: \x1b]0;title\x07\n\nText \x1b[31mred\x1b[0m.\n"


@pytest.fixture
def evil(make_archive):
    return make_archive(
        {
            "evil.txt": article(
                EVIL_TITLE, source='"[i]src\\e[1m"', tags="['[b]t\\e[0m']", body=EVIL_BODY
            )
        }
    )


@pytest.mark.parametrize(
    "command",
    [["show", "evil"], ["list"], ["search", "Boom|item|Text"], ["facts"], ["search", "-l", "Boom"]],
)
def test_a_terminal_never_receives_raw_control_sequences(evil, tmp_path, process_env, command):
    screen = in_terminal(command, tmp_path, {**process_env, "COLUMNS": "200"}, cols=200)
    own = screen.replace("\x1b[", "CSI").replace("CSI2J", "!!")  # kn's own styling is CSI ... m
    for raw in ("\x1b]", "\x07", "\x9b", "!!", "CSI5m", "CSI31mred"):
        assert raw not in own, (raw, command)
    if "-l" in command:
        return
    assert "\\x1b" in screen
    if command[0] != "facts":
        assert "[bold]Boom[/]" in screen and ":smile:" in screen
    if command[0] in ("show", "facts"):
        assert "[red]item[/red]" in screen and ":thumbs_up:" in screen


def test_plain_output_in_a_pipe_stays_byte_faithful(kn, evil):
    listed = kn("list").stdout
    assert "\x1b]8;;http://evil.test\x1b\\link" in listed and "\x9b31m" in listed
    body = kn("show", "evil").stdout
    assert body.endswith(EVIL_BODY)
    assert kn("search", "blink").stdout == "articles/evil.txt:9:- [red]item[/red] \x1b[5mblink\n"
    raw = json.loads(kn("show", "evil", "--format", "json").stdout)[0]
    assert raw["body"] == EVIL_BODY


def test_json_escapes_c1_controls_as_well(kn, evil):
    text = kn("list", "--format", "jsonl").stdout
    assert "\x9b" not in text and "\\u009b" in text
    assert json.loads(text)["title"].count("\x9b") == 1


# --- the filesystem --------------------------------------------------------------------


def test_symlinks_that_leave_the_archive_or_loop_are_refused(kn, make_archive, tmp_path):
    root = make_archive({"good.txt": article("Good")})
    secret = tmp_path / "secret.txt"
    secret.write_text(article("Secret"), encoding="utf-8")
    os.symlink(secret, root / "out.txt")
    os.symlink(root / "loop.txt", root / "loop.txt")
    os.symlink(root / "good.txt", root / "inside.txt")
    os.symlink(tmp_path, root / "folder-out")
    os.symlink(root, root / "folder-loop")
    result = kn("list")
    clean(result, codes=(2,))
    assert sorted(line.split("\t")[0] for line in result.stdout.splitlines()) == ["good", "inside"]
    assert "Secret" not in result.stdout
    assert "out.txt" in result.stderr and "loop.txt" in result.stderr
    assert kn("show", "out").exit_code == 2 and kn("search", "Secret").exit_code == 2


def test_a_named_pipe_is_reported_never_opened(kn, make_archive):
    root = make_archive({"good.txt": article("Good")})
    os.mkfifo(root / "pipe.txt")  # opening it to read would wait for a writer forever
    for command in (["list"], ["search", "Good"]):
        result = kn(*command)
        assert result.exit_code == 2, command
        assert "pipe.txt:1: not a regular file" in result.stderr, command
    assert kn("list").stdout.startswith("good\t")
    checked = kn("check")
    assert (checked.exit_code, checked.stdout) == (
        1,
        f"{root.name}/pipe.txt:1: not a regular file\n",
    )


def test_folders_named_txt_and_hidden_folders(kn, make_archive):
    make_archive(
        {"2017.txt/a.txt": article("Inside a folder named .txt"), ".git/b.txt": article("Hidden")}
    )
    assert kn("list").stdout.split("\t")[0] == "a"


def test_ids_that_look_like_options_or_paths(kn, make_archive):
    make_archive({"-x.txt": article("Dash"), "y.txt": article("Why")})
    assert kn("show", "--", "-x").stdout.startswith("Dash\n")
    assert kn("show", "-x").exit_code == 2  # an unknown option, as for any command
    for name in ("../y", "../articles/y.txt", "/etc/passwd"):
        clean(kn("show", name), codes=(2,))


def test_an_unreadable_file_is_a_warning(kn, make_archive, monkeypatch):
    make_archive({"good.txt": article("Good"), "locked.txt": article("Locked")})
    real_open = os.open

    def guarded(path, *args, **kwargs):
        if str(path).endswith("locked.txt"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded)
    result = kn("list")
    clean(result, codes=(2,))
    assert result.stderr == "kn: articles/locked.txt:1: cannot read: Permission denied\n"


def test_a_read_only_archive_is_read_and_add_fails_cleanly(kn, make_archive, monkeypatch):
    root = make_archive({"good.txt": article("Good")})
    before = snapshot(root)

    def refuse(folder: int, name: str, data: bytes) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(write, "create", refuse)
    assert kn("list").exit_code == 0
    result = kn("add", "-", input="New\n\nBody\n")
    clean(result, codes=(2,))
    assert "cannot write: Permission denied" in result.stderr
    assert snapshot(root) == before


def test_a_file_vanishing_mid_run_is_a_warning(kn, make_archive, monkeypatch):
    root = make_archive(
        {"a.txt": article("A", body="needle\n"), "b.txt": article("B", body="needle\n")}
    )
    real_scan = archive_module.Archive.scan

    def scan_then_delete(self):
        found = real_scan(self)
        (root / "a.txt").unlink(missing_ok=True)
        return found

    monkeypatch.setattr(archive_module.Archive, "scan", scan_then_delete)
    result = kn("search", "needle")
    clean(result, codes=(2,))
    assert result.stdout == "articles/b.txt:5:needle\n"
    assert result.stderr == "kn: articles/a.txt:1: cannot read: No such file or directory\n"


# --- the process -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2000 articles, written once for the tests below, which none of them changes: kn runs
    in the folder that holds them (their parent)."""
    root = tmp_path_factory.mktemp("many") / "articles"
    for y in (2016, 2017):
        (root / str(y)).mkdir(parents=True)
        for i in range(1000):
            text = article(
                f"Story {i} about coal", f"{y}-01-01", body="\nFacts:\n- coal\n- iron\n" * 20
            )
            (root / str(y) / f"{y}-{i:04}.txt").write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    "command",
    [
        "list",
        "show --no-pager $(kn list | cut -f1 | head -300)",
        "search coal",
        "search -c coal",
        "facts",
        "list --format json",
        "check; kn check",
    ],
)
def test_a_closed_pipe_ends_every_command_quietly(many, process_env, command):
    result = in_shell(f"kn {command} | head -c 100 > /dev/null", many.parent, process_env)
    assert result.stderr == b""


@pytest.mark.parametrize(
    ("redirect", "message"),
    [
        (">&-", "kn: cannot write: standard output is closed\n"),
        ("> /dev/full", "kn: cannot write: No space left on device\n"),
    ],
)
@pytest.mark.parametrize("command", ["list", "search coal", "show --no-pager"])
def test_output_that_cannot_be_written_is_an_error(many, process_env, command, redirect, message):
    result = in_shell(f"kn {command} {redirect}; echo $?", many.parent, process_env)
    assert (result.stdout, result.stderr.decode()) == (b"2\n", message)


@pytest.mark.parametrize(
    ("command", "code", "message"),
    [("add -", 2, "kn: -:1: empty: nothing to add\n"), ("add", 2, "kn: -:1: empty: nothing to add\n"),
     ("show -", 1, "")],
)  # fmt: skip
def test_a_closed_stdin_reads_as_empty_as_dev_null(many, process_env, command, code, message):
    result = in_shell(f"kn {command} <&-; echo $?", many.parent, process_env)
    assert (result.stdout.decode(), result.stderr.decode()) == (f"{code}\n", message)


def test_a_closed_stderr_changes_nothing_but_the_messages(many, tmp_path, process_env):
    listed = tmp_path / "listed"
    result = in_shell(
        f"kn list 2>&- > {listed}; echo $?; wc -l < {listed}", many.parent, process_env
    )
    assert result.stdout.split() == [b"0", b"2000"]


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, -signal.SIGTERM)])
def test_interrupts_end_quietly_and_add_leaves_nothing(
    make_archive, tmp_path, process_env, sig, code
):
    root = make_archive({})
    process = subprocess.Popen(
        [KN, "add", "-"],
        cwd=tmp_path,
        env=process_env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdin.write(b"A title\n\nHalf a bo")
    process.stdin.flush()
    wait_until_reading(process.pid)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code
    assert b"Traceback" not in stderr
    assert list(root.rglob("*")) == []


def wait_until_reading(pid: int) -> None:
    """Wait until the process sleeps in a read of its input (Linux), or for a while."""
    deadline = time.monotonic() + 20
    wchan = Path(f"/proc/{pid}/wchan")
    while time.monotonic() < deadline:
        try:
            if "pipe" in wchan.read_text():
                time.sleep(0.1)
                return
        except OSError:
            break
        time.sleep(0.05)
    time.sleep(2)


# --- fuzzing ---------------------------------------------------------------------------

pieces = st.sampled_from(
    [
        b"---\n",
        b"title: ",
        b"date: 2017-01-01\n",
        b"tags: [a, b]\n",
        b"\n",
        b"- item\n",
        b"\xe2\x80\xa2 x\n",
        b"\r\n",
        b"\x00",
        b"\xff",
        b"&a [*a]",
        b"...\n",
        b"  ",
        b"What?\n",
        b"a",
        b":",
        b"\xef\xbb\xbf",
        b"\x1b[31m",
    ]
)
contents = st.one_of(st.binary(max_size=200), st.lists(pieces, max_size=30).map(b"".join))


@given(files=st.lists(contents, min_size=1, max_size=4))
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_random_bytes_as_articles_give_only_clean_outcomes(kn, tmp_path, files):
    root = tmp_path / "articles"
    if root.exists():
        for path in root.iterdir():
            path.unlink()
    root.mkdir(exist_ok=True)
    for index, data in enumerate(files):
        (root / f"f{index}.txt").write_bytes(data)
    for command in (
        ["list"],
        ["search", "a"],
        ["search", "-i", "-w", "x|item"],
        ["facts"],
        ["check"],
        ["list", "--format", "json"],
    ):
        result = kn(*command)
        clean(result)
        if command[-1] == "json":
            json.loads(result.stdout)


def test_a_yaml_error_is_one_line_with_its_line(kn, make_archive):
    make_archive({"y.txt": "---\ndate: 2017-01-01\ntitle: a\x01b\n---\nx\n"})
    result = kn("list")
    assert result.stderr == (
        "kn: articles/y.txt:3: YAML: unacceptable character #x0001: "
        "control characters are not allowed\n"
    )


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["search", "a{99999999999}"], "kn: bad pattern 'a{99999999999}': the repetition number"),
        (["search", "(a)\\1"], "kn: bad pattern '(a)\\\\1': invalid escape sequence: \\1 (back-"),
        (["search", "x(?=y)"], "kn: bad pattern 'x(?=y)': invalid perl operator: (?= (back-"),
        (["facts", "--heading", "x{99999999999}"], "kn: bad pattern 'x{99999999999}'"),
        (["add", "/dev/zero"], "kn: /dev/zero:1: binary file (NUL byte), not an article"),
    ],
)
def test_impossible_requests_are_one_line_errors(kn, seed_archive, monkeypatch, command, message):
    from korea_news import compose

    monkeypatch.setattr(compose, "MAX_INPUT", 1 << 20)  # /dev/zero could never fill memory
    before = snapshot(seed_archive)
    result = kn(*command)
    assert result.exit_code == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr
    assert snapshot(seed_archive) == before


def test_endless_input_to_add_is_refused_past_256_mb(kn, make_archive, monkeypatch):
    from korea_news import compose

    root = make_archive({})
    monkeypatch.setattr(compose, "MAX_INPUT", 1 << 20)  # the same rule, a smaller number
    result = kn("add", "-", input="Title\n\n" + "y\n" * (1 << 20))
    assert (result.exit_code, result.stderr) == (2, "kn: -:1: larger than 1 MB: no article\n")
    assert not any(root.rglob("*.txt"))


@pytest.mark.parametrize(
    "command", [["list", "-n"], ["search", "coal", "--limit"], ["facts", "-n"]]
)
def test_a_limit_past_any_archive_is_none(kn, seed_archive, command):
    huge = kn(*command, "99999999999999999999")
    assert huge.exit_code == 0, huge.stderr
    assert huge.stdout == kn(*command[:-1]).stdout
