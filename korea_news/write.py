"""Every write to the archive: files created or replaced whole, and moved, never through a
symbolic link. Folders are opened one name at a time (O_NOFOLLOW) and files written relative
to the open folder, so nothing can swap a link in between the check and the write."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import stat
from collections.abc import Iterator

from .model import KnError

_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
Place = tuple[str, str, str]  # a folder as folder() takes it: (root, inside, shown)


@contextlib.contextmanager
def folder(root: str, inside: str, shown: str, make: bool = True) -> Iterator[int]:
    """The folder `inside` below `root`, open (made if missing, with `make`); `shown` names root."""
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
        if not make:  # its files replaced or moved away: by one kn at a time, each write as one
            with contextlib.suppress(OSError):  # with the check before it (NFS locks no folder)
                fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


def create(fd: int, name: str, data: bytes, like: os.stat_result | None = None) -> None:
    """Create `name` in the open folder `fd` whole or not at all; FileExistsError if it exists."""
    # Written to an unnamed file (O_TMPFILE), or else a hidden one, then linked into place:
    # a killed process leaves nothing, and link() never replaces a file (two adds at once).
    made, temporary = _unnamed(fd), None
    if made is None:
        temporary = f".kn-{secrets.token_hex(8)}.tmp"
        made = os.open(temporary, _NEW, 0o666, dir_fd=fd)
    try:
        if like is not None:  # the mode and owner of the file it replaces
            os.fchmod(made, like.st_mode & 0o7777)
            with contextlib.suppress(OSError):  # only root may give a file away
                os.fchown(made, like.st_uid, like.st_gid)
        view = memoryview(data)
        while view:
            view = view[os.write(made, view) :]
        os.fsync(made)
        if temporary is None:
            os.link(f"/proc/self/fd/{made}", name, dst_dir_fd=fd, follow_symlinks=True)
        else:
            os.link(temporary, name, src_dir_fd=fd, dst_dir_fd=fd)
    finally:
        os.close(made)
        if temporary is not None:
            os.unlink(temporary, dir_fd=fd)
    if like is None:  # replace() syncs the folder once its rename is done: a shorter window
        os.fsync(fd)


def replace(fd: int, name: str, data: bytes) -> None:
    """Put `data` in place of `name` in the open folder `fd`, whole, with that file's mode."""
    temporary = f".kn-{secrets.token_hex(8)}.tmp"
    create(fd, temporary, data, os.stat(name, dir_fd=fd, follow_symlinks=False))
    try:
        os.rename(temporary, name, src_dir_fd=fd, dst_dir_fd=fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=fd)
        raise
    os.fsync(fd)


def move(name: str, source: Place, target: Place, replace: bool = False) -> None:
    """Move `name` to the folder `target` (made if missing); over another only with `replace`."""
    with folder(*source, make=False) as source_fd, folder(*target) as target_fd:
        if replace:
            os.rename(name, name, src_dir_fd=source_fd, dst_dir_fd=target_fd)
        else:
            os.link(name, name, src_dir_fd=source_fd, dst_dir_fd=target_fd, follow_symlinks=False)
            os.unlink(name, dir_fd=source_fd)
        os.fsync(target_fd)
        os.fsync(source_fd)


def _unnamed(fd: int) -> int | None:
    """An unnamed file open in the folder `fd`; None without O_TMPFILE or /proc to link it by."""
    if os.path.isdir("/proc/self/fd"):
        with contextlib.suppress(AttributeError, OSError):
            return os.open(".", os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o666, dir_fd=fd)
    return None
