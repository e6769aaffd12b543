"""Share a walk of the archive between two processes, one per core.

Reading 10^5 files is mostly per-file work in Python (a stat, a cache look-up, a test),
which one core does at one file at a time. This process scans the archive's folders
once (`Archive.scan()`) and forks; then each process draws folders, one at a time, from
a pipe that holds all their numbers, largest folders first, until none is left, so that
both end at about the same time however uneven the folders are. The child sends back
what it found through another pipe, as marshal data. That pays where what comes back
is small beside the work: a search's matches, or a listing's sorted lines.

Where there is no fork, a single core or a single folder, or the child fails in any
way, this process does the child's share itself: the result is the same, only slower.
Problems met during the walk are told sorted by path and line, whichever process met
them, so that what is told does not depend on which process got there first.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from .archive import Archive, Folder
from .model import InvalidArticle

T = TypeVar("T")
Work = Callable[[Iterable[Folder]], Iterable[T]]


def shared(
    archive: Archive, work: Work[T], encode: Callable[[T], Any], decode: Callable[[Any], T]
) -> list[T]:
    """The results of `work` on this process's folders, then those of the child's.

    `encode` turns a result into marshal data and `decode` turns it back.
    """
    scanned = archive.scan()
    tell = archive.on_error
    problems: list[InvalidArticle] = []
    archive.on_error = problems.append
    try:
        results = _shared(archive, scanned, work, encode, decode, problems)
    finally:
        archive.on_error = tell
    for problem in sorted(problems, key=lambda problem: (problem.path, problem.line)):
        tell(problem)
    return results


def _shared(
    archive: Archive,
    scanned: list[Folder],
    work: Work[T],
    encode: Callable[[T], Any],
    decode: Callable[[Any], T],
    problems: list[InvalidArticle],
) -> list[T]:
    if len(scanned) < 2 or not hasattr(os, "fork") or (os.cpu_count() or 1) < 2:
        return list(work(archive.folders(scanned)))
    mine: list[int] = []
    tickets = _tickets(scanned)
    if tickets is None:
        mine, theirs = _halves(scanned)
        own, other = iter(mine), iter(theirs)
    else:
        own, other = _drawn(tickets, mine), _drawn(tickets, [])
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - measured by the parent's results
        os.close(read_end)
        _child(archive, work, archive.folders(scanned, other), encode, write_end)
    os.close(write_end)
    try:
        results = list(work(archive.folders(scanned, own)))
        with os.fdopen(read_end, "rb") as pipe:
            payload = pipe.read()
        _, status = os.waitpid(child, 0)
    except BaseException:
        with contextlib.suppress(OSError):
            os.kill(child, signal.SIGTERM)
            os.waitpid(child, 0)
        raise
    finally:
        if tickets is not None:
            os.close(tickets)
    try:
        if status != 0:
            raise ValueError("the child failed")
        encoded, told = marshal.loads(payload)
        found = [decode(result) for result in encoded]
        problems += [InvalidArticle(path, line, message) for path, line, message in told]
    except (ValueError, EOFError, TypeError):
        theirs = sorted(set(range(len(scanned))) - set(mine))
        return results + list(work(archive.folders(scanned, theirs)))
    return results + found


def _tickets(scanned: list[Folder]) -> int | None:
    """A pipe to read the folders' numbers from, 4 bytes each, largest folders first;
    None if they do not all fit in it (so many folders are shared in fixed halves)."""
    order = sorted(range(len(scanned)), key=lambda position: -len(scanned[position].names))
    data = b"".join(position.to_bytes(4, "little") for position in order)
    read_end, write_end = os.pipe()
    written = 0
    try:
        os.set_blocking(write_end, False)
        written = os.write(write_end, data)
    except BlockingIOError:
        pass
    finally:
        os.close(write_end)
    if written != len(data):
        os.close(read_end)
        return None
    return read_end


def _halves(scanned: list[Folder]) -> tuple[list[int], list[int]]:
    """The folders' numbers in two shares: each folder goes to the one with fewer files."""
    shares: tuple[list[int], list[int]] = ([], [])
    loads = [0, 0]
    for position, folder in enumerate(scanned):
        smaller = 0 if loads[0] <= loads[1] else 1
        shares[smaller].append(position)
        loads[smaller] += len(folder.names)
    return shares


def _drawn(tickets: int, taken: list[int]) -> Iterator[int]:
    """Folder numbers drawn from the pipe until none is left, each noted in `taken`.

    The pipe is read 4 bytes at a time and holds a multiple of 4: reads from one pipe
    never interleave, so each number goes whole to one process.
    """
    while ticket := os.read(tickets, 4):
        position = int.from_bytes(ticket, "little")
        taken.append(position)
        yield position


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
