"""Cache files: where they live, and reading and writing them so that none is ever believed
unless it is exactly what kn wrote.

The cache lives outside the archive, in `$XDG_CACHE_HOME/kn/` (default `~/.cache/kn/`;
a relative XDG_CACHE_HOME is ignored, as the XDG spec says), one folder per archive,
keyed by the archive's real path. What is kept there, and when it is trusted, is said by
walk.py (the articles) and index.py (their words).

Every file starts with a header: a magic string and format version, the payload's length
and its CRC-32. A file is read only if it is a regular file (opened with O_NOFOLLOW and
O_NONBLOCK, then fstat()ed: never a link, a FIFO or a device), its length is the one the
header gives, and the checksum holds. Anything else, or a payload of the wrong shape, is
treated as missing: kn then reads the articles themselves. Files are written whole under
a temporary name and renamed into place; temporary files that a killed run left behind
are removed.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import re
import stat
import struct
import time
import zlib
from typing import Any

VERSION = 7  # raise it whenever what is kept is derived differently (a test tells)
_HEADER = struct.Struct("<4sIQI")  # magic, version, payload length, CRC-32 of the payload
_MAGIC = b"knc\0"
_TEMPORARY = ".tmp"
STALE_TEMPORARY_S = 600  # a write takes milliseconds: a temporary file this old is an orphan
# An entry is kept only for a file (or folder) unchanged for this long when it was read: a
# change within the same tick of a coarse clock would leave its times as they were ("racy
# git"). 3 s is beyond any filesystem's granularity (FAT's 2 s).
SETTLED_NS = 3_000_000_000


def folder(root: str) -> str:
    """The cache folder of the archive whose real path is `root`."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "kn", name_for(root))


def name_for(path: str) -> str:
    """A file name for a path: readable, and unique by its checksums."""
    encoded = path.encode("utf-8", "surrogateescape")
    readable = re.sub(r"[^A-Za-z0-9]+", "-", os.path.basename(path))[:40] or "top"
    return f"{readable}-{zlib.crc32(encoded):08x}{zlib.adler32(encoded):08x}"


def settled(changed_ns: int) -> bool:
    """Whether something last changed at `changed_ns` may be kept: see SETTLED_NS."""
    return time.time_ns() - changed_ns > SETTLED_NS


def read(path: str) -> Any:
    """The data of a cache file; None if it is missing or does not check out."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode) or found.st_size < _HEADER.size:
            return None
        with open(fd, "rb", closefd=False) as file:
            raw = file.read(found.st_size + 1)
        magic, version, length, checksum = _HEADER.unpack_from(raw)
        payload = memoryview(raw)[_HEADER.size :]
        if (magic, version, length) != (_MAGIC, VERSION, len(payload)):
            return None
        if zlib.crc32(payload) != checksum:
            return None
        return marshal.loads(payload)
    except (OSError, ValueError, EOFError, TypeError, struct.error):
        return None
    finally:
        os.close(fd)


def write(path: str, data: Any) -> None:
    """Write a cache file whole, under a temporary name renamed into place, so that a
    concurrent run reads the old file or the new one; a failure leaves the old one."""
    temporary = f"{path}.{os.getpid()}{_TEMPORARY}"
    try:
        payload = marshal.dumps(data)
        header = _HEADER.pack(_MAGIC, VERSION, len(payload), zlib.crc32(payload))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with open(fd, "wb") as file:
            file.write(header)
            file.write(payload)
        os.replace(temporary, path)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def sweep(directory: str) -> None:
    """Remove the temporary files below `directory` that a killed run left behind."""
    oldest = time.time() - STALE_TEMPORARY_S
    for parent, _, names in os.walk(directory):
        for name in names:
            if name.endswith(_TEMPORARY):
                path = os.path.join(parent, name)
                with contextlib.suppress(OSError):
                    if os.lstat(path).st_mtime < oldest:
                        os.unlink(path)


Stat = tuple[int, int, int, int, int]  # device, inode, size, mtime_ns, ctime_ns


class Store:
    """What one kind of entry keeps of one archive folder's files, as they were.

    Three aligned lists: `names`, `stats` (see Stat) and `values`; and one value of the
    folder's own, `extra`. A walk compares the folder's names and stats with the kept ones
    as two lists, in one step: while nothing changed, no file needs a look-up of its own.
    A file whose stat is None is never matched (it had not settled, or could not be read).
    """

    def __init__(self, directory: str, kind: str, folder: str) -> None:
        self.path = os.path.join(directory, kind, name_for(folder or "."))
        self.folder = folder
        self.names: list[str] = []
        self.stats: list[Stat | None] = []
        self.values: Any = []
        self.extra: Any = {}
        data = read(self.path)
        if (
            type(data) is tuple
            and len(data) == 5
            and data[0] == folder
            and type(data[1]) is list
            and type(data[2]) is list
            and len(data[1]) == len(data[2])
            and (type(data[3]) is not list or len(data[3]) == len(data[1]))
            and type(data[4]) is dict
        ):
            _, self.names, self.stats, self.values, self.extra = data
        self._index: dict[str, int] | None = None

    def same(self, names: list[str], stats: list[Stat]) -> bool:
        """Whether the folder holds the kept files, each unchanged: every value is valid."""
        return stats == self.stats and names == self.names

    def find(self, name: str, stat: Stat) -> int | None:
        """The position of a file's value, if the file has not changed since; else None."""
        if self._index is None:  # built on the first look-up of a single file
            self._index = {name: position for position, name in enumerate(self.names)}
        position = self._index.get(name)
        if position is None or self.stats[position] != stat:
            return None
        return position

    def save(self, names: list[str], stats: list[Stat | None], values: Any, extra: Any) -> None:
        """Keep exactly these files: a walk saw the whole folder."""
        write(self.path, (self.folder, names, stats, values, extra))


FolderStat = tuple[int, int, int, int]  # a folder's device, inode, mtime_ns and ctime_ns
Listing = tuple[list[str], list[str]]  # a folder's article files and its subfolders


class Listings:
    """What each archive folder lists, kept while the folder is unchanged.

    Adding, removing or renaming a file changes its folder's mtime and ctime, so a folder
    whose stat is as it was lists the same names. A listing is kept only if the folder had
    settled when it was taken (see SETTLED_NS).
    """

    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, "folders")
        data = read(self.path)
        self.old: dict[str, tuple[FolderStat, Listing]] = data if type(data) is dict else {}
        self.new: dict[str, tuple[FolderStat, Listing]] = {}
        self.changed = False

    def get(self, folder: str, stat: FolderStat) -> Listing | None:
        """A folder's listing, if the folder has not changed since it was taken."""
        found = self.old.get(folder)
        try:
            if found is None or found[0] != stat:
                return None
            names, below = found[1]
            if type(names) is not list or type(below) is not list:
                return None
        except (TypeError, ValueError):
            return None
        self.new[folder] = found
        return names, below

    def put(self, folder: str, stat: FolderStat, listing: Listing) -> None:
        """Keep a folder's listing, if the folder had settled before it was taken."""
        if settled(max(stat[2], stat[3])):
            self.new[folder] = (stat, listing)
            self.changed = True

    def save(self) -> None:
        """Keep the listings of the folders seen; those of folders gone are dropped."""
        if self.changed or len(self.new) != len(self.old):
            write(self.path, self.new)
