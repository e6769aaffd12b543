"""Find the archive, scan its folders, resolve names, and add articles atomically."""

from __future__ import annotations

import contextlib
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from typing import NamedTuple

from . import reader
from .model import Article, ArticleNotFound, Draft, InvalidArticle, KnError, Unreadable, day_of

ENV_ARCHIVE = "KN_ARCHIVE"
FOLDER = "articles"
SUFFIX = ".txt"


def _raise(error: InvalidArticle) -> None:
    raise error


def locate(option: str | None) -> str:
    """The archive folder: --archive, then KN_ARCHIVE, then the nearest articles/ upward."""
    if chosen := option or os.environ.get(ENV_ARCHIVE):
        if not os.path.isdir(chosen):
            how = "--archive" if option else ENV_ARCHIVE
            raise KnError(f"archive {chosen} ({how}) is not a folder")
        return chosen
    folder = os.getcwd()
    while not os.path.isdir(os.path.join(folder, FOLDER)):
        if folder == os.path.dirname(folder):
            how = f"start one with kn init, or use --archive DIR or set {ENV_ARCHIVE}=DIR"
            raise KnError(f"no archive found: no {FOLDER}/ folder here or above; {how}")
        folder = os.path.dirname(folder)
    return os.path.join(folder, FOLDER)


def init(folder: str) -> str:
    """Create FOLDER/articles/ (idempotent); say what was done."""
    path = os.path.join(folder, FOLDER)
    try:
        os.makedirs(path)
    except FileExistsError:
        if not os.path.isdir(path):
            raise KnError(f"{path} exists and is not a folder") from None
        return f"{path} is an archive already"
    except OSError as error:
        raise KnError(f"cannot create {path}: {error.strerror}") from None
    return f"created the archive {path}"


class Entry(NamedTuple):
    """An article file found in the archive."""

    id: str
    path: str  # as shown to the user
    real: str  # absolute, symlinks resolved

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "path": self.path}


class Folder(NamedTuple):
    """The article files of one archive folder, in the order the folder lists them."""

    inside: str  # the folder's path inside the archive ("" for the archive itself)
    shown: str  # the folder's path as shown to the user
    real: str  # the folder's absolute path
    names: list[str]
    links: dict[str, str]  # the real path of each file that is a symbolic link

    def real_path(self, name: str) -> str:
        return self.links.get(name) or f"{self.real}{os.sep}{name}"

    def path_of(self, name: str) -> str:
        return f"{self.shown}{os.sep}{name}"

    def entry(self, position: int) -> Entry:
        name = self.names[position]
        return Entry(name[:-4], self.path_of(name), self.real_path(name))


Progress = Callable[[int, bool], None]  # files read so far, and whether that is all


class Archive:
    """The articles below one folder; problems with single files go to `on_error`."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        on_error: Callable[[InvalidArticle], None] = _raise,
        use_cache: bool = False,  # keep what reading finds in the store (store.py)
        progress: Progress | None = None,
    ) -> None:
        self.root = os.path.realpath(root)
        here = os.path.realpath(os.getcwd())
        inside = self.root == here or self.root.startswith(here.rstrip(os.sep) + os.sep)
        self.shown_root = os.path.relpath(self.root, here) if inside else self.root
        if escaped(self.shown_root) != self.shown_root:  # every path printed starts with it
            message = "is not UTF-8, which kn prints paths in: rename it, or run kn in its parent"
            raise KnError(f"the archive's path {escaped(self.shown_root)} {message}")
        self.on_error, self.progress, self.use_cache = on_error, progress, use_cache
        self._scanned: list[Folder] | None = None
        self.problems: list[InvalidArticle] = []  # what a scan found wrong, not yet told
        self._by_id: dict[str, tuple[Folder, int]] | None = None  # see ids()

    def scan(self) -> list[Folder]:
        """The folders that hold article files, each before its subfolders (in name order)."""
        # Hidden files, links out of the archive and second files of one ID are left out,
        # and kept in `problems` for the caller to tell.
        if self._scanned is not None:
            return self._scanned
        found = []
        seen: dict[str, str] = {}  # each ID's first folder, as shown
        folders = [(self.root, self.shown_root)]
        while folders:
            folder, shown = folders.pop()
            links: dict[str, str] = {}
            try:
                names, below = self._list(folder, shown, links)
            except OSError as error:
                message = f"cannot read folder: {error.strerror}"
                self.problems.append(InvalidArticle(shown, 1, message))
                continue
            folders.extend(
                (f"{folder}{os.sep}{name}", f"{shown}{os.sep}{name}") for name in reversed(below)
            )
            if not seen.keys().isdisjoint(names):  # a file of an ID seen before: leave it out
                for name in names:
                    if name in seen:
                        path, also = f"{shown}{os.sep}{name}", f"{seen[name]}{os.sep}{name}"
                        self.problems.append(InvalidArticle(path, 1, f"duplicate ID, also {also}"))
                names = [name for name in names if name not in seen]
            seen.update(dict.fromkeys(names, shown))
            if names:
                found.append(Folder(folder[len(self.root) + 1 :], shown, folder, names, links))
        self._scanned = found
        return found

    def _list(self, folder: str, shown: str, links: dict[str, str]) -> tuple[list[str], list[str]]:
        """A folder's article files (links to the archive's in `links`) and subfolders."""
        names, below = list[str](), list[str]()
        with os.scandir(folder) as scan:
            items = list(scan)
        for item in items:  # once per file of the archive: the usual case comes first
            name = item.name
            try:
                if name.endswith(SUFFIX) and item.is_file(follow_symlinks=False):
                    if name[0] != ".":
                        names.append(name)
                elif name[0] == ".":
                    continue
                elif item.is_dir(follow_symlinks=False):
                    below.append(name)
                elif item.is_symlink() and name.endswith(SUFFIX):
                    real = os.path.realpath(item.path)
                    if real.startswith(self.root + os.sep) and os.path.isfile(real):
                        names.append(name)
                        links[name] = real
                    else:
                        message = "symbolic link to a file outside the archive, or to no file"
                        self.problems.append(InvalidArticle(f"{shown}{os.sep}{name}", 1, message))
                elif name.endswith(SUFFIX):  # a device, a socket, a named pipe ...
                    problem = InvalidArticle(f"{shown}{os.sep}{name}", 1, "not a regular file")
                    self.problems.append(problem)
            except OSError:
                continue
        return self._utf8(names, shown, "file"), self._utf8(sorted(below), shown, "folder")

    def _utf8(self, names: list[str], shown: str, kind: str) -> list[str]:
        """The names that are UTF-8; the others, which no printed path can hold, reported."""
        with contextlib.suppress(UnicodeEncodeError):
            "/".join(names).encode()
            return names
        for name in names:
            if escaped(name) != name:
                message = f"{kind} name is not UTF-8: left out (rename it)"
                self.problems.append(InvalidArticle(f"{shown}{os.sep}{escaped(name)}", 1, message))
        return [name for name in names if escaped(name) == name]

    def read_bytes(self, entry: Entry) -> bytes:
        """The bytes of an article file, exactly as stored."""
        try:
            with open(entry.real, "rb") as file:
                return file.read()
        except OSError as error:
            raise Unreadable(entry.path, 1, f"cannot read: {error.strerror}") from None

    def find(self, name: str) -> Entry:
        """The article named by an ID, a unique prefix (also after the date), or a path."""
        found = self._named(name, self.ids())
        for problem in self.problems:  # of the scan's problems, only its own ID's are told
            if os.path.basename(problem.path) == f"{found.id}{SUFFIX}":
                self.on_error(problem)
        return found

    def ids(self) -> dict[str, tuple[Folder, int]]:
        """Each ID's folder and position in it, made once per Archive for find() and add()."""
        if self._by_id is None:
            self._by_id = {
                file[:-4]: (folder, position)
                for folder in self.scan()
                for position, file in enumerate(folder.names)
            }
        return self._by_id

    def _named(self, name: str, by_id: dict[str, tuple[Folder, int]]) -> Entry:
        if not name:  # an unset variable ($ID), not a prefix of every ID
            raise ArticleNotFound("an empty name names no article")
        if os.sep in name or name.endswith(SUFFIX):  # an ID is a slug: no / and no .txt
            real = os.path.realpath(name) if "\0" not in name else None  # no path holds a NUL
            for folder, position in by_id.values():
                if folder.real_path(folder.names[position]) == real:
                    return folder.entry(position)
            raise ArticleNotFound(f"{name}: not an article of the archive {self.shown_root}")
        if name in by_id:
            return _entry(by_id[name])
        name = unicodedata.normalize("NFC", name)  # as kn names files; typed in NFD (macOS)
        if name in by_id:
            return _entry(by_id[name])
        candidates = sorted(i for i in by_id if i.startswith(name) or undated(i).startswith(name))
        if len(candidates) == 1:
            return _entry(by_id[candidates[0]])
        if candidates:
            listed = ", ".join(candidates[:10]) + (", ..." if len(candidates) > 10 else "")
            raise ArticleNotFound(f"{name}: ambiguous ID prefix, could be: {listed}")
        import bisect
        import difflib

        # Hints come from the IDs nearest in sorted order, whole or without their dates (the
        # longest shared prefixes): comparing with each of 10^5 IDs would take seconds.
        close: set[str] = set()
        for key in (None, undated):
            ids = sorted(by_id, key=key)
            keys = ids if key is None else [key(i) for i in ids]
            middle = bisect.bisect(keys, name)
            window = range(max(middle - 200, 0), min(middle + 200, len(ids)))
            near = {keys[i][: len(name) + 3]: ids[i] for i in window}  # a prefix, mistyped
            close.update(near[k] for k in difflib.get_close_matches(name, list(near), 3, 0.5))
        hint = f"; did you mean {' or '.join(sorted(close)[:3])}?" if close else ""
        raise ArticleNotFound(f"{name}: no such article{hint}")

    def read(self, entry: Entry) -> tuple[Article, str]:
        """An article and its whole body; InvalidArticle if the file is none."""
        with self.open(entry) as opened:
            return opened.article, "".join(text for _, text in opened.body())

    def open(self, entry: Entry) -> reader.Opened:
        """An article file opened, its body to read in pieces (see reader.py)."""
        return reader.open_article(entry.real, entry.path, entry.id)

    def add(self, draft: Draft, dry_run: bool = False, chosen: bool = False) -> tuple[Draft, str]:
        """Store a draft under its ID or, unless `chosen` (--id), the next free one (ID-2, ...)."""
        # Never over a file (write.create), even of another kn; `dry_run` takes the ID alone.
        from . import kept, write  # here, not at the top: kn starts sooner

        ids = self.ids()
        year = f"{day_of(draft.article.date).year:04d}"
        shown, real = os.path.join(self.shown_root, year), os.path.join(self.root, year)
        for number in range(1, FREE):
            article_id = draft.id if number == 1 else f"{draft.id}-{number}"
            name = f"{article_id}{SUFFIX}"
            try:
                if article_id in ids or os.path.lexists(kept.page_path(self.root, article_id)):
                    raise FileExistsError  # (a page kept for it: of an article removed by hand)
                if not dry_run or os.path.lexists(real):  # a dry run tells a link in the way too
                    with write.folder(self.root, year, self.shown_root, make=not dry_run) as fd:
                        if not dry_run:
                            write.create(fd, name, draft.text.encode("utf-8"))
            except FileExistsError:  # taken, before or meanwhile by another kn
                if chosen:
                    where = _entry(ids[article_id]).path if article_id in ids else "a page or file"
                    message = f"another article already has this ID ({where})"
                    raise KnError(f"{article_id}: {message}; nothing was written") from None
                continue
            except OSError as error:
                raise KnError(f"{shown}{os.sep}{name}: cannot write: {error.strerror}") from None
            ids[article_id] = (Folder(year, shown, real, [name], {}), 0)
            stored = replace(draft, id=article_id, article=replace(draft.article, id=article_id))
            return stored, f"{shown}{os.sep}{name}"
        raise KnError(f"{draft.id}: no free ID up to {draft.id}-{FREE - 1}")


FREE = 1000  # the most articles of one title and day: ID, ID-2, ... ID-999


def escaped(name: str) -> str:
    """A file name as `ls` shows one that is not UTF-8: each byte that is not, as \\xNN."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def undated(article_id: str) -> str:
    """An ID without the date it starts with (2017-08-07-), if it does."""
    return article_id[11:] if _DATED.match(article_id) else article_id


_DATED = re.compile(r"\d{4}-\d\d-\d\d-")


def _entry(found: tuple[Folder, int]) -> Entry:
    return found[0].entry(found[1])
