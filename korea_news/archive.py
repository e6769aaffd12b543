"""Find the archive, walk its articles, resolve names, and add new articles atomically."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from itertools import islice
from typing import TYPE_CHECKING, Any, NamedTuple

from . import cache, frontmatter
from .model import Article, ArticleNotFound, InvalidArticle, KnError, Unreadable, day_of

if TYPE_CHECKING:
    from pathlib import Path

    from .compose import Draft

ENV_ARCHIVE = "KN_ARCHIVE"
FOLDER = "articles"
SUFFIX = ".txt"
PARTS = 2  # a walk can be shared by two processes, one per core

OnError = Callable[[InvalidArticle], None]


# NamedTuple's own __new__ is Python code; the walk builds one entry per file directly.
_new_entry = tuple.__new__


def _name(item: os.DirEntry[str]) -> str:
    return item.name


def _itself(entry: Entry) -> Entry:
    return entry


def _raise(error: InvalidArticle) -> None:
    raise error


def locate(option: str | None, environ: dict[str, str], cwd: str) -> str:
    """The archive folder: --archive, then KN_ARCHIVE, then the nearest articles/ upward."""
    chosen = option or environ.get(ENV_ARCHIVE)
    if chosen:
        if not os.path.isdir(chosen):
            how = "--archive" if option else ENV_ARCHIVE
            raise KnError(f"archive {chosen} ({how}) is not a folder")
        return chosen
    folder, parent = cwd, os.path.dirname(cwd)
    while True:
        if os.path.isdir(os.path.join(folder, FOLDER)):
            return os.path.join(folder, FOLDER)
        if parent == folder:
            break
        folder, parent = parent, os.path.dirname(parent)
    raise KnError(
        f"no archive found: no {FOLDER}/ folder here or above; "
        f"use --archive DIR or set {ENV_ARCHIVE}=DIR"
    )


class Entry(NamedTuple):
    """An article file found in the archive (a tuple: a walk makes one per file, fast)."""

    id: str
    path: str  # as shown to the user
    real: str  # absolute, symlinks resolved
    stat: cache.Stat | None = None  # size, mtime_ns and inode, when the cache is used
    place: tuple[str, str] = ("", "")  # its folder inside the archive and its name, for the cache

    @classmethod
    def of(cls, article: Article) -> Entry:
        """The entry of an article already read (its shown path opens the same file)."""
        return cls(article.id, article.path, article.path)


class Folder(NamedTuple):
    """The article files of one archive folder, as a scan found them, in name order."""

    inside: str  # the folder's path inside the archive ("" for the archive itself)
    shown: str  # the folder's path as shown to the user
    real: str  # the folder's absolute path
    names: list[str]
    links: dict[str, str]  # the real path of each file that is a symbolic link
    stats: list[cache.Stat] | None  # with the cache: each file's size, mtime_ns and inode

    def real_path(self, name: str) -> str:
        return self.links.get(name) or f"{self.real}{os.sep}{name}"

    def entry(self, position: int) -> Entry:
        name = self.names[position]
        return _new_entry(
            Entry,
            (
                name[:-4],
                f"{self.shown}{os.sep}{name}",
                self.real_path(name),
                None if self.stats is None else self.stats[position],
                (self.inside, name),
            ),
        )

    def entries(self) -> list[Entry]:
        return [self.entry(position) for position in range(len(self.names))]


Progress = Callable[[int, bool], None]  # files read so far, and whether that is all


class Archive:
    """The articles below one folder; problems with single files go to `on_error`.

    With `use_cache`, what was read is kept in the cache (see cache.py) and taken from it
    while the files are unchanged.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        cwd: str | None = None,
        on_error: OnError = _raise,
        use_cache: bool = False,
        progress: Progress | None = None,
    ) -> None:
        self.root = os.path.realpath(root)
        here = os.path.realpath(cwd or os.getcwd())
        inside = self.root == here or self.root.startswith(here.rstrip(os.sep) + os.sep)
        self.shown_root = os.path.relpath(self.root, here) if inside else self.root
        self.on_error = on_error
        self.progress = progress
        self._cache_folder = cache.folder(self.root) if use_cache else None
        self._meta = cache.Shelf(self._cache_folder, "meta") if self._cache_folder else None
        self._facts = cache.Shelf(self._cache_folder, "facts") if self._cache_folder else None
        self._cut = len(self.root) + 1  # where a real path inside the archive starts
        self.read_count = 0  # files read whole rather than from the cache, for progress
        self._by_id: dict[str, tuple[Folder, int]] | None = None  # for find(): scanned once

    def contains(self, real: str) -> bool:
        return real == self.root or real.startswith(self.root + os.sep)

    def entries(self) -> Iterator[Entry]:
        """Every article file, in a stable order: see scan()."""
        for folder in self.folders():
            yield from folder.entries()

    def scan(self) -> list[Folder]:
        """Every folder that holds article files, in walk order, and the files' names.

        A folder's files come before its subfolders, each in name order; hidden files and
        folders are skipped. Symbolic links out of the archive and second files of one ID
        are reported to on_error here, and left out.
        """
        found = []
        seen: dict[str, str] = {}  # each ID's first folder, as shown
        listings = cache.Listings(self._cache_folder) if self._cache_folder else None
        folders = [(self.root, self.shown_root)]
        while folders:
            folder, shown = folders.pop()
            inside = folder[self._cut :]
            listing = stat = None
            links: dict[str, str] = {}
            if listings is not None:
                try:
                    found_stat = os.stat(folder)
                    stat = (found_stat.st_mtime_ns, found_stat.st_ctime_ns, found_stat.st_ino)
                    listing = listings.get(inside, stat)
                except OSError:
                    pass
            if listing is None:
                try:
                    listing, plain = self._list(folder, shown, links)
                except OSError as error:
                    message = f"cannot read folder: {error.strerror}"
                    self.on_error(InvalidArticle(shown, 1, message))
                    continue
                if listings is not None and stat is not None and plain:
                    listings.put(inside, stat, listing)
            names, below = listing
            folders.extend(
                (f"{folder}{os.sep}{name}", f"{shown}{os.sep}{name}") for name in reversed(below)
            )
            if not seen.keys().isdisjoint(names):  # a file of an ID seen before: leave it out
                names = self._firsts(names, shown, seen)
            seen.update(dict.fromkeys(names, shown))
            if names:
                found.append(Folder(inside, shown, folder, names, links, None))
        if listings is not None:
            listings.save()
        return found

    def _list(self, folder: str, shown: str, links: dict[str, str]) -> tuple[cache.Listing, bool]:
        """A folder's article files and subfolders, each in name order, hidden ones left
        out; and whether they are all plain files and folders (only then may the listing
        be kept). Symbolic links to files of the archive go into `links`; other links and
        files that are neither are reported and left out."""
        with os.scandir(folder) as scan:
            items = sorted(scan, key=_name)
        names: list[str] = []
        below: list[str] = []
        plain = True
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
                elif item.is_symlink():
                    plain = False
                    if name.endswith(SUFFIX):
                        real = self._resolved(item.path, f"{shown}{os.sep}{name}")
                        if real is not None:
                            names.append(name)
                            links[name] = real
                elif name.endswith(SUFFIX):  # a device, a socket, a named pipe ...
                    plain = False
                    problem = InvalidArticle(f"{shown}{os.sep}{name}", 1, "not a regular file")
                    self.on_error(problem)
            except OSError:
                continue
        return (names, below), plain

    def _firsts(self, names: list[str], shown: str, seen: dict[str, str]) -> list[str]:
        """The names whose IDs no earlier folder has; the others are reported."""
        firsts = []
        for name in names:
            if name in seen:
                path, also = f"{shown}{os.sep}{name}", f"{seen[name]}{os.sep}{name}"
                self.on_error(InvalidArticle(path, 1, f"duplicate ID, also {also}"))
            else:
                firsts.append(name)
        return firsts

    def folders(
        self, scanned: list[Folder] | None = None, part: int | None = None
    ) -> Iterator[Folder]:
        """The folders of a scan (a new one by default), each with its files' stats when the
        cache is used: stat()ed here, once, to validate what the cache keeps of them.

        With `part` (0 or 1), only that part's share, so that two processes can share a
        walk: each folder goes to the part with fewer files so far.
        """
        loads = [0] * PARTS
        for folder in self.scan() if scanned is None else scanned:
            if part is not None:
                owner = loads.index(min(loads))
                loads[owner] += len(folder.names)
                if owner != part:
                    continue
            if self._cache_folder is not None:
                folder = folder._replace(stats=_stats(folder))
            yield folder

    def _resolved(self, link: str, path: str) -> str | None:
        """Where a symbolic link leads, if to a file of the archive; else None, reported."""
        real = os.path.realpath(link)
        if self.contains(real) and os.path.isfile(real):
            return real
        message = "symbolic link to a file outside the archive, or to no file"
        self.on_error(InvalidArticle(path, 1, message))
        return None

    def read_bytes(self, entry: Entry) -> bytes:
        """The bytes of an article file, exactly as stored."""
        try:
            with open(entry.real, "rb") as file:
                return file.read()
        except OSError as error:
            raise Unreadable(entry.path, 1, f"cannot read: {error.strerror}") from None

    def read(self, entry: Entry) -> tuple[Article, str]:
        """An article and its body; InvalidArticle if the file cannot be read as one."""
        return frontmatter.parse(self.read_bytes(entry), entry.path, entry.id)

    def text(self, article: Article) -> str:
        """The whole text of an article's file, front matter included."""
        return frontmatter.decode(self.read_bytes(Entry.of(article)), article.path)

    # --- reading through the cache ----------------------------------------------------

    def load(self, entry: Entry, data: bytes | None = None) -> Article:
        """An entry's article, from the cache while its file is unchanged; else read."""
        stat = entry.stat
        found: Article | InvalidArticle | None = None
        store = None
        if stat is not None and self._meta is not None:
            folder, name = entry.place
            store = self._meta.store(folder)
            record = store.get(name, stat)
            if record is not None:
                found = cache.from_record(record, entry.id, entry.path)
        if found is None:
            found = self._parse(entry, data)
            if store is not None and stat is not None and not isinstance(found, Unreadable):
                store.put(name, stat, cache.to_record(found))
        if isinstance(found, InvalidArticle):
            raise found
        return found

    def counted(self) -> None:
        """One more file read whole (not from the cache), for the progress line."""
        self.read_count += 1
        if self.progress is not None and self.read_count % 256 == 0:
            self.progress(self.read_count, False)

    def _parse(self, entry: Entry, data: bytes | None) -> Article | InvalidArticle:
        self.counted()
        try:
            return frontmatter.parse(
                self.read_bytes(entry) if data is None else data, entry.path, entry.id
            )[0]
        except InvalidArticle as error:
            return error

    def signatures(self, required: list[list[bytes]] | None) -> cache.Signatures | None:
        """The word signatures of the files, when the cache is used (see cache.py)."""
        if self._cache_folder is None:
            return None
        return cache.Signatures(self._cache_folder, required)

    def done(self) -> None:
        """Save what was read, at the end of a walk or of a run of look-ups."""
        if self.progress is not None and self.read_count >= 256:
            self.progress(self.read_count, True)
        for shelf in (self._meta, self._facts):
            if shelf is not None:
                shelf.close()

    def articles(self, folders: Iterable[Folder] | None = None) -> Iterator[Article]:
        """Every readable article (of `folders`, else of all), in walk order; the others
        are reported to on_error."""
        for folder in self.folders() if folders is None else folders:
            for _, article in self._read_folder(folder):
                yield article
        self.done()

    def loaded(
        self, entries: Iterable[Entry] | None = None
    ) -> Iterator[tuple[Article, Callable[[], Entry]]]:
        """Each readable article, of `entries` or else of all, with a function that makes
        its Entry: far lighter to hold for 10^5 articles than the entries themselves."""
        if entries is None:
            for folder in self.folders():
                for position, article in self._read_folder(folder):
                    yield article, partial(folder.entry, position)
        else:
            for entry in entries:
                try:
                    yield self.load(entry), partial(_itself, entry)
                except InvalidArticle as error:
                    self.on_error(error)
        self.done()

    def _read_folder(self, folder: Folder) -> Iterator[tuple[int, Article]]:
        """Each readable article of a folder, with its position; problems go to on_error."""
        shown = folder.shown
        for position, (name, record) in enumerate(
            zip(folder.names, self._records(folder), strict=True)
        ):
            path = f"{shown}{os.sep}{name}"
            found = cache.from_record(record, name[:-4], path)
            if found is None:  # a record the cache got wrong: read the file itself
                found = self._parse(folder.entry(position), None)
            if isinstance(found, Article):
                yield position, found
            else:
                self.on_error(found)

    def _records(self, folder: Folder) -> list[Any]:
        """What the cache keeps of each of a folder's files (see cache.to_record): kept
        records while the files are unchanged, the others read now and kept."""
        stats = folder.stats
        if self._meta is None or stats is None:
            return [cache.to_record(self._parse(entry, None)) for entry in folder.entries()]
        store = self._meta.store(folder.inside)
        if store.same(folder.names, stats):
            return store.values  # type: ignore[no-any-return]
        records = [store.get(name, stat) for name, stat in zip(folder.names, stats, strict=True)]
        kept = stats
        for position, record in enumerate(records):
            if record is None:
                found = self._parse(folder.entry(position), None)
                records[position] = cache.to_record(found)
                if isinstance(found, Unreadable):  # kept under a stat no file has: read again
                    kept = kept if kept is not stats else list(stats)
                    kept[position] = (-1, -1, -1)
        store.replace(folder.names, kept, records, None)
        return records

    def facts(
        self, entries: Iterable[Entry]
    ) -> Iterator[tuple[Article, tuple[cache.FactRow, ...]]]:
        """Each entry's article and facts, (line, heading, text) in document order, in the
        order given; problems go to on_error. Call done() after the last.

        Entries are read in windows, folder by folder within each: an order that jumps
        between folders (by date across folders by source, say) then loads each folder's
        cache once a window, not once an article. Windows start small, for `-n`.
        """
        pending = iter(entries)
        size = 64
        while window := list(islice(pending, size)):
            found: list[tuple[Article, tuple[cache.FactRow, ...]] | InvalidArticle | None]
            found = [None] * len(window)
            for position in sorted(range(len(window)), key=lambda i: window[i].place[0]):
                entry = window[position]
                try:
                    article = self.load(entry)
                    found[position] = article, self._facts_of(entry, article)
                except InvalidArticle as error:
                    found[position] = error
            for item in found:
                if isinstance(item, InvalidArticle):
                    self.on_error(item)
                elif item is not None:
                    yield item
            size = min(size * 4, 4096)

    def _facts_of(self, entry: Entry, article: Article) -> tuple[cache.FactRow, ...]:
        """An article's facts: from the cache while its file is unchanged; else from its
        body, read into blocks (structure.py)."""
        from . import structure

        store = None
        if self._facts is not None and entry.stat is not None:
            store = self._facts.store(entry.place[0])
            found = store.get(entry.place[1], entry.stat)
            if isinstance(found, tuple):
                return found
        text = frontmatter.decode(self.read_bytes(entry), entry.path)
        body = frontmatter.split(text, entry.path).body
        blocks = structure.parse(body, article.body_line)
        rows = tuple(
            (item.line, sys.intern(heading), item.text)
            for heading, item in structure.facts(blocks, article.title)
        )
        if store is not None and entry.stat is not None:
            store.put(entry.place[1], entry.stat, rows)
        return rows

    def find(self, name: str) -> Entry:
        """The article named by an exact ID, a unique ID prefix, or a path to its file."""
        if self._by_id is None:  # a scan is enough: only the entry found is stat()ed
            self._by_id = {
                file[:-4]: (folder, position)
                for folder in self.scan()
                for position, file in enumerate(folder.names)
            }
        by_id = self._by_id
        if os.sep in name or name.endswith(SUFFIX) or os.path.isfile(name):
            real = os.path.realpath(name)
            for folder, position in by_id.values():
                if folder.real_path(folder.names[position]) == real:
                    return self._found(folder, position)
            raise ArticleNotFound(f"{name}: not an article of the archive {self.shown_root}")
        if name in by_id:
            return self._found(*by_id[name])
        candidates = sorted(id_ for id_ in by_id if id_.startswith(name))
        if len(candidates) == 1:
            return self._found(*by_id[candidates[0]])
        if candidates:
            listed = ", ".join(candidates[:10]) + (", ..." if len(candidates) > 10 else "")
            raise ArticleNotFound(f"{name}: ambiguous ID prefix, could be: {listed}")
        import bisect
        import difflib

        # Hints come from the IDs nearest in sorted order (the longest shared prefixes):
        # comparing with each of 10^5 IDs would take seconds.
        ids = sorted(by_id)
        middle = bisect.bisect(ids, name)
        close = difflib.get_close_matches(name, ids[max(middle - 200, 0) : middle + 200], 3, 0.5)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise ArticleNotFound(f"{name}: no such article{hint}")

    def _found(self, folder: Folder, position: int) -> Entry:
        """The entry of a file found by name, stat()ed when the cache is used."""
        entry = folder.entry(position)
        if self._cache_folder is not None:
            try:
                found = os.stat(entry.real)
            except OSError:
                return entry
            entry = entry._replace(stat=(found.st_size, found.st_mtime_ns, found.st_ino))
        return entry

    def check(self) -> list[InvalidArticle]:
        """Every problem in the archive, sorted by path and line."""
        try:
            os.listdir(self.root)
        except OSError as error:
            raise KnError(f"cannot read the archive {self.shown_root}: {error.strerror}") from None
        problems: list[InvalidArticle] = []
        walker = Archive(self.root, on_error=problems.append)
        walker.shown_root = self.shown_root
        for entry in walker.entries():
            try:
                article, body = walker.read(entry)
            except InvalidArticle as error:
                problems.append(error)
                continue
            if not body.strip():
                problems.append(InvalidArticle(entry.path, article.body_line, "empty body"))
        return sorted(problems, key=lambda problem: (problem.path, problem.line))

    def add(self, draft: Draft) -> tuple[str, bool]:
        """Store a new article: (its path, True), or (the path already holding it, False).

        Never overwrites: a different article under the same ID is an error, and the
        file appears whole or not at all.
        """
        wanted = f"{draft.id}{SUFFIX}"
        for folder in self.scan():
            if wanted in folder.names:
                return self._same(folder.entry(folder.names.index(wanted)), draft), False
        relative = os.path.join(f"{day_of(draft.article.date).year:04d}", f"{draft.id}{SUFFIX}")
        shown = os.path.join(self.shown_root, relative)
        try:
            from pathlib import Path

            _create(Path(self.root, relative), draft.text.encode("utf-8"))
        except FileExistsError:  # another kn added it in the meantime
            entry = Entry(draft.id, shown, os.path.join(self.root, relative))
            return self._same(entry, draft), False
        except OSError as error:
            raise KnError(f"{shown}: cannot write: {error.strerror}") from None
        return shown, True

    def _same(self, entry: Entry, draft: Draft) -> str:
        """The path of an article that holds the same text as the draft, or an error."""
        try:
            article, body = self.read(entry)
            same = body == draft.body and article.to_dict() == {
                **draft.article.to_dict(),
                "path": entry.path,
            }
        except InvalidArticle:
            same = False
        if not same:
            raise KnError(
                f"{draft.id}: another article already has this ID ({entry.path}); "
                "nothing was written (give another with --id)"
            )
        return entry.path


def _stats(folder: Folder) -> list[cache.Stat] | None:
    """Each file's size, mtime_ns and inode; None if a file went away meanwhile."""
    try:
        directory = os.open(folder.real, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:  # by name inside the open folder: the kernel looks up one name, not a whole path
        return [
            (found.st_size, found.st_mtime_ns, found.st_ino)
            for found in [os.stat(name, dir_fd=directory) for name in folder.names]
        ]
    except OSError:
        return None
    finally:
        os.close(directory)


def _create(path: Path, data: bytes) -> None:
    """Create a file holding `data`, whole or not at all; FileExistsError if it exists.

    The data goes to an unnamed file (O_TMPFILE) that is linked into place once it is
    complete, so even a killed process leaves nothing behind. Where the system has no
    unnamed files, a hidden temporary file is linked instead and then removed. link()
    never replaces an existing file: that is what makes two concurrent adds safe.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if not _create_unnamed(folder, path.name, data):
            _create_named(path, data)
        os.fsync(folder)
    finally:
        os.close(folder)


def _create_unnamed(folder: int, name: str, data: bytes) -> bool:
    try:
        fd = os.open(".", os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o666, dir_fd=folder)
    except (AttributeError, OSError):
        return False
    try:
        _write_all(fd, data)
        try:
            os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=folder, follow_symlinks=True)
        except FileExistsError:
            raise
        except OSError:  # no /proc to name the file by
            return False
    finally:
        os.close(fd)
    return True


def _create_named(path: Path, data: bytes) -> None:
    import tempfile

    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".kn-", suffix=".tmp")
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.fchmod(fd, 0o666 & ~mask)
        _write_all(fd, data)
        os.link(temporary, path)
    finally:
        os.close(fd)
        os.unlink(temporary)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)
