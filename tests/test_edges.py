"""Edges of the process and of the archive: Ctrl-C at start-up, file names that are not
UTF-8, numbers too long to print."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import KN, article

# Runs the console script as the shell would, but a Ctrl-C lands while `module` is imported.
INTERRUPTED_IMPORT = """
import runpy, sys
module, kn = sys.argv[1:3]
class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == module:
            raise KeyboardInterrupt
sys.meta_path.insert(0, Interrupt())
sys.argv = [kn, "list"]
runpy.run_path(kn, run_name="__main__")
"""


@pytest.mark.parametrize("module", ["korea_news.model", "click", "korea_news.store", "yaml"])
def test_ctrl_c_while_python_imports_kn_exits_130_without_a_word(
    seed_archive, tmp_path, process_env, module
):
    run = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_IMPORT, module, KN],
        cwd=tmp_path,
        env=process_env,
        capture_output=True,
        timeout=60,
    )
    assert (run.returncode, run.stderr.decode()) == (130, "")


# ... or as a class is made, in a descriptor's __set_name__: Python 3.11 wraps that Ctrl-C
# in a RuntimeError ("Error calling __set_name__").
INTERRUPTED_CLASS = """
import dataclasses, functools, runpy, sys
descriptor, owner, kn, *args = sys.argv[1:]
kind = {"cached_property": functools.cached_property, "field": dataclasses.Field}[descriptor]
made = kind.__set_name__
def interrupted(self, cls, name):
    if cls.__name__ == owner:
        raise KeyboardInterrupt
    made(self, cls, name)
kind.__set_name__ = interrupted
sys.argv = [kn, *args]
runpy.run_path(kn, run_name="__main__")
"""


@pytest.mark.parametrize(
    "case",
    [
        ["cached_property", "Output", "list"],  # as kn starts
        ["cached_property", "State", "list"],
        ["field", "Grep", "search", "coal"],  # as a command imports what it needs
    ],
    ids=["Output", "State", "Grep"],
)
def test_ctrl_c_as_a_class_is_made_exits_130_without_a_word(
    seed_archive, tmp_path, process_env, case
):
    run = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_CLASS, *case[:2], KN, *case[2:]],
        cwd=tmp_path, env=process_env, capture_output=True, timeout=60,
    )  # fmt: skip
    assert (run.returncode, run.stderr.decode()) == (130, "")


def test_ctrl_c_early_in_a_run_never_shows_kns_code_in_a_traceback(
    seed_archive, tmp_path, process_env
):
    """A Ctrl-C in Python's own start-up (its site imports, the console script's first
    lines) is Python's to report; from kn's first line on, it exits 130 quietly."""
    ours = f"{os.sep}korea_news{os.sep}"
    for delay in [0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08] * 3:
        process = subprocess.Popen(
            [KN, "list"], cwd=tmp_path, env=process_env, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        stderr = process.communicate(timeout=60)[1]
        assert ours not in stderr, (delay, stderr)
        assert process.returncode in (0, 1, 130, -signal.SIGINT), (delay, stderr)


# --- file names that are not UTF-8 -------------------------------------------------------


def bytes_named(folder, name: bytes, text: str) -> None:
    """A file whose name is bytes that are not UTF-8 (as a Latin-1 system writes é)."""
    fd = os.open(os.path.join(os.fsencode(folder), name), os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, text.encode())
    os.close(fd)


@pytest.fixture
def latin1_names(make_archive):
    root = make_archive({"good.txt": article("Good x", body="Body x.\n\nSome facts:\n\n• x\n")})
    bytes_named(root, b"caf\xe9.txt", article("Cafe x", "2017-08-09"))
    os.mkdir(os.path.join(os.fsencode(root), b"d\xe9r"))
    bytes_named(os.path.join(os.fsencode(root), b"d\xe9r"), b"in.txt", article("In x"))
    return root


LEFT_OUT = (
    "kn: articles/caf\\xe9.txt:1: file name is not UTF-8: left out (rename it)\n"
    "kn: articles/d\\xe9r:1: folder name is not UTF-8: left out (rename it)\n"
)


@pytest.mark.parametrize(
    ("command", "printed"),
    [
        (["list"], "good\t2017-08-07\t\tGood x\n"),
        (["list", "--format", "jsonl"], '"id": "good"'),
        (["search", "-l", "x"], "articles/good.txt\n"),
        (["search", "-c", "x"], "articles/good.txt:3\n"),
        (["search", "x"], "articles/good.txt:2:title: Good x\n"),
        (["facts"], "good\tSome facts:\tx\n"),
        (["show"], "Good x\n"),
    ],
)
def test_a_name_that_is_not_utf8_is_left_out_with_a_warning(kn, latin1_names, command, printed):
    result = kn(*command)
    assert (result.exit_code, result.stderr) == (2, LEFT_OUT)
    assert printed in result.stdout_bytes.decode("utf-8")
    if "jsonl" in command:
        assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["good"]


def test_check_reports_a_name_that_is_not_utf8(kn, latin1_names):
    result = kn("check")
    assert result.exit_code == 1
    assert result.stdout == LEFT_OUT.replace("kn: ", "")


def test_a_name_given_that_is_not_utf8_is_said_escaped(kn, latin1_names):
    result = kn("show", os.fsdecode(b"articles/caf\xe9.txt"))
    assert result.exit_code == 2
    assert "kn: articles/caf\\xe9.txt: not an article of the archive articles\n" in result.stderr


def test_an_archive_whose_path_is_not_utf8_is_an_error(tmp_path, process_env):
    root = os.path.join(os.fsencode(tmp_path), b"caf\xe9", b"articles")
    os.makedirs(root)
    run = subprocess.run([KN, "--archive", root, "list"], env=process_env, capture_output=True)
    assert run.returncode == 2 and run.stdout == b""
    assert run.stderr.decode().startswith(
        f"kn: the archive's path {tmp_path}/caf\\xe9/articles is not UTF-8"
    )


# --- numbers too long to print -----------------------------------------------------------

LONG = "0x" + "f" * 4000  # 4,817 decimal digits: past what Python prints (4,300)


def test_an_integer_too_long_to_print_is_kept_as_hexadecimal_text(kn, make_archive):
    nested = f"[1, {LONG}, {{? {LONG} : {LONG}}}]"  # ? : a key longer than 1024
    make_archive({"long.txt": article("Long", n=LONG, m="0x" + "F" * 4000, nested=nested)})
    result = kn("list", "--format", "json")
    assert (result.exit_code, result.stderr) == (0, "")
    extra = json.loads(result.stdout)[0]["extra"]
    assert extra == {"n": LONG, "m": LONG, "nested": [1, LONG, {LONG: LONG}]}
    assert kn("list", "--where", "n=1").exit_code == 1
    assert kn("list", "--where", f"n={LONG.upper()}").stdout.startswith("long\t")
    assert (kn("check").exit_code, kn("search", "Long").exit_code) == (0, 0)


def test_a_date_or_a_decimal_number_too_long_to_print_is_a_problem_of_its_article(kn, make_archive):
    make_archive({
        "date.txt": article("Date", date=LONG),
        "decimal.txt": article("Decimal", n="9" * 5000),
        "good.txt": article("Good"),
    })  # fmt: skip
    result = kn("list")
    assert (result.exit_code, result.stdout) == (2, "good\t2017-08-07\t\tGood\n")
    date = "'0x" + "f" * 53 + "...'"
    assert result.stderr == (
        f"kn: articles/date.txt:3: date {date} is not YYYY-MM-DD or an ISO 8601 date-time\n"
        "kn: articles/decimal.txt:4: n: a number of over 4,300 digits (quote it to keep it as text)\n"
    )
    assert kn("check").exit_code == 1
