"""Find the archive, walk its articles, resolve names, and add new articles atomically."""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import frontmatter
from .model import Article, ArticleNotFound, InvalidArticle, KnError

ENV_ARCHIVE = "KN_ARCHIVE"
FOLDER = "articles"
SUFFIX = ".txt"

OnError = Callable[[InvalidArticle], None]


def _raise(error: InvalidArticle) -> None:
    raise error


def locate(option: str | None, environ: dict[str, str], cwd: Path) -> Path:
    """The archive folder: --archive, then KN_ARCHIVE, then the nearest articles/ upward."""
    chosen = option or environ.get(ENV_ARCHIVE)
    if chosen:
        root = Path(chosen)
        if not root.is_dir():
            how = "--archive" if option else ENV_ARCHIVE
            raise KnError(f"archive {chosen} ({how}) is not a folder")
        return root
    for folder in (cwd, *cwd.parents):
        if (folder / FOLDER).is_dir():
            return folder / FOLDER
    raise KnError(
        f"no archive found: no {FOLDER}/ folder here or above; "
        f"use --archive DIR or set {ENV_ARCHIVE}=DIR"
    )


@dataclass(frozen=True, slots=True)
class Entry:
    """An article file found in the archive."""

    id: str
    path: Path  # as shown to the user
    real: str  # absolute, symlinks resolved

    @classmethod
    def of(cls, article: Article) -> Entry:
        """The entry of an article already read (its shown path opens the same file)."""
        return cls(article.id, article.path, str(article.path))


class Archive:
    """The articles below one folder; problems with single files go to `on_error`."""

    def __init__(self, root: Path, cwd: Path | None = None, on_error: OnError = _raise) -> None:
        self.root = Path(os.path.realpath(root))
        cwd = Path(os.path.realpath(cwd or Path.cwd()))
        try:
            self.shown_root = self.root.relative_to(cwd)
        except ValueError:
            self.shown_root = self.root
        self.on_error = on_error
        self._by_id: dict[str, Entry] | None = None  # for find(): walked once

    def contains(self, real: str) -> bool:
        return real == str(self.root) or real.startswith(str(self.root) + os.sep)

    def entries(self) -> Iterator[Entry]:
        """Every article file, in a stable order; hidden files and folders are skipped."""
        seen: dict[str, Path] = {}
        for entry in self._walk(str(self.root), self.shown_root):
            first = seen.setdefault(entry.id, entry.path)
            if first != entry.path:
                self.on_error(InvalidArticle(entry.path, 1, f"duplicate ID, also {first}"))
                continue
            yield entry

    def _walk(self, folder: str, shown: Path) -> Iterator[Entry]:
        try:
            with os.scandir(folder) as scan:
                items = sorted(scan, key=lambda item: item.name)
        except OSError as error:
            self.on_error(InvalidArticle(shown, 1, f"cannot read folder: {error.strerror}"))
            return
        for item in items:
            if item.name.startswith("."):
                continue
            try:
                is_dir = item.is_dir(follow_symlinks=False)
                is_link = item.is_symlink()
            except OSError:
                continue
            if is_dir:
                yield from self._walk(item.path, shown / item.name)
            elif item.name.endswith(SUFFIX):
                real = os.path.realpath(item.path) if is_link else item.path
                if is_link and not (self.contains(real) and os.path.isfile(real)):
                    message = "symbolic link to a file outside the archive, or to no file"
                    self.on_error(InvalidArticle(shown / item.name, 1, message))
                    continue
                yield Entry(item.name[: -len(SUFFIX)], shown / item.name, real)

    def read_bytes(self, entry: Entry) -> bytes:
        """The bytes of an article file, exactly as stored."""
        try:
            with open(entry.real, "rb") as file:
                return file.read()
        except OSError as error:
            raise InvalidArticle(entry.path, 1, f"cannot read: {error.strerror}") from None

    def read(self, entry: Entry) -> tuple[Article, str]:
        """An article and its body; InvalidArticle if the file cannot be read as one."""
        return frontmatter.parse(self.read_bytes(entry), entry.path, entry.id)

    def text(self, article: Article) -> str:
        """The whole text of an article's file, front matter included."""
        return frontmatter.decode(self.read_bytes(Entry.of(article)), article.path)

    def articles(self) -> Iterator[Article]:
        """Every readable article, in walk order; the others are reported to on_error."""
        for entry in self.entries():
            try:
                yield self.read(entry)[0]
            except InvalidArticle as error:
                self.on_error(error)

    def find(self, name: str) -> Entry:
        """The article named by an exact ID, a unique ID prefix, or a path to its file."""
        if self._by_id is None:
            self._by_id = {entry.id: entry for entry in self.entries()}
        by_id = self._by_id
        if os.sep in name or name.endswith(SUFFIX) or os.path.isfile(name):
            real = os.path.realpath(name)
            for entry in by_id.values():
                if entry.real == real:
                    return entry
            raise ArticleNotFound(f"{name}: not an article of the archive {self.shown_root}")
        if name in by_id:
            return by_id[name]
        candidates = sorted(id_ for id_ in by_id if id_.startswith(name))
        if len(candidates) == 1:
            return by_id[candidates[0]]
        if candidates:
            listed = ", ".join(candidates[:10]) + (", ..." if len(candidates) > 10 else "")
            raise ArticleNotFound(f"{name}: ambiguous ID prefix, could be: {listed}")
        close = difflib.get_close_matches(name, by_id, n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise ArticleNotFound(f"{name}: no such article{hint}")
