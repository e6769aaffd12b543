"""Work shared with a second process, on the machine's second core: one entry point, `split`.

A sync stat()s every file of the archive: 10^5 system calls, about half of what a command
costs at that size, in one process that Python's lock keeps to one core (threads made it
slower). `split` hands the second half of the folders to a forked child, which writes its
answer to a pipe. Nothing else crosses: the child touches no database and no output, and
ends with os._exit. A child that fails, or a machine without fork or a second core, leaves
all of the work to this process: the answer is the same, only slower.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TypeVar

LEAST = 20_000  # below this many files, a fork costs more than half of the stats saves

Item = TypeVar("Item")


def split(
    work: Callable[[Sequence[Item]], bytes], items: Sequence[Item], sizes: list[int]
) -> bytes:
    """work(items), as work(first half) + work(second half), the halves cut where `sizes`
    (each item's share of the work) add up to half, the second done by a forked child."""
    total = sum(sizes)
    if total < LEAST or not hasattr(os, "fork") or _cores() < 2:
        return work(items)
    cut, done = 0, 0
    while done < total / 2:
        done, cut = done + sizes[cut], cut + 1
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        code = 1
        try:
            os.close(read)
            with open(write, "wb") as answer:
                answer.write(work(items[cut:]))
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    pipe = open(read, "rb")  # noqa: SIM115 (closed before the wait, whatever happens)
    try:
        first = work(items[:cut])
        second = pipe.read()
    finally:  # closed first: a child still writing ends, and is not waited for in vain
        pipe.close()
        _, status = os.waitpid(child, 0)
    return first + (second if status == 0 else work(items[cut:]))


def _cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
