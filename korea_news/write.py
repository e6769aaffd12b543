"""Every write to the archive: files created or replaced whole, and moved, never through a
symbolic link.

A folder is opened one name at a time from the archive's own folder, never following a
link (O_NOFOLLOW), and each file is written relative to that open folder: a year folder
that is a link out of the archive, or a file where a folder should be, is an error, and
nothing can swap one in between the check and the write.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator

from .model import KnError

_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


@contextlib.contextmanager
def folder(root: str, inside: str, shown: str, make: bool = True) -> Iterator[int]:
    """The folder `inside` the folder `root` (made if missing, with `make`), open: its
    descriptor. `shown` is how `root` is shown to the user."""
    fd = os.open(root, _FOLDER)
    try:
        for name in [part for part in inside.split(os.sep) if part]:
            shown = os.path.join(shown, name)
            if make:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, 0o777, dir_fd=fd)
            try:
                below = os.open(name, _FOLDER | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as error:
                if error.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise KnError(f"{shown}: cannot open the folder: {error.strerror}") from None
                if stat.S_ISLNK(os.lstat(name, dir_fd=fd).st_mode):
                    message = "is a symbolic link: kn writes only into the archive's own folders"
                    raise KnError(f"{shown} {message}") from None
                raise KnError(f"{shown} is a file where a folder should be: move it away") from None
            os.close(fd)
            fd = below
        yield fd
    finally:
        os.close(fd)


def create(fd: int, name: str, data: bytes, like: os.stat_result | None = None) -> None:
    """Create the file `name` in the open folder `fd`, whole or not at all (with the mode
    and owner of the file `like`, if any); FileExistsError if it exists.

    The data goes to an unnamed file (O_TMPFILE) that is linked into place once it is
    complete, so even a killed process leaves nothing behind. Where the system has no
    unnamed files, a hidden temporary file is linked instead and then removed. link()
    never replaces an existing file: that is what makes two concurrent adds safe.
    """
    made = _unnamed(fd, data, like)
    if made is None:
        temporary = _named(fd, data, like)
        try:
            os.link(temporary, name, src_dir_fd=fd, dst_dir_fd=fd)
        finally:
            os.unlink(temporary, dir_fd=fd)
    else:
        try:
            os.link(f"/proc/self/fd/{made}", name, dst_dir_fd=fd, follow_symlinks=True)
        finally:
            os.close(made)
    os.fsync(fd)


def replace(fd: int, name: str, data: bytes) -> None:
    """Put `data` in place of the file `name` of the open folder `fd`, whole or not at
    all, with that file's mode (and owner, where allowed): created under a passing name,
    then renamed over it."""
    temporary = f".kn-{secrets.token_hex(8)}.tmp"
    create(fd, temporary, data, os.stat(name, dir_fd=fd, follow_symlinks=False))
    try:
        os.rename(temporary, name, src_dir_fd=fd, dst_dir_fd=fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=fd)
        raise
    os.fsync(fd)


def move(source: tuple[int, str], target: tuple[int, str], replace: bool = False) -> None:
    """Move a file (or a link) from one open folder to another, on one file system; never
    over a file unless `replace`. FileExistsError if the target exists."""
    (source_fd, source_name), (target_fd, target_name) = source, target
    if replace:
        os.rename(source_name, target_name, src_dir_fd=source_fd, dst_dir_fd=target_fd)
    else:
        os.link(
            source_name,
            target_name,
            src_dir_fd=source_fd,
            dst_dir_fd=target_fd,
            follow_symlinks=False,
        )
        os.unlink(source_name, dir_fd=source_fd)
    os.fsync(target_fd)
    os.fsync(source_fd)


def _unnamed(fd: int, data: bytes, like: os.stat_result | None) -> int | None:
    """An unnamed file in the open folder holding `data`, open; None where the system
    has none (or no /proc to link it by)."""
    if not os.path.isdir("/proc/self/fd"):
        return None
    try:
        made = os.open(".", os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o666, dir_fd=fd)
    except (AttributeError, OSError):
        return None
    try:
        _fill(made, data, like)
    except BaseException:
        os.close(made)
        raise
    return made


def _named(fd: int, data: bytes, like: os.stat_result | None) -> str:
    """A hidden file of the open folder holding `data`: its name."""
    name = f".kn-{secrets.token_hex(8)}.tmp"
    made = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666, dir_fd=fd)
    try:
        _fill(made, data, like)
    except BaseException:
        os.unlink(name, dir_fd=fd)
        raise
    finally:
        os.close(made)
    return name


def _fill(fd: int, data: bytes, like: os.stat_result | None) -> None:
    """Write all of `data` to disk; with `like`, take that file's mode and owner."""
    if like is not None:
        os.fchmod(fd, like.st_mode & 0o7777)
        with contextlib.suppress(OSError):  # only root may give a file away
            os.fchown(fd, like.st_uid, like.st_gid)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)
