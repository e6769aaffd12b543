"""Fixture archives built in a temporary folder, and a runner for the kn command."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from korea_news.cli import cli

GOLDEN = Path(__file__).parent / "golden"

# The tests send Ctrl-C to kn. A shell that starts them in the background without job
# control ignores SIGINT, and kn, as any program, would inherit that: they get it back.
signal.signal(signal.SIGINT, signal.default_int_handler)
SEED_ID = "2017-08-07-north-korea-calls-offer-of-talks-from-the-south-insincere"


def article(
    title: str = "A title", date: str = "2017-08-07", body: str = "Text.\n", **fields: str
) -> str:
    """The text of an article file with the given front matter lines (values as YAML)."""
    lines = [
        f"title: {title}",
        f"date: {date}",
        *(f"{key}: {value}" for key, value in fields.items()),
    ]
    return "---\n" + "\n".join(lines) + "\n---\n" + body


@pytest.fixture(autouse=True)
def own_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test has a home, a cache and a temporary folder of its own: the user's are never
    touched (a killed `kn edit` leaves its copy in the temporary folder, as it should)."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    (home / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(home / "tmp"))
    monkeypatch.setattr(tempfile, "tempdir", str(home / "tmp"))  # as read by this process
    return home


@pytest.fixture
def make_archive(tmp_path: Path) -> Callable[[dict[str, str | bytes]], Path]:
    """Write {relative path: text or bytes} below tmp_path/articles and return that folder."""

    def make(files: dict[str, str | bytes]) -> Path:
        root = tmp_path / "articles"
        root.mkdir(exist_ok=True)
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            data = content.encode("utf-8") if isinstance(content, str) else content
            path.write_bytes(data)
        return root

    return make


@pytest.fixture
def seed_archive(tmp_path: Path) -> Path:
    """An archive holding the seed article, as the golden files expect it."""
    root = tmp_path / "articles"
    shutil.copytree(GOLDEN / "articles", root)
    return root


@pytest.fixture
def kn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run kn in tmp_path (so printed paths start with articles/), stdout not a terminal."""
    monkeypatch.chdir(tmp_path)
    for name in ("KN_ARCHIVE", "NO_COLOR", "KN_PAGER", "PAGER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KN_NO_CACHE", "1")

    def run(
        *args: str, input: str | bytes | None = None, env: dict[str, str] | None = None
    ) -> Result:
        return CliRunner().invoke(cli, list(args), input=input, env=env, catch_exceptions=False)

    return run


# --- the installed kn, run as a person would -------------------------------------------

KN = shutil.which("kn", path=str(Path(sys.executable).parent))


@pytest.fixture
def process_env() -> dict[str, str]:
    """The environment for running the installed kn: a terminal type, no cache, no pager."""
    assert KN is not None, "the kn console script is not installed beside this Python"
    unset = ("NO_COLOR", "PAGER", "KN_ARCHIVE", "COLUMNS", "LINES")  # the size: the terminal's
    environ = {k: v for k, v in os.environ.items() if k not in unset}
    environ.update(TERM="xterm-256color", KN_NO_CACHE="1", KN_PAGER="")
    return environ


def in_terminal(
    args: list[str],
    cwd: Path,
    env: dict[str, str],
    cols: int = 80,
    rows: int = 500,
    expect: int = 0,
) -> str:
    """Run kn with a pseudo-terminal as its stdin, stdout and stderr; return what it drew."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    process = subprocess.Popen(
        [KN, *args], stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert process.wait(timeout=60) == expect
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def in_shell(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """Run a shell pipeline with the installed kn first on PATH."""
    env = {**env, "PATH": f"{Path(KN).parent}:{os.environ['PATH']}"}
    return subprocess.run(script, shell=True, cwd=cwd, env=env, capture_output=True, timeout=120)


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
