"""Bring a store's database up to date with the files (Store.sync).

A folder whose digest of names and stats is as stored costs one stat() per file; in
another, each file whose stat changed is read again, committed in batches of BATCH (an
interrupted first build keeps them). A file changed within RACY_NS of its reading is
not trusted (git's racy rule: a coarse clock may not show a second change).
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import time
from typing import TYPE_CHECKING, Any

from . import reader
from .model import INDEXED, InvalidArticle, Unreadable, timestamp

if TYPE_CHECKING:
    from .archive import Folder
    from .store import Store

RACY_NS = 3_000_000_000  # beyond any filesystem's timestamp granularity (FAT's 2 s)
BATCH = 2000  # files read between two commits of a first build
MANY = 1000  # files read by one sync past which `terms` is made anew from the whole index
PROGRESS_EVERY = 256  # files read between two updates of the progress line
TEXT = "title, body, tgrams, bgrams"  # tgrams, bgrams: CJK bigrams of title, body (find.py)

Stat = tuple[int, int, int, int, int]  # device, inode, size, mtime_ns, ctime_ns


class Sync:
    """One run of bringing a store up to date: `Sync(store).run()`."""

    def __init__(self, store: Store) -> None:
        self.store, self.db = store, store.db
        self.many = False  # whether this sync reads MANY files
        self.show, self.read = store.archive.progress, 0  # the progress line, files read

    def run(self) -> None:
        """Compare, read what changed, commit in batches; remove what went away."""
        digests = dict(self.db.execute("SELECT inside, digest FROM folders"))
        changes = []
        for folder in self.store.folders:
            stats = _stats(folder)
            names = "/".join(folder.names).encode("utf-8", "surrogateescape")
            # (marshal: the quickest bytes of 10^5 tuples of numbers; hashed, never stored)
            digest = hashlib.blake2b(names + marshal.dumps(stats)).digest()
            if digests.get(folder.inside) != digest:
                changes.append((folder, stats, digest, *self._changed(folder, stats)))
        self.many = sum(len(change[3]) for change in changes) > MANY
        try:
            for folder, stats, digest, *change in changes:
                self._folder(folder, stats, digest, change)
            gone = digests.keys() - self.store.shown.keys()
            if gone:
                with self.store.writing():
                    for inside in gone:
                        self._delete("folder = ?", (inside,))
                        self.db.execute("DELETE FROM folders WHERE inside = ?", (inside,))
            unfinished = "SELECT 1 FROM terms WHERE term = ''"
            if self.store.index and self.db.execute(unfinished).fetchone():
                with self.store.writing():
                    self.db.execute("INSERT OR IGNORE INTO terms SELECT term FROM vocabulary")
                    self.db.execute("DELETE FROM terms WHERE term = ''")
        finally:
            if self.show is not None and self.read >= PROGRESS_EVERY:
                self.show(self.read, True)

    def _changed(
        self, folder: Folder, stats: list[Stat | None]
    ) -> tuple[list[int], set[str], set[str]]:
        """The positions of the files changed or new, the names of those gone, and stored."""
        query = "SELECT name, stat FROM files WHERE folder = ?"
        stored = dict(self.db.execute(query, (folder.inside,)))
        changed = [
            position
            for position, name in enumerate(folder.names)
            if (found := _text(stats[position])) is None or stored.get(name) != found
        ]
        return changed, stored.keys() - set(folder.names), set(stored)

    def _folder(
        self, folder: Folder, stats: list[Stat | None], digest: bytes, change: list[Any]
    ) -> None:
        """Re-read a folder's files that changed (`change`: see _changed()) in batches."""
        (changed, gone, stored), trusted = change, True
        for start in range(0, max(len(changed), 1), BATCH):
            rows = []
            for position in changed[start : start + BATCH]:
                row = self._read(folder, folder.names[position], stats[position])
                self.read += 1
                if self.show is not None and self.read % PROGRESS_EVERY == 0:
                    self.show(self.read, False)
                trusted = trusted and row is not None and row["stat"] is not None
                rows.append((folder.names[position], row))
            last = start + BATCH >= len(changed)
            with self.store.writing():
                if start == 0:  # its files may change from now on: no digest holds
                    self.db.execute("REPLACE INTO folders VALUES (?, x'')", (folder.inside,))
                    for name in gone:
                        self._delete("folder = ? AND name = ?", (folder.inside, name))
                for name, row in rows:
                    if name in stored:
                        self._delete("folder = ? AND name = ?", (folder.inside, name))
                    if row is not None:
                        self._insert(folder.inside, name, row)
                if self.store.index and self.many:
                    self.db.execute("INSERT OR IGNORE INTO terms VALUES ('')")
                elif self.store.index:
                    self.db.execute("INSERT OR IGNORE INTO terms SELECT term FROM fresh_terms")
                    self.db.execute("INSERT INTO temp.fresh (fresh) VALUES ('delete-all')")
                if last and trusted:
                    self.db.execute("REPLACE INTO folders VALUES (?, ?)", (folder.inside, digest))

    def _read(self, folder: Folder, name: str, found: Stat | None) -> dict[str, Any] | None:
        """One file as a row of `files` (stat None: too recent to trust); None if unreadable."""
        from .duplicates import Digest  # here, not at the top: kn starts sooner

        path, article_id = folder.path_of(name), name[:-4]
        row: dict[str, Any] = {"stat": None}
        if found is not None and time.time_ns() - max(found[3], found[4]) > RACY_NS:
            row["stat"] = _text(found)
        try:
            with reader.open_article(folder.real_path(name), path, article_id) as opened:
                article, kept, size, empty, digest = opened.article, [], 0, True, Digest()
                for _, piece in opened.body():
                    empty = empty and not piece.strip()
                    digest.add(piece)
                    if self.store.index and size < INDEXED:
                        kept.append(piece[: INDEXED - size])
                    size += len(piece)
        except Unreadable as problem:
            self.store.unreadable.append(problem)
            return None
        except InvalidArticle as problem:
            return {**row, "line": problem.line, "problem": problem.message}
        row.update(
            id=article_id, title=article.title, date=article.date.isoformat(),
            ts=timestamp(article.date), source=article.source, url=article.url,
            authors=_json(article.authors), tags=_json(article.tags), extra=_json(article.extra),
            title_line=article.title_line, body_line=article.body_line, empty=empty,
            indexed=self.store.index and size <= INDEXED, digest=digest.hexdigest(),
            body="".join(kept),
        )  # fmt: skip
        return row

    def _insert(self, inside: str, name: str, row: dict[str, Any]) -> None:
        from .find import grams  # here, not at the top: kn starts sooner

        body = row.pop("body", None)
        row.update(folder=inside, name=name)
        names = ", ".join(row)
        marks = ", ".join(f":{key}" for key in row)
        cursor = self.db.execute(f"INSERT INTO files ({names}) VALUES ({marks})", row)
        if self.store.index and body is not None:  # of a longer body, its start: for kn find
            text = (row["title"], body, grams(row["title"]), grams(body), cursor.lastrowid)
            self.db.execute(f"INSERT INTO text ({TEXT}, rowid) VALUES (?, ?, ?, ?, ?)", text)
            if not self.many:
                self.db.execute(f"INSERT INTO temp.fresh ({TEXT}) VALUES (?, ?, ?, ?)", text[:4])

    def _delete(self, where: str, values: tuple[str, ...]) -> None:
        select = f"SELECT rowid FROM files WHERE {where}"
        self.db.execute(f"DELETE FROM text WHERE rowid IN ({select})", values)
        self.db.execute(f"DELETE FROM files WHERE {where}", values)


def _json(value: Any) -> str | None:
    return json.dumps(value, ensure_ascii=False) if value else None


def _text(found: Stat | None) -> str | None:
    return None if found is None else " ".join(map(str, found))


def _stats(folder: Folder) -> list[Stat | None]:
    """Each file's Stat, None for one gone."""
    try:
        directory = os.open(folder.real, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return [None] * len(folder.names)
    found: list[Stat | None] = []
    try:  # by name inside the open folder: the kernel looks up one name, not a path
        for name in folder.names:
            try:
                got = os.stat(folder.links.get(name, name), dir_fd=directory)
                found.append(
                    (got.st_dev, got.st_ino, got.st_size, got.st_mtime_ns, got.st_ctime_ns)
                )
            except OSError:
                found.append(None)
    finally:
        os.close(directory)
    return found
