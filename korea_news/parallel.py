"""Share a walk of the archive between two processes, one per core.

Reading 10^5 files is mostly per-file work in Python (a stat, a cache look-up, a test),
which one core does at one file at a time. The archive's walk can be split by folder
(`Archive.entries(part)`): a forked child takes every other folder and sends back what it
found through a pipe, as marshal data. That pays where few results come back, as in a
search; for a listing, sending every article back costs what the child saved. Where
there is no fork, a single core or a single folder, or the child fails in any way, this
process walks the child's part itself: the result is the same, only slower.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from .archive import PARTS, Archive
from .model import InvalidArticle

T = TypeVar("T")


def shared(
    archive: Archive,
    work: Callable[[int], Iterable[T]],
    encode: Callable[[T], Any],
    decode: Callable[[Any], T],
) -> Iterator[T]:
    """work(0) in this process and work(1) in a child; the results of both, in that order.

    `encode` turns a result into marshal data and `decode` turns it back. Problems the
    child meets go to `archive.on_error` here, after this process's own.
    """
    if (
        PARTS != 2
        or not hasattr(os, "fork")
        or (os.cpu_count() or 1) < 2
        or not _has_folders(archive.root, 2)
    ):
        for part in range(PARTS):
            yield from work(part)
        return
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - measured by the parent's results
        os.close(read_end)
        _child(archive, work, encode, write_end)
    os.close(write_end)
    payload = b""
    try:
        yield from work(0)
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
        results, problems = marshal.loads(payload)
        found = [decode(result) for result in results]
    except (ValueError, EOFError, TypeError):
        yield from work(1)
        return
    for path, line, message in problems:
        archive.on_error(InvalidArticle(path, line, message))
    yield from found


def _has_folders(root: str, count: int) -> bool:
    """Whether a folder holds at least `count` folders: else one process walks nearly all,
    and a second would only cost its start."""
    try:
        with os.scandir(root) as scan:
            for item in scan:
                if item.name[0] != "." and item.is_dir(follow_symlinks=False):
                    count -= 1
                    if count == 0:
                        return True
    except OSError:
        pass
    return False


def _child(
    archive: Archive, work: Callable[[int], Iterable[T]], encode: Callable[[T], Any], pipe: int
) -> None:
    """Do part 1 and send back its results and problems; never return."""
    status = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: the parent speaks for both
        problems: list[InvalidArticle] = []
        archive.on_error = problems.append
        archive.progress = None
        results = [encode(result) for result in work(1)]
        payload = marshal.dumps(
            (results, [(problem.path, problem.line, problem.message) for problem in problems])
        )
        with os.fdopen(pipe, "wb") as out:
            out.write(payload)
        status = 0
    finally:
        os._exit(status)
