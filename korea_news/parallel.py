"""Share a walk of the archive between two processes, one per core.

Reading 10^5 files is mostly per-file work in Python (a stat, a cache look-up, a test),
which one core does at one file at a time. This process scans the archive's folders
once (`Archive.scan()`), then forks: the child takes half of the folders, by their count
of files (`Archive.folders(part=1)`), and sends back what it found through a pipe, as
marshal data. That pays where what comes back is small beside the work: a search's
matches, or a listing's sorted lines. Where there is no fork, a single core or a single
folder, or the child fails in any way, this process does the child's share itself: the
result is the same, only slower.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import signal
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from .archive import PARTS, Archive, Folder
from .model import InvalidArticle

T = TypeVar("T")
Work = Callable[[Iterable[Folder]], Iterable[T]]


def shared(
    archive: Archive, work: Work[T], encode: Callable[[T], Any], decode: Callable[[Any], T]
) -> list[T]:
    """The results of `work` on this process's share of the folders, then on the child's.

    `encode` turns a result into marshal data and `decode` turns it back. Problems the
    child meets go to `archive.on_error` here, after this process's own.
    """
    scanned = archive.scan()
    if PARTS != 2 or len(scanned) < 2 or not hasattr(os, "fork") or (os.cpu_count() or 1) < 2:
        return list(work(archive.folders(scanned)))
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - measured by the parent's results
        os.close(read_end)
        _child(archive, work, archive.folders(scanned, part=1), encode, write_end)
    os.close(write_end)
    payload = b""
    try:
        results = list(work(archive.folders(scanned, part=0)))
        with os.fdopen(read_end, "rb") as pipe:
            payload = pipe.read()
        _, status = os.waitpid(child, 0)
    except BaseException:
        with contextlib.suppress(OSError):
            os.kill(child, signal.SIGTERM)
            os.waitpid(child, 0)
        raise
    try:
        if status != 0:
            raise ValueError("the child failed")
        encoded, problems = marshal.loads(payload)
        found = [decode(result) for result in encoded]
    except (ValueError, EOFError, TypeError):
        return results + list(work(archive.folders(scanned, part=1)))
    for path, line, message in problems:
        archive.on_error(InvalidArticle(path, line, message))
    return results + found


def _child(
    archive: Archive,
    work: Work[T],
    folders: Iterable[Folder],
    encode: Callable[[T], Any],
    pipe: int,
) -> None:
    """Do the child's share and send back its results and problems; never return."""
    status = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: the parent speaks for both
        problems: list[InvalidArticle] = []
        archive.on_error = problems.append
        archive.progress = None
        payload = marshal.dumps(
            (
                [encode(result) for result in work(folders)],
                [(problem.path, problem.line, problem.message) for problem in problems],
            )
        )
        with os.fdopen(pipe, "wb") as out:
            out.write(payload)
        status = 0
    finally:
        os._exit(status)
